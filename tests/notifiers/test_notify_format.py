"""Shared wording (notifiers/format.py): dashboard ranges and estimates, digest headings."""

from __future__ import annotations

import typing
from dataclasses import replace
from datetime import UTC, datetime

from monitor.domain.model import AlertContent, AlertKind, FigureChange, KnownValue, Observation
from notifiers.format import (
    KIND_LABELS,
    before_after,
    dashboard_title,
    digest_count,
    digest_heading,
    digest_watchlists,
    estimate_range,
    estimate_source,
    estimates,
    plural,
    range_summary,
)

WHEN = datetime(2025, 1, 12, 9, 10, tzinfo=UTC)


def observation(low: float, high: float | None = None, **kwargs: object) -> Observation:
    high = low if high is None else high
    values: dict[str, typing.Any] = {
        "figure": "nk_killed", "watchlist": "casualty-figures", "value": (low + high) / 2,
        "low": low, "high": high, "unit": "people", "qualifier": "at_least",
        "attributed_to": "Zelensky", "quote": "…", **kwargs,
    }  # fmt: skip
    return Observation(**values)


def known(low: float, high: float | None = None, **kwargs: object) -> KnownValue:
    high = low if high is None else high
    values: dict[str, typing.Any] = {
        "low": low, "high": high, "value": (low + high) / 2, "qualifier": "about",
        "attributed_to": "Kyiv intelligence", "outlet": "Yonhap", "url": "https://yonhap.example/a",
        "published_at": WHEN, "first_seen_at": WHEN, **kwargs,
    }  # fmt: skip
    return KnownValue(**values)


def content(kind: AlertKind = AlertKind.FIGURE_CHANGE, **kwargs: object) -> AlertContent:
    values: dict[str, typing.Any] = {
        "kind": kind, "watchlists": ["casualty-figures"], "title": "Title",
        "url": "https://news.example/a", "outlet": "Reuters", "published_at": WHEN, **kwargs,
    }  # fmt: skip
    return AlertContent(**values)


def test_every_alert_kind_has_a_label() -> None:
    assert set(KIND_LABELS) == set(AlertKind)
    assert KIND_LABELS["dashboard"] == "Figure dashboard" and KIND_LABELS["digest"] == "Digest"


def test_estimate_range_spans_lowest_low_to_highest_high() -> None:
    change = FigureChange(observation(3000), (known(3500, 4000), known(1000)))
    assert estimate_range(change) == (1000, 4000, 3)
    assert range_summary(change) == "1,000–4,000 people across 3 estimates"


def test_estimate_range_of_one_value() -> None:
    change = FigureChange(observation(3000), ())
    assert estimate_range(change) == (3000, 3000, 1)
    assert range_summary(change) == "3,000 people, 1 estimate"
    same = FigureChange(observation(3000), (known(3000),))
    assert range_summary(same) == "3,000 people across 2 estimates"


def test_an_increment_is_not_an_estimate_of_the_total_unless_it_is_all_there_is() -> None:
    another = observation(500, increment=True)
    assert estimate_range(FigureChange(another, (known(3000), known(2000)))) == (2000, 3000, 2)
    assert estimate_range(FigureChange(another, ())) == (500, 500, 1)


def test_estimates_are_newest_first_with_who_where_when_and_link() -> None:
    older = known(1000, outlet="Yonhap", corroborations=2)
    oldest = known(100, attributed_to=None, outlet=None, url=None, published_at=None,
                   first_seen_at=datetime(2024, 12, 19, tzinfo=UTC))  # fmt: skip
    listed = estimates(FigureChange(observation(3000), (older, oldest)), content())
    assert [e.value for e in listed] == ["at least 3,000 people", "about 1,000 people",
                                         "about 100 people"]  # fmt: skip
    assert [estimate_source(e) for e in listed] == [
        "Zelensky, Reuters, 2025-01-12",
        "Kyiv intelligence, Yonhap, 2025-01-12 (2 reports)",
        "unknown source, 2024-12-19",
    ]
    assert [e.url for e in listed] == ["https://news.example/a", "https://yonhap.example/a", None]


def test_dashboard_title_and_before_after_line() -> None:
    change = FigureChange(observation(3000, figure="nk_killed\n@here"), (known(1000),))
    assert dashboard_title(change) == "📊 nk_killed @here — current estimates"
    assert before_after(FigureChange(observation(3000), (known(1000),))) == (
        "nk_killed: about 1,000 people → at least 3,000 people"
    )
    assert before_after(FigureChange(observation(3000), ())) == (
        "nk_killed: first value → at least 3,000 people"
    )


def test_digest_count_names_the_kind_of_its_members() -> None:
    item, figure = content(AlertKind.NEW_ITEM), content(AlertKind.FIGURE_CHANGE)
    assert digest_count(content(AlertKind.DIGEST, digest=[item] * 7)) == "7 new stories"
    assert digest_count(content(AlertKind.DIGEST, digest=[item])) == "1 new story"
    assert digest_count(content(AlertKind.DIGEST, digest=[figure] * 2)) == "2 figure changes"
    assert digest_count(content(AlertKind.DIGEST, digest=[item, figure, item])) == "3 alerts"
    assert plural(1200, "alert", "alerts") == "1,200 alerts"


def test_digest_heading_is_made_of_watchlists_and_counts_only() -> None:
    members = [
        content(AlertKind.NEW_ITEM, watchlists=["nk-deployment"], title="<!channel>\r\nBcc: x@y.z"),
        content(AlertKind.NEW_ITEM, watchlists=["kn-23", "nk-deployment"]),
    ]
    digest = content(AlertKind.DIGEST, watchlists=[], digest=members, title="Digest: 2 alerts")
    assert digest_watchlists(digest) == ["nk-deployment", "kn-23"]
    assert digest_heading(digest) == "Digest · nk-deployment, kn-23: 2 new stories"
    given = replace(digest, watchlists=["nk-deployment"])
    assert digest_heading(given) == "Digest · nk-deployment: 2 new stories"
    assert digest_heading(replace(digest, digest=[])) == "Digest: 2 alerts"
