"""Noise control through the outbox, on SQLite and PostgreSQL: hourly caps roll the excess
into one digest, quiet hours hold alerts until a morning roll-up, a story waits for its
minimum number of outlets, routes can ask for digests, and on Slack each figure keeps one
thread whose first message is edited into a dashboard.

Time is a fake clock: "the next hour" is a clock step, never a sleep.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.alerting import delivery
from monitor.config.load import load_config
from monitor.domain.clock import Clock
from monitor.domain.model import Alert, Article, Delivery, Entry, Match, Observation
from monitor.identity.keys import entry_keys
from monitor.pipeline.ingest import Ingested, NewEntry, record_entries
from monitor.runtime.app import App, build_app
from storage import queries
from storage.models import AlertRow
from tests.support.fakeclock import FakeClock
from tests.support.paths import REPO

WATCHLIST = REPO / "tests" / "data" / "noise" / "noisy.yaml"
T0 = datetime(2026, 11, 20, 9, 10, tzinfo=UTC)  # a Friday, 11:10 in Kyiv (UTC+2)
WORDS = [f"w{i}" for i in range(5000)]


class Recorder:
    """A notifier that records what it is given and answers like Slack (ts + channel id)."""

    min_interval = 0.0

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[Alert] = []

    def send(self, alert: Alert) -> Delivery:
        self.sent.append(alert)
        return Delivery(remote_id=f"{len(self.sent)}.000100", remote_channel="C0HARBOUR")

    def already_sent(self, alert: Alert) -> str | None:
        return None

    def kinds(self) -> list[str]:
        return [alert.kind for alert in self.sent]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


def make_app(tmp_path: Path, db_url: str, extra: dict[str, Any], clock: Clock) -> App:
    """An app whose only watchlist is ``noisy`` plus ``extra`` keys, with recording
    notifiers named slack and email, telling the time by ``clock``."""
    watchlists = tmp_path / "watchlists"
    watchlists.mkdir()
    data = yaml.safe_load(WATCHLIST.read_text(encoding="utf-8"))
    data.setdefault("routes", [{"notifier": "slack", "channel": "#harbour"}])
    data.update(extra)
    (watchlists / "noisy.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    config = {
        "database": {"url": db_url},
        "watchlists": str(watchlists),
        "notifiers": {"console": {}},
        "http": {"listen": None},
    }
    path = tmp_path / "newsmon.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    app = build_app(load_config(str(path)), environ={})
    app.notifiers = {"slack": Recorder("slack"), "email": Recorder("email")}
    app.clock = clock
    return app


@pytest.fixture
def apps() -> Iterator[list[App]]:
    made: list[App] = []
    yield made
    for app in made:
        app.engine.dispose()


def story_text(n: int) -> str:
    rng = random.Random(n)
    return "Boats in the harbour of Port Alder. " + " ".join(rng.sample(WORDS, 60))


def store(
    app: App,
    n: int,
    now: datetime,
    *,
    outlet: str = "a.example",
    observations: Sequence[Observation] = (),
) -> Ingested:
    """Store story ``n`` as carried by ``outlet`` (the same n at another outlet is a
    syndicated copy), matching the watchlist."""
    text = story_text(n)
    url = f"https://{outlet}/story/{n}"
    entry = Entry(f"https://{outlet}/rss", url, url, f"Harbour story {n}", text)
    article = Article(entry.title, text, url, outlet, published_at=now)
    match = Match("noisy", ("harbour", "Port Alder"))
    new = NewEntry(None, entry, entry_keys(entry, outlet), article, [match], observations)
    with app.sessions() as session:
        return record_entries(session, [new], routing=app.routing(), now=now)[0]


def sunk(value: float) -> Observation:
    return Observation(
        figure="boats_sunk", watchlist="noisy", value=value, low=value, high=value,
        unit="boats", qualifier="exact", attributed_to="the harbour master",
        quote=f"{value:.0f} boats sank",
    )  # fmt: skip


def deliver(app: App) -> tuple[int, int]:
    return asyncio.run(delivery.deliver_pending(app))


def rows(app: App) -> list[AlertRow]:
    with app.sessions() as session:
        found = list(session.query(AlertRow).order_by(AlertRow.id))
        session.expunge_all()
        return found


def recorder(app: App, name: str = "slack") -> Recorder:
    found = app.notifiers[name]
    assert isinstance(found, Recorder)
    return found


def test_over_the_hourly_cap_new_stories_roll_into_one_digest_at_the_end_of_the_hour(
    tmp_path: Path, db_url: str, clock: FakeClock, apps: list[App]
) -> None:
    app = make_app(tmp_path, db_url, {"noise": {"max_per_hour": 2}}, clock)
    apps.append(app)
    for n in range(5):
        store(app, n, T0 + timedelta(minutes=n))
    assert [r.state for r in rows(app)] == ["pending"] * 2 + ["held"] * 3
    assert {r.next_attempt_at for r in rows(app)[2:]} == {datetime(2026, 11, 20, 10, tzinfo=UTC)}
    clock.at = T0 + timedelta(minutes=5)
    deliver(app)
    slack = recorder(app)
    assert [a.content.title for a in slack.sent] == ["Harbour story 0", "Harbour story 1"]

    clock.at = datetime(2026, 11, 20, 9, 59, tzinfo=UTC)
    deliver(app)
    assert len(slack.sent) == 2, "held until the hour is over"

    clock.at = datetime(2026, 11, 20, 10, 0, 5, tzinfo=UTC)
    deliver(app)
    assert slack.kinds() == ["new_item", "new_item", "digest"]
    digest = slack.sent[-1].content
    assert [m.title for m in digest.digest] == [f"Harbour story {n}" for n in (2, 3, 4)]
    assert "limit of 2 new stories per hour" in digest.note
    states = {r.id: r for r in rows(app)}
    digest_row = next(r for r in states.values() if r.kind == "digest")
    assert digest_row.state == "sent"
    members = [r for r in states.values() if r.state == "rolled"]
    assert len(members) == 3 and {r.rolled_into for r in members} == {digest_row.id}

    # a new hour, a fresh allowance; and nothing is released or sent twice
    store(app, 9, clock.at)
    deliver(app)
    deliver(app)
    assert slack.kinds() == ["new_item", "new_item", "digest", "new_item"]


def test_quiet_hours_hold_alerts_until_a_morning_roll_up_and_figure_threads_keep_theirs(
    tmp_path: Path, db_url: str, clock: FakeClock, apps: list[App]
) -> None:
    quiet = {"start": "22:00", "end": "07:00", "timezone": "Europe/Kyiv"}
    app = make_app(tmp_path, db_url, {"noise": {"quiet_hours": quiet}}, clock)
    apps.append(app)
    night = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)  # 23:30 in Kyiv
    clock.at = night
    store(app, 1, night)
    store(app, 2, night + timedelta(minutes=5), observations=[sunk(4)])
    deliver(app)
    slack = recorder(app)
    assert slack.sent == []
    morning = datetime(2026, 11, 21, 5, 0, tzinfo=UTC)  # 07:00 in Kyiv
    assert {r.state for r in rows(app)} == {"held"}
    assert {r.next_attempt_at for r in rows(app)} == {morning}

    clock.at = morning - timedelta(seconds=1)
    deliver(app)
    assert slack.sent == []
    clock.at = morning
    deliver(app)
    # the figure change keeps its own thread; the two new stories become one roll-up
    assert slack.kinds() == ["figure_change", "digest"]
    assert "quiet hours (22:00–07:00 Europe/Kyiv)" in slack.sent[1].content.note
    assert len(slack.sent[1].content.digest) == 2


def test_a_story_alerts_once_it_reaches_the_watchlists_minimum_of_outlets(
    tmp_path: Path, db_url: str, clock: FakeClock, apps: list[App]
) -> None:
    app = make_app(tmp_path, db_url, {"noise": {"min_outlets": 2}}, clock)
    apps.append(app)
    first = store(app, 1, T0, outlet="a.example")
    assert first.new_story and first.alerts == 0
    store(app, 1, T0, outlet="a.example")  # the same entry again is no second outlet
    copy = store(app, 1, T0 + timedelta(minutes=3), outlet="b.example")
    assert copy.story_id == first.story_id and copy.alert_kinds == ("new_item",)
    third = store(app, 1, T0 + timedelta(minutes=6), outlet="c.example")
    assert "new_item" not in third.alert_kinds
    clock.at = T0 + timedelta(minutes=7)
    deliver(app)
    [alert] = [a for a in recorder(app).sent if a.kind == "new_item"]
    assert alert.content.outlet == "b.example"
    assert alert.content.also_reported_by == ["a.example"]


def test_a_digest_route_batches_new_stories_hourly_and_sends_figure_changes_at_once(
    tmp_path: Path, db_url: str, clock: FakeClock, apps: list[App]
) -> None:
    routes = [{"notifier": "email", "to": ["desk@example.org"], "digest": "hourly"}]
    app = make_app(tmp_path, db_url, {"routes": routes}, clock)
    apps.append(app)
    store(app, 1, T0)
    store(app, 2, T0 + timedelta(minutes=1), observations=[sunk(3)])
    store(app, 3, T0 + timedelta(minutes=2))
    clock.at = T0 + timedelta(minutes=3)
    deliver(app)
    email = recorder(app, "email")
    assert email.kinds() == ["figure_change"]
    clock.at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    deliver(app)
    assert email.kinds() == ["figure_change", "digest"]
    digest = email.sent[-1]
    assert digest.channel == "desk@example.org"
    assert [m.title for m in digest.content.digest] == [f"Harbour story {n}" for n in (1, 2, 3)]
    assert digest.content.note == "hourly digest"


def test_each_figure_has_one_slack_thread_whose_first_message_is_edited_with_every_change(
    tmp_path: Path, db_url: str, clock: FakeClock, apps: list[App]
) -> None:
    app = make_app(tmp_path, db_url, {}, clock)
    apps.append(app)
    store(app, 1, T0, observations=[sunk(3)])
    deliver(app)
    slack = recorder(app)
    assert slack.kinds() == ["new_item", "figure_change"]  # no edit: it starts the thread
    parent = slack.sent[1]
    assert parent.thread_id is None

    store(app, 2, T0 + timedelta(minutes=5), observations=[sunk(7)])
    store(app, 3, T0 + timedelta(minutes=9), observations=[sunk(12)])
    clock.at = T0 + timedelta(minutes=10)
    deliver(app)
    later = slack.sent[2:]
    assert [a.kind for a in later] == ["new_item", "figure_change", "dashboard"] * 2
    parent_ts = "2.000100"  # what the recorder answered for the parent
    for alert in later:
        if alert.kind == "figure_change":
            assert alert.thread_id == parent_ts
        if alert.kind == "dashboard":
            assert (alert.thread_id, alert.thread_channel) == (parent_ts, "C0HARBOUR")
    last = later[-1].content.changes[0]
    assert last.observation.value == 12
    assert sorted(k.value for k in last.previous) == [3, 7]


def test_a_follow_up_is_skipped_when_its_story_went_out_in_a_digest(
    tmp_path: Path, db_url: str, clock: FakeClock, apps: list[App]
) -> None:
    app = make_app(tmp_path, db_url, {"noise": {"max_per_hour": 1}}, clock)
    apps.append(app)
    store(app, 1, T0)
    store(app, 2, T0)
    store(app, 3, T0)
    clock.at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    deliver(app)
    store(app, 2, clock.at, outlet="b.example")  # a copy of a story that was rolled up
    deliver(app)
    slack = recorder(app)
    assert slack.kinds() == ["new_item", "digest"]
    [follow_up] = [r for r in rows(app) if r.kind == "follow_up"]
    assert follow_up.state == "skipped" and "digest" in (follow_up.last_error or "")


def test_held_alerts_are_released_once_by_one_of_two_replicas(
    tmp_path: Path, db_url: str, clock: FakeClock, apps: list[App]
) -> None:
    app = make_app(tmp_path, db_url, {"noise": {"max_per_hour": 1}}, clock)
    apps.append(app)
    other = build_app(app.config, environ={})
    other.notifiers = app.notifiers
    other.clock = clock
    apps.append(other)
    for n in range(4):
        store(app, n, T0)
    clock.at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert delivery.release_held(app) + delivery.release_held(other) == 3
    with app.sessions() as session:
        digests = [r for r in session.query(AlertRow) if r.kind == "digest"]
        assert len(digests) == 1
        assert queries.count_alerts(session) == {"pending": 2, "rolled": 3}
