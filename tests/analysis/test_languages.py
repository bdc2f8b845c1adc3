"""Figures in Korean, Ukrainian, Russian, German, Spanish and French: number forms, cue
and subject assignment (YAML case tables in tests/data/figures/languages.yaml), numbers
formatted in each language's style and read back, and language detection."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from monitor.analysis.figures.languages import GRAMMARS, grammar_of
from monitor.analysis.figures.languages.detect import declared_language, detect_language
from monitor.analysis.watchlist import load_watchlists
from monitor.domain.model import Article
from monitor.runtime.app import compile_watchlists
from tests.support.paths import REPO

ROOT = REPO
CASES = yaml.safe_load((ROOT / "tests/data/figures/languages.yaml").read_text(encoding="utf-8"))
NUMBER_CASES = [(lang, *case) for lang, cases in CASES["numbers"].items() for case in cases]


@pytest.mark.parametrize(("language", "text", "low", "high", "qualifier"), NUMBER_CASES)
def test_number_forms(language: str, text: str, low: float, high: float, qualifier: str) -> None:
    found = GRAMMARS[language].quantities(text)
    assert len(found) == 1, found
    assert (found[0].low, found[0].high, found[0].qualifier) == (low, high, qualifier)


@pytest.fixture(scope="module")
def extractor() -> Any:
    return compile_watchlists(load_watchlists(ROOT / "watchlists")).extractor


@pytest.mark.parametrize(("language", "text", "expected"), CASES["figures"])
def test_cue_and_subject(extractor: Any, language: str, text: str, expected: list[Any]) -> None:
    found = extractor.extract(Article(title="", text=text, language=language))
    got = sorted({(o.figure, o.low, o.qualifier) for o in found})
    assert got == sorted((f, float(v), q) for f, v, q in expected)


def _grouped(value: int, separator: str) -> str:
    return f"{value:,}".replace(",", separator)


def _korean(value: int) -> str:
    ten_thousands, rest = divmod(value, 10_000)
    if not ten_thousands:
        return f"{rest:,}"
    return f"{ten_thousands}만" + (f"{rest:,}" if rest else "")


STYLES = {
    "de": lambda v: _grouped(v, "."),
    "es": lambda v: _grouped(v, "."),
    "fr": lambda v: _grouped(v, "\u202f"),
    "ru": lambda v: _grouped(v, " "),
    "uk": lambda v: _grouped(v, "\u00a0"),
    "ko": _korean,
}
COUNTERS = {"de": "Soldaten", "es": "soldados", "fr": "soldats", "ru": "солдат", "uk": "солдатів"}


@pytest.mark.parametrize("language", sorted(STYLES))
@given(value=st.integers(min_value=1, max_value=9_999_999).filter(lambda v: not 1900 <= v <= 2100))
def test_formatted_numbers_read_back(language: str, value: int) -> None:
    text = STYLES[language](value)
    text += "명" if language == "ko" else " " + COUNTERS[language]
    found = GRAMMARS[language].quantities(text)
    assert [(q.low, q.high) for q in found] == [(value, value)], text


@given(millions=st.integers(min_value=1, max_value=99), tenths=st.integers(1, 9))
def test_decimal_comma_with_a_scale_word(millions: int, tenths: int) -> None:
    for language, scale in (("de", "Millionen"), ("es", "millones"), ("ru", "млн")):
        found = GRAMMARS[language].quantities(f"{millions},{tenths} {scale}")
        assert found[0].low == pytest.approx((millions + tenths / 10) * 1e6)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("북한은 러시아에 병력을 추가로 파병했다고 정보당국이 밝혔다.", "ko"),
        ("Північна Корея відправила до росії нових військових.", "uk"),
        ("Северная Корея направила в Россию новых военных.", "ru"),
        ("Nordkorea hat weitere Soldaten nach Russland geschickt.", "de"),
        ("Corea del Norte envió más soldados a Rusia este mes.", "es"),
        ("La Corée du Nord a envoyé de nouveaux soldats en Russie.", "fr"),
        ("North Korea has sent more soldiers to Russia this month.", "en"),
    ],
)
def test_detect_language(text: str, code: str) -> None:
    assert detect_language(text) == code


def test_declared_language_and_grammar_lookup() -> None:
    assert declared_language("ko-KR") == "ko"
    assert declared_language(" en_US ") == "en"
    assert declared_language("") is None
    assert grammar_of("ru-RU") is GRAMMARS["ru"]
    assert grammar_of("en") is None


def test_a_feed_declares_the_language_of_its_entries() -> None:
    from monitor.parse.feeds import parse_feed

    rss = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        b"<link>http://ko.test/</link><description>d</description><language>ko-KR</language>"
        b"<item><title>\xeb\xb6\x81\xed\x95\x9c</title><link>http://ko.test/1</link></item>"
        b"</channel></rss>"
    )
    parsed = parse_feed(rss, url="http://ko.test/rss")
    assert [e.language for e in parsed.entries] == ["ko"]
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="de"><title>t</title><id>x</id>'
        b"<entry><title>Nordkorea</title><id>e1</id><link href='http://de.test/1'/></entry></feed>"
    )
    assert [e.language for e in parse_feed(atom, url="http://de.test/atom").entries] == ["de"]


@pytest.mark.parametrize(
    ("language", "text", "who"),
    [
        ("de", "Laut Kyjiw sind mindestens 200 nordkoreanische Soldaten gefallen.", "Kyjiw"),
        ("es", "Según Seúl, al menos 200 soldados norcoreanos han muerto.", "Seúl"),
        ("fr", "Selon Kiev, au moins 200 soldats nord-coréens ont été tués.", "Kiev"),
        ("ru", "По данным ГУР, погибли около 200 северокорейских военных.", "ГУР"),
        ("uk", "За даними ГУР, загинули щонайменше 200 північнокорейських солдатів.", "ГУР"),
        ("ko", "국방부에 따르면 북한군 최소 200명이 전사했다.", "국방부"),
    ],
)
def test_who_states_the_figure(extractor: Any, language: str, text: str, who: str) -> None:
    found = extractor.extract(Article(title="", text=text, language=language))
    assert [o.attributed_to for o in found] == [who]


BROKEN = """\
name: broken
terms:
  north_korea: [North Korea]
match: {all_of: [north_korea]}
alerts: []
figures:
  nk_killed: {unit: people, cues: [killed], subjects: [North Korean]}
languages:
  xx:
    terms: {north_korea: ["Nordkorea*"]}
  de:
    terms:
      nowhere: ["Nordkorea*"]
    figures:
      nk_dead: {cues: ["gefallen*"]}
"""


def test_language_blocks_are_validated_with_file_and_line() -> None:
    from monitor.analysis.watchlist import load_watchlist_text
    from monitor.domain.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        load_watchlist_text(BROKEN, "broken.yaml")
    problems = {(p.line, p.message.split(" (")[0].split(":")[0]) for p in err.value.problems}
    assert problems == {
        (9, "unknown language 'xx'"),
        (13, "unknown group 'nowhere'"),
        (15, "unknown figure 'nk_dead'"),
    }


def test_a_stem_alias_matches_any_ending() -> None:
    from monitor.analysis.matching import Matcher
    from monitor.analysis.watchlist import load_watchlist_text

    korean = 'languages:\n  ko:\n    terms: {north_korea: ["북한*"]}\n'
    text = BROKEN.split("languages:")[0] + korean
    matcher = Matcher([load_watchlist_text(text, "broken.yaml")])
    assert matcher.match(Article(title="", text="북한군은 러시아에 있다."))
    assert not matcher.match(Article(title="", text="남한군은 서울에 있다."))
