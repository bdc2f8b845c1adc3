"""Figure history in storage: which stored values a new observation is compared with."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from monitor.identity import entry_keys
from monitor.ingest import Routing, record_entry
from monitor.model import Article, Entry, Observation
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


def store(make: object, n: int, obs: Observation) -> tuple[Observation, ...]:
    text = f"Report {n} about North Korean losses near Kursk."
    entry = Entry("https://example.org/rss", f"g{n}", f"https://example.org/{n}", f"T{n}", text)
    article = Article(title=entry.title, text=text, url=entry.url, outlet=f"outlet{n}.org")
    with make() as session:  # type: ignore[operator]
        result = record_entry(
            session,
            feed_id=None,
            entry=entry,
            keys=entry_keys(entry, article.outlet),
            article=article,
            matches=(),
            observations=(obs,),
            routing=ROUTING,
            now=NOW,
        )
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
