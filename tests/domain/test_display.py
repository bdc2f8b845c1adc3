"""One way to write a number for display (monitor.domain.display): alerts, inspect, validate."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.alerting.changes import spread_note
from monitor.cli.inspect import render_inspect
from monitor.domain.display import format_amount, format_number, format_value
from monitor.domain.model import KnownValue, Observation
from notifiers.format import observation_value


@pytest.mark.parametrize(
    ("value", "text"),
    [(3000, "3,000"), (3000.0, "3,000"), (66.7, "66.7"), (2.25, "2.2"), (1_250_000, "1,250,000")],
)
def test_a_whole_number_has_no_decimals_and_any_other_one(value: float, text: str) -> None:
    assert format_number(value) == text


def test_a_range_is_written_with_an_en_dash_and_a_point_as_one_number() -> None:
    assert format_amount(2000, 9999) == "2,000–9,999"
    assert format_amount(3000, 3000) == "3,000"


def test_a_value_reads_with_its_qualifier_and_unit() -> None:
    assert format_value(3000, 3000, "at_least", "people") == "at least 3,000 people"
    assert format_value(25, 25, "about", "percent") == "about 25%"
    assert format_value(10_000, 99_999, "exact", "people") == "10,000–99,999 people"


def observation(low: float, high: float) -> Observation:
    return Observation(
        figure="nk_killed",
        watchlist="casualty-figures",
        value=(low + high) / 2,
        low=low,
        high=high,
        unit="people",
        qualifier="over",
        attributed_to="Kyiv",
        quote="...",
    )


def test_alerts_inspect_and_spreads_write_numbers_the_same_way() -> None:
    obs = observation(10_000, 99_999)
    assert observation_value(obs) == "over 10,000–99,999 people"
    figure = {"figure": "nk_killed", "low": 10_000, "high": 99_999, "qualifier": "over",
              "unit": "people", "attributed_to": None, "quote": "...", "increment": False,
              "as_of": None}  # fmt: skip
    rendered = render_inspect({"watchlists": [], "not_matched": [], "figures": [figure]})
    assert "nk_killed: over 10,000–99,999 people" in rendered
    known = KnownValue(low=12.5, high=12.5, value=12.5, qualifier="exact", attributed_to="KCNA",
                       outlet=None, url=None, published_at=None,
                       first_seen_at=datetime(2025, 1, 1, tzinfo=UTC))  # fmt: skip
    note = spread_note(observation(4_000, 4_000), [known])
    assert note == "estimates range from 12.5 (KCNA) to 4,000 (Kyiv)"
