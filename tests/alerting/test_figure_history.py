"""Figure history in storage: which stored values a new observation is compared with."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session, sessionmaker

from monitor.alerting.baseline import FRESH, OldNews
from monitor.alerting.plan import Routing
from monitor.domain.model import Article, Entry, FigureSpec, Noise, Observation, Route
from monitor.identity.keys import entry_keys
from monitor.pipeline.ingest import Ingested, record_entry
from storage.db import make_engine, sessions, upgrade

NOW = datetime(2026, 3, 2, tzinfo=UTC)
ROUTING = Routing(watchlists={}, notifiers=(), default_channels={})
KILLED = Observation(
    figure="nk_killed",
    watchlist="casualty-figures",
    value=300,
    low=300,
    high=300,
    unit="people",
    qualifier="exact",
    attributed_to="Seoul",
    quote="300 North Korean soldiers were killed",
)


def store(make: sessionmaker[Session], n: int, obs: Observation) -> tuple[Observation, ...]:
    """Record report ``n`` stating ``obs`` (no alert routes); the changes it made."""
    result = record(make, n, obs, routing=ROUTING)
    return tuple(change.observation for change in result.changes)


def test_a_current_value_equal_to_a_past_dated_one_is_news_not_corroboration(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    make = sessions(engine)
    history = replace(KILLED, as_of=date(2026, 1, 15))
    assert store(make, 1, history) == ()  # history never changes a series
    assert store(make, 2, KILLED) == (KILLED,)  # first current estimate: a change
    assert store(make, 3, KILLED) == ()  # repeated by another outlet: corroboration
    engine.dispose()


def test_an_increment_is_stored_but_never_compared_as_a_total(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    make = sessions(engine)
    assert store(make, 1, replace(KILLED, increment=True)) == ()
    assert store(make, 2, KILLED) == (KILLED,)
    engine.dispose()


@dataclass(frozen=True)
class Tracking:
    """A watchlist tracking nk_killed, alerting on the console."""

    name: str = "casualty-figures"
    alerts: frozenset[str] = frozenset({"new_item", "figure_change"})
    routes: tuple[Route, ...] = (Route("console"),)
    figures: tuple[FigureSpec, ...] = (
        FigureSpec("nk_killed", "casualty-figures", "people", ("killed",), ("soldiers",)),
    )
    noise: Noise = Noise()  # noqa: RUF009 (frozen)


ALERTING = Routing(
    watchlists={"casualty-figures": Tracking()},
    notifiers=("console",),
    default_channels={"console": None},
)


def record(
    make: sessionmaker[Session],
    n: int,
    obs: Observation,
    old_news: OldNews = FRESH,
    routing: Routing | None = None,
) -> Ingested:
    """Record report ``n`` from outlet ``n`` stating ``obs``, routed to the console."""
    text = f"Report {n} about North Korean losses near Kursk."
    entry = Entry("https://example.org/rss", f"g{n}", f"https://example.org/{n}", f"T{n}", text)
    article = Article(
        title=entry.title, text=text, url=entry.url, outlet=f"outlet{n}.org", published_at=NOW
    )
    with make() as session:
        return record_entry(
            session,
            feed_id=None,
            entry=entry,
            keys=entry_keys(entry, article.outlet),
            article=article,
            matches=(),
            observations=(obs,),
            routing=routing or ALERTING,
            now=NOW,
            old_news=old_news,
        )


def figure_changes(result: Ingested) -> list[tuple[float, list[float]]]:
    """Each change's new value with the previous values it lists, latest first."""
    return [(c.observation.low, [k.low for k in c.previous]) for c in result.changes]


def test_running_totals_are_current_values_that_alert_and_past_dated_values_are_history(
    db_url: str,
) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    make = sessions(engine)
    total = replace(KILLED, low=11000, high=11000, value=11000, quote="has lost about 11,000")
    # Old news (a feed's baseline): stored as the known value, no alert.
    baseline = record(make, 1, total, OldNews(baseline=True))
    assert baseline.alert_kinds == () and baseline.baseline
    # "has lost about 13,000 soldiers since November 2024": a running total, as_of None,
    # compared with the current values: it alerts, listing the baseline's.
    running = replace(total, low=13000, high=13000, value=13000)
    result = record(make, 2, running)
    assert result.alert_kinds == ("figure_change",)
    assert figure_changes(result) == [(13000, [11000])]
    # "in January, Seoul estimated 300 dead": dated before the article, history.
    dated = record(make, 3, replace(KILLED, as_of=date(2026, 1, 15)))
    assert (dated.alert_kinds, dated.changes) == ((), ())
    # ... and never a known value: the same 300 stated as current is a change.
    current = record(make, 4, KILLED)
    assert current.alert_kinds == ("figure_change",)
    assert figure_changes(current) == [(300, [13000, 11000])]
    # A value the article dates on its own day ("as of today") is current too.
    today = record(make, 5, replace(running, low=14000, high=14000, value=14000, as_of=NOW.date()))
    assert today.alert_kinds == ("figure_change",)
    assert figure_changes(today) == [(14000, [300, 13000, 11000])]
    engine.dispose()
