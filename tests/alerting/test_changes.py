"""monitor.alerting.changes: when a new observation of a figure is a change; how spreads read."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from monitor.alerting.changes import as_current, compare, is_news, same_value, spread_note
from monitor.domain.model import KnownValue, Observation

NOW = datetime(2025, 2, 1, tzinfo=UTC)


def _obs(
    low: float,
    high: float | None = None,
    *,
    by: str | None = None,
    increment: bool = False,
    as_of: date | None = None,
) -> Observation:
    high = low if high is None else high
    return Observation(
        figure="nk_killed",
        watchlist="casualty-figures",
        value=(low + high) / 2,
        low=low,
        high=high,
        unit="people",
        qualifier="exact",
        attributed_to=by,
        quote=f"{low:g} North Korean soldiers were killed",
        increment=increment,
        as_of=as_of,
    )


def _known(low: float, high: float | None = None, *, by: str | None, outlet: str) -> KnownValue:
    high = low if high is None else high
    return KnownValue(
        low=low,
        high=high,
        value=(low + high) / 2,
        qualifier="exact",
        attributed_to=by,
        outlet=outlet,
        url=f"https://{outlet.lower().replace(' ', '')}.example/story",
        published_at=NOW,
        first_seen_at=NOW,
    )


def test_first_value_of_a_series_is_a_change() -> None:
    change = compare(_obs(3000, by="Zelensky"), [], 0.0)
    assert change is not None and change.previous == () and change.spread is None


def test_repeat_of_a_known_value_by_another_outlet_is_corroboration_not_change() -> None:
    known = [_known(3000, by="Zelensky", outlet="Kyiv Independent")]
    assert compare(_obs(3000, by="Zelensky"), known, 0.0) is None
    assert compare(_obs(3000, by=None), known, 0.0, outlet="Reuters") is None


def test_a_value_different_from_every_known_one_is_a_change_listing_them_latest_first() -> None:
    known = [
        _known(3000, by="Zelensky", outlet="Kyiv Independent"),
        _known(300, by="NIS", outlet="Yonhap"),
    ]
    change = compare(_obs(4000, by="Zelensky"), known, 0.0)
    assert change is not None
    assert [k.low for k in change.previous] == [3000, 300]
    assert change.observation.low == 4000


def test_a_vague_range_around_a_known_value_is_not_a_change() -> None:
    known = [_known(3000, by="Kyiv", outlet="A")]
    assert compare(_obs(1000, 9999, by="Seoul"), known, 0.0) is None  # "thousands"
    assert compare(_obs(10000, 99999, by="Seoul"), known, 0.0) is not None  # not around it
    # a precise value inside a vague known one says more: a change
    assert compare(_obs(3500), [_known(1000, 9999, by="Kyiv", outlet="A")], 0.0) is not None


def test_a_value_equal_to_an_older_known_value_is_not_a_change() -> None:
    known = [_known(4000, by="Kyiv", outlet="A"), _known(3000, by="Kyiv", outlet="B")]
    assert compare(_obs(3000, by="Seoul"), known, 0.0) is None


@pytest.mark.parametrize(
    ("new", "tolerance", "changed"),
    [
        (3000, 0.0, False),
        (3010, 0.0, True),  # default: exact
        (3010, 0.01, False),  # 10 in 3,010 is within 1 %
        (3100, 0.01, True),
        (3100, 0.05, False),
        (2900, 0.05, False),  # relative either way
        (2800, 0.05, True),
    ],
)
def test_relative_tolerance_makes_near_values_equal(
    new: float, tolerance: float, changed: bool
) -> None:
    known = [_known(3000, by="Zelensky", outlet="Kyiv Independent")]
    assert (compare(_obs(new, by="Zelensky"), known, tolerance) is not None) is changed


def test_tolerance_applies_to_both_ends_of_a_range() -> None:
    assert same_value(1000, 9999, 1000, 9999, 0.0)
    assert not same_value(1000, 9999, 2000, 9999, 0.0)  # "thousands" vs "several thousand"
    assert same_value(10000, 12000, 10100, 12100, 0.01)
    assert not same_value(10000, 12000, 10000, 15000, 0.1)


def test_increments_never_alert() -> None:
    obs = _obs(3000, by="Seoul", increment=True)
    assert not is_news(obs)
    assert compare(obs, [], 0.0) is None
    assert compare(obs, [_known(10000, by="Seoul", outlet="Yonhap")], 0.0) is None


def test_past_dated_values_never_alert() -> None:
    obs = _obs(300, by="Seoul", as_of=date(2025, 1, 1))
    assert not is_news(obs)
    assert compare(obs, [], 0.0) is None
    assert compare(obs, [_known(3000, by="Kyiv", outlet="Reuters")], 0.0) is None


def test_a_running_total_without_as_of_is_current_and_changes_the_series() -> None:
    # "has sent about 13,000 troops since November 2024": the "since" starts the count,
    # it does not date the value.
    known = [_known(11000, by="NIS", outlet="Yonhap")]
    total = _obs(13000, by="Kyiv")
    assert as_current(total, NOW.date()) is total and is_news(total)
    change = compare(total, known, 0.0)
    assert change is not None and change.observation is total and change.previous == tuple(known)


def test_a_value_dated_before_the_article_is_history_one_dated_its_own_day_is_current() -> None:
    known = [_known(3000, by="Kyiv", outlet="Reuters")]
    day = NOW.date()  # the article's date
    january = as_current(_obs(300, by="Seoul", as_of=date(2025, 1, 15)), day)
    assert january.as_of == date(2025, 1, 15) and compare(january, known, 0.0) is None
    today = as_current(_obs(4000, by="Kyiv", as_of=day), day)
    assert today.as_of is None
    assert compare(today, known, 0.0) is not None


def test_spread_note_names_both_ends_when_sources_disagree_widely() -> None:
    known = [_known(9, by="KCNA", outlet="KCNA Watch")]
    change = compare(_obs(4000, by="Kyiv"), known, 0.0)
    assert change is not None
    assert change.spread == "estimates range from 9 (KCNA) to 4,000 (Kyiv)"


def test_spread_note_takes_each_sources_newest_value() -> None:
    known = [  # latest first: Kyiv's older 9 no longer holds the low end
        _known(3000, by="Kyiv", outlet="A"),
        _known(9, by="KCNA", outlet="B"),
        _known(9, by="Kyiv", outlet="C"),
    ]
    note = spread_note(_obs(4000, by="Kyiv"), known)
    assert note == "estimates range from 9 (KCNA) to 4,000 (Kyiv)"


def test_spread_note_falls_back_to_the_outlet_when_nobody_is_named() -> None:
    known = [_known(9, by=None, outlet="KCNA Watch")]
    assert (
        spread_note(_obs(4000), known, "Kyiv Independent")
        == "estimates range from 9 (KCNA Watch) to 4,000 (Kyiv Independent)"
    )


def test_no_spread_note_for_close_values_or_a_single_source() -> None:
    assert spread_note(_obs(3500, by="Kyiv"), [_known(3000, by="NIS", outlet="Yonhap")]) is None
    assert spread_note(_obs(4000, by="Kyiv"), [_known(9, by="Kyiv", outlet="A")]) is None
    assert spread_note(_obs(4000, by="Kyiv"), []) is None
