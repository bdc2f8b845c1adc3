"""monitor.analysis.figures.numbers: every number form, range, share and qualifier news uses."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from monitor.analysis.figures.numbers import (
    find_quantities,
    parse_number,
    parse_quantity,
    words_value,
)
from tests.support.paths import REPO

CASES = yaml.safe_load((REPO / "tests" / "data" / "figures" / "numbers.yaml").read_text())


@pytest.mark.parametrize("phrase", sorted(CASES))
def test_phrase_parses_to_range_and_qualifier(phrase: str) -> None:
    low, high, qualifier, percent = CASES[phrase]
    q = parse_quantity(phrase)
    assert q is not None, phrase
    assert (q.low, q.high, q.qualifier, q.percent) == (low, high, qualifier, percent)


def test_vague_amount_without_qualifier_is_about() -> None:
    q = parse_quantity("hundreds")
    assert q is not None and q.qualifier == "about" and q.vague


def test_increment_words_mark_an_addition() -> None:
    for text in ("another 3,000 troops", "an additional 10,000 soldiers", "3,000 more troops"):
        (q,) = find_quantities(text)
        assert q.increment and q.qualifier == "exact" and q.low == q.high


def test_pronoun_one_and_identifiers_are_not_numbers() -> None:
    assert find_quantities("one of the most closed regimes") == []
    assert find_quantities("KN-23 missiles") == []
    assert find_quantities("16px") == []


def test_quantity_span_covers_qualifier_words() -> None:
    text = "it said at least 3,000 died"
    (q,) = find_quantities(text)
    assert text[q.start : q.end] == "at least 3,000"


@given(st.integers(min_value=0, max_value=10**9))
def test_digits_with_comma_separators_round_trip(n: int) -> None:
    assert parse_number(f"{n:,}") == n


@given(st.integers(min_value=1000, max_value=999_999))
def test_digits_with_space_separators_round_trip(n: int) -> None:
    assert parse_number(f"{n:,}".replace(",", " ")) == n


@given(st.integers(min_value=1, max_value=999), st.sampled_from(["thousand", "million", "k", "m"]))
def test_scale_words_round_trip(n: int, scale: str) -> None:
    factor = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6}[scale]
    sep = " " if len(scale) > 1 else ""
    assert parse_number(f"{n}{sep}{scale}") == n * factor


_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _spell(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("-" + _ONES[n % 10] if n % 10 else "")
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + (" and " + _spell(rest) if rest else "")
    rest = n % 1000
    return _spell(n // 1000) + " thousand" + (" " + _spell(rest) if rest else "")


@given(st.integers(min_value=0, max_value=999_999))
def test_number_words_round_trip(n: int) -> None:
    assert words_value(_spell(n)) == n
    assert parse_number(_spell(n)) == n


@given(st.integers(min_value=1000, max_value=999_999_999))
def test_digits_with_european_dot_separators_round_trip(n: int) -> None:
    assert parse_number(f"{n:,}".replace(",", ".")) == n


@given(
    st.integers(min_value=1000, max_value=999_999),
    st.sampled_from(["\u00a0", "\u202f"]),
)
def test_digits_with_non_breaking_space_separators_round_trip(n: int, sep: str) -> None:
    assert parse_number(f"{n:,}".replace(",", sep)) == n


@given(
    st.integers(min_value=1, max_value=999),
    st.integers(min_value=1, max_value=9),
    st.sampled_from(["thousand", "million", "billion", "k", "m", "bn"]),
)
def test_decimal_scale_words_round_trip(whole: int, tenth: int, scale: str) -> None:
    factor = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9}
    sep = " " if len(scale) > 2 else ""
    value = parse_number(f"{whole}.{tenth}{sep}{scale}")
    assert value == pytest.approx((whole + tenth / 10) * factor[scale])


@given(st.integers(min_value=1, max_value=999), st.sampled_from(["hundred", "thousand", "million"]))
def test_number_words_with_scale_words_round_trip(n: int, scale: str) -> None:
    factor = {"hundred": 100, "thousand": 1000, "million": 1_000_000}[scale]
    if scale == "hundred":
        n = n % 99 + 1  # "twenty-five hundred"; "three hundred hundred" is no number
    assert parse_number(f"{_spell(n)} {scale}") == n * factor


@pytest.mark.parametrize(
    ("phrase", "value"),
    [("a dozen", 12), ("a hundred", 100), ("a thousand", 1000), ("a million", 1e6)],
)
def test_a_scale_word_is_one_of_it(phrase: str, value: float) -> None:
    assert parse_number(phrase) == value


@given(
    st.integers(min_value=0, max_value=999_999),
    st.sampled_from(["digits", "comma", "space", "words"]),
    st.sampled_from([("at least", "at_least"), ("more than", "over"), ("", "exact")]),
)
def test_numbers_in_a_sentence_round_trip(n: int, form: str, qualifier: tuple[str, str]) -> None:
    text = {
        "digits": str(n),
        "comma": f"{n:,}",
        "space": f"{n:,}".replace(",", " "),
        "words": _spell(n),
    }[form]
    words, expected = qualifier
    (q,) = find_quantities(f"Officials said {words} {text} soldiers were sent.".replace("  ", " "))
    assert (q.low, q.high, q.qualifier) == (n, n, expected)
