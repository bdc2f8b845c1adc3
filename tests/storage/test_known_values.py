"""known_values: the values a new observation is compared with, grouped by the database —
one per distinct value, the latest first, with the number of distinct sources."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from monitor.domain.model import KnownValue
from storage import queries
from storage.db import make_engine, sessions, upgrade
from tests.alerting.test_figure_history import KILLED  # 300 killed, says Seoul

START = datetime(2026, 3, 2, tzinfo=UTC)
THOUSAND = replace(KILLED, value=1000, low=1000, high=1000, attributed_to="Kyiv")

# (minute, observation, outlet, url)
STATED = [
    (0, KILLED, "a.org", "https://a.org/1"),
    (1, KILLED, "a.org", "https://a.org/2"),  # the same source again: no corroboration
    (2, KILLED, "b.org", "https://b.org/1"),  # another outlet: corroboration
    (3, replace(KILLED, attributed_to=None), "b.org", "https://b.org/2"),  # unattributed
    (4, THOUSAND, None, "https://c.org/x"),  # no outlet: the URL is the source
    (5, THOUSAND, "", "https://c.org/x"),  # an empty outlet counts as none
    (6, replace(KILLED, value=500, low=500, high=500, increment=True), "d.org", None),
    (7, replace(KILLED, value=700, low=700, high=700, as_of=date(2025, 12, 1)), "d.org", None),
]


def test_one_value_per_distinct_range_latest_first_with_distinct_sources(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    with sessions(engine).begin() as session:
        series = queries.lock_series(session, "nk_killed", "people")
        for minute, obs, outlet, url in STATED:
            queries.add_observation(
                session,
                series_id=series,
                item_id=None,
                obs=obs,
                url=url,
                outlet=outlet,
                title=None,
                published_at=None,
                now=START + timedelta(minutes=minute),
                changed=False,
            )
        known = queries.known_values(session, series)
    engine.dispose()
    # increments and past-dated values are stored but are not current estimates
    assert known == [
        KnownValue(
            low=1000,
            high=1000,
            value=1000,
            qualifier="exact",
            attributed_to="Kyiv",
            outlet="",
            url="https://c.org/x",
            published_at=None,
            first_seen_at=START + timedelta(minutes=5),
            corroborations=1,
        ),
        KnownValue(
            low=300,
            high=300,
            value=300,
            qualifier="exact",
            attributed_to=None,
            outlet="b.org",
            url="https://b.org/2",
            published_at=None,
            first_seen_at=START + timedelta(minutes=3),
            corroborations=3,  # (a.org, Seoul), (b.org, Seoul), (b.org, nobody)
        ),
    ]


def test_a_series_without_current_values_has_none(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    with sessions(engine).begin() as session:
        series = queries.lock_series(session, "nk_killed", "people")
        assert queries.known_values(session, series) == []
    engine.dispose()
