"""What the database decides, on SQLite and PostgreSQL: which entries are new, which replica
polls a feed, which replica sends an alert, and who compares a figure with its history."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from monitor.config.load import load_config
from monitor.pipeline.cycle import run_once
from monitor.runtime.app import build_app
from storage import queries
from storage.db import make_engine, sessions, upgrade
from storage.models import Feed, Item, Story
from tests.support.config import write_config
from tests.support.feedserver import FeedServer
from tests.support.service_process import rss, story_text

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
LEASE = 60.0


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


# ----------------------------------------------------------------------------- dedup


def test_an_entry_is_stored_once_however_it_comes_and_a_syndicated_copy_joins_its_story(
    db_url: str, tmp_path: Path
) -> None:
    text = story_text("kursk", "North Korean")
    original = ("g1", "Kursk story", text, "https://kyiv.example/kursk")
    tracked = ("g1", "Kursk story", text, "https://kyiv.example/kursk?utm_source=rss")
    copy = ("s9", "Kursk story (agency)", text.replace("report", "dispatch"),
            "https://seoul.example/kursk-copy")  # fmt: skip
    with FeedServer() as server:
        server.add("/a.xml", feed([original, original]))  # the same entry twice
        server.add("/b.xml", feed([tracked]))  # through another feed, with a tracking URL
        config = feeds_config(tmp_path, db_url, server, ["/a.xml", "/b.xml"])
        app = build_app(load_config(str(config)))
        asyncio.run(run_once(app))
        asyncio.run(run_once(app))  # and again later
        server.add("/b.xml", feed([tracked, copy]))  # a syndicated copy at another outlet
        asyncio.run(run_once(app))
    with app.sessions() as session:
        items = session.execute(select(Item.url, Item.story_id).order_by(Item.id)).all()
        stories = session.scalar(select(func.count()).select_from(Story))
    app.engine.dispose()
    # Both feeds are polled at once, so either the plain or the tracking-URL copy may be
    # the one stored; exactly one of them is, and the syndicated copy joins its story.
    urls = [url for url, _ in items]
    assert len(urls) == 2
    assert urls[0] in {"https://kyiv.example/kursk", "https://kyiv.example/kursk?utm_source=rss"}
    assert urls[1] == "https://seoul.example/kursk-copy"
    assert stories == 1 and items[0][1] == items[1][1]


def feed(entries: list[tuple[str, str, str, str]]) -> bytes:
    body = rss([(guid, title, text) for guid, title, text, _ in entries])
    for guid, _, _, url in entries:  # rss() links to news.example; use each entry's URL
        body = body.replace(
            f"<link>https://news.example/{guid}</link>".encode(),
            f"<link>{url.replace('&', '&amp;')}</link>".encode(),
            1,
        )
    return body


def feeds_config(tmp_path: Path, db_url: str, server: FeedServer, paths: list[str]) -> Path:
    watchlists = tmp_path / "watchlists"
    watchlists.mkdir(exist_ok=True)
    (watchlists / "nk.yaml").write_text(
        "name: nk\ndescription: test\nterms:\n  nk: [North Korean]\nmatch:\n  all_of: [nk]\n"
        "alerts: [new_item]\nroutes:\n  - {notifier: console}\n"
    )
    return write_config(
        tmp_path,
        database={"url": db_url},
        watchlists=str(watchlists),
        feeds=[{"url": server.url(p), "fetch_article": "never"} for p in paths],
        notifiers={"console": {}},
    )


# ----------------------------------------------------------------------------- feed leases


def add_feeds(engine: Engine, *urls: str) -> list[int]:
    with sessions(engine).begin() as session:
        queries.sync_feeds(session, [queries.FeedSpec(u, None, 900.0) for u in urls], NOW)
        return list(session.scalars(select(Feed.id).order_by(Feed.id)))


def claim(engine: Engine, owner: str, now: datetime, due_by: datetime | None = None) -> list[int]:
    with sessions(engine).begin() as session:
        return [f.id for f in queries.claim_due_feeds(session, owner, now, LEASE, None, due_by)]


def test_a_due_feed_is_leased_to_one_claimer(engine: Engine) -> None:
    ids = add_feeds(engine, "https://a.example/rss", "https://b.example/rss")
    assert claim(engine, "r1", NOW) == ids
    assert claim(engine, "r2", NOW) == []
    with sessions(engine).begin() as session:
        assert not queries.claim_feed(session, ids[0], "r2", NOW, LEASE)


def test_concurrent_claimers_share_the_due_feeds_without_overlap(engine: Engine) -> None:
    ids = add_feeds(engine, *(f"https://{n}.example/rss" for n in range(40)))
    claimed: dict[str, list[int]] = {}
    start = threading.Barrier(4)

    def claimer(owner: str) -> None:
        start.wait()
        claimed[owner] = []
        while batch := claim_some(engine, owner):
            claimed[owner] += batch

    run_threads(claimer, [f"r{n}" for n in range(4)])
    everything = [i for batch in claimed.values() for i in batch]
    assert sorted(everything) == ids  # each feed claimed once


def claim_some(engine: Engine, owner: str) -> list[int]:
    with sessions(engine).begin() as session:
        return [f.id for f in queries.claim_due_feeds(session, owner, NOW, LEASE, 3)]


def test_an_expired_lease_is_taken_over_and_the_dead_owner_cannot_write_back(
    engine: Engine,
) -> None:
    (feed_id,) = add_feeds(engine, "https://a.example/rss")
    assert claim(engine, "dead", NOW) == [feed_id]
    assert claim(engine, "r2", NOW + timedelta(seconds=LEASE - 1)) == []
    later = NOW + timedelta(seconds=LEASE + 1)
    assert claim(engine, "r2", later) == [feed_id]
    record = queries.PollRecord(ok=True, status=200, error=None, next_poll_at=later)
    with sessions(engine).begin() as session:
        queries.finish_poll(session, feed_id, "dead", later, record)  # too late: ignored
        row = session.get(Feed, feed_id)
        assert row is not None and row.lease_owner == "r2" and row.polls == 0
        queries.finish_poll(session, feed_id, "r2", later, record)
        session.flush()
        session.refresh(row)
        assert row.lease_owner is None and row.polls == 1


def test_a_feed_not_due_is_claimed_only_when_due_by_reaches_it(engine: Engine) -> None:
    (feed_id,) = add_feeds(engine, "https://a.example/rss")
    soon = NOW + timedelta(minutes=10)
    record = queries.PollRecord(ok=True, status=200, error=None, next_poll_at=soon)
    assert claim(engine, "r1", NOW) == [feed_id]
    with sessions(engine).begin() as session:
        queries.finish_poll(session, feed_id, "r1", NOW, record)
    assert claim(engine, "r1", NOW) == []
    assert claim(engine, "r1", NOW, due_by=NOW + timedelta(minutes=5)) == []
    assert claim(engine, "r1", NOW, due_by=NOW + timedelta(days=1)) == [feed_id]  # --once


def test_finish_polls_writes_each_kind_of_outcome_and_skips_lost_leases(engine: Engine) -> None:
    ids = add_feeds(engine, *(f"https://{n}.example/rss" for n in range(4)))
    assert claim(engine, "r1", NOW) == ids
    with sessions(engine).begin() as session:  # the last feed's lease went to another replica
        session.get_one(Feed, ids[3]).lease_owner = "r2"
    later = NOW + timedelta(minutes=15)
    ok = queries.PollRecord(True, 200, None, later, etag='"e"', body_hash="h")
    moved = queries.PollRecord(True, 200, None, later, fetch_url="https://new.example/rss")
    failed = queries.PollRecord(False, 503, "HTTP 503", later)
    polls = [(ids[0], NOW, ok), (ids[1], NOW, moved), (ids[2], NOW, failed), (ids[3], NOW, ok)]
    with sessions(engine).begin() as session:
        queries.finish_polls(session, "r1", polls)
    with sessions(engine)() as session:
        rows = {f.id: f for f in session.scalars(select(Feed))}
    assert (rows[ids[0]].etag, rows[ids[0]].body_hash, rows[ids[0]].polls) == ('"e"', "h", 1)
    assert rows[ids[0]].lease_owner is None and rows[ids[0]].last_success_at == NOW
    assert rows[ids[1]].fetch_url == "https://new.example/rss"
    assert (rows[ids[2]].consecutive_failures, rows[ids[2]].last_error) == (1, "HTTP 503")
    assert rows[ids[2]].last_success_at is None and rows[ids[2]].next_poll_at == later
    assert rows[ids[3]].lease_owner == "r2" and rows[ids[3]].polls == 0  # not ours: untouched


def test_sync_feeds_adds_updates_deactivates_and_reactivates(engine: Engine) -> None:
    spec = queries.FeedSpec
    with sessions(engine).begin() as session:
        queries.sync_feeds(session, [spec("https://a.example/rss", "A", 900.0),
                                     spec("https://b.example/rss", None, 900.0)], NOW)  # fmt: skip
        queries.sync_feeds(session, [spec("https://a.example/rss", "A2", 600.0)], NOW)

    def state() -> list[tuple[str, str | None, float, bool]]:
        with sessions(engine)() as session:
            feeds = session.scalars(select(Feed).order_by(Feed.url))
            return [(f.url, f.name, f.interval_seconds, f.active) for f in feeds]

    assert state() == [
        ("https://a.example/rss", "A2", 600.0, True),
        ("https://b.example/rss", None, 900.0, False),
    ]
    with sessions(engine).begin() as session:
        queries.sync_feeds(session, [spec("https://b.example/rss", "B", 900.0)], NOW)
    assert state() == [
        ("https://a.example/rss", "A2", 600.0, False),
        ("https://b.example/rss", "B", 900.0, True),
    ]


# ----------------------------------------------------------------------------- alert claims


def add_alerts(engine: Engine, count: int) -> list[int]:
    with sessions(engine).begin() as session:
        return [
            int(
                queries.add_alert(
                    session,
                    dedup_key=f"k{n}",
                    kind="new_item",
                    notifier="console",
                    channel=None,
                    watchlists=["alpha"],
                    content={},
                    state="pending",
                    attempts=0,
                    created_at=NOW,
                    next_attempt_at=NOW,
                )
                or 0
            )
            for n in range(count)
        ]


def test_concurrent_senders_claim_every_alert_exactly_once(engine: Engine) -> None:
    ids = add_alerts(engine, 120)
    claimed: Counter[int] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(4)

    def sender(owner: str) -> None:
        start.wait()
        while True:
            with sessions(engine).begin() as session:
                taken = queries.claim_alert(session, owner, NOW, LEASE)
            if taken is None:
                return
            assert not taken.resumed
            with sessions(engine).begin() as session:
                queries.mark_sent(session, taken.id, owner, NOW, None)
            with lock:
                claimed[taken.id] += 1

    run_threads(sender, [f"r{n}" for n in range(4)])
    assert sorted(claimed) == ids and set(claimed.values()) == {1}
    with sessions(engine)() as session:
        assert queries.count_alerts(session) == {"sent": 120}


def test_an_alert_whose_sender_died_is_resumed_after_its_lease(engine: Engine) -> None:
    (alert_id,) = add_alerts(engine, 1)
    with sessions(engine).begin() as session:
        taken = queries.claim_alert(session, "dead", NOW, LEASE)
        assert taken is not None and taken.id == alert_id
    with sessions(engine).begin() as session:
        assert queries.claim_alert(session, "r2", NOW + timedelta(seconds=LEASE - 1), LEASE) is None
    with sessions(engine).begin() as session:
        later = NOW + timedelta(seconds=LEASE + 1)
        taken = queries.claim_alert(session, "r2", later, LEASE)
        resumed = (taken.id, taken.resumed) if taken else None
    assert resumed == (alert_id, True)  # the caller checks the channel before resending


# ----------------------------------------------------------------------------- figure series


def test_a_figure_series_is_locked_until_the_comparing_transaction_ends(engine: Engine) -> None:
    locked, release = threading.Event(), threading.Event()
    second_done = threading.Event()
    ids: list[int] = []

    def first() -> None:
        with Session(engine) as session, session.begin():
            ids.append(queries.lock_series(session, "nk_killed", "people"))
            locked.set()
            release.wait(10)

    def second() -> None:
        locked.wait(10)
        with Session(engine) as session, session.begin():
            ids.append(queries.lock_series(session, "nk_killed", "people"))
        second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    try:
        assert locked.wait(10)
        assert not second_done.wait(0.3), "the second comparison waits for the first"
    finally:
        release.set()
        for thread in threads:
            thread.join(15)
    assert second_done.is_set() and len(ids) == 2 and ids[0] == ids[1]


def run_threads(target: Callable[[str], None], args: list[str]) -> None:
    threads = [threading.Thread(target=target, args=(arg,)) for arg in args]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
