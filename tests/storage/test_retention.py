"""Retention on SQLite and PostgreSQL: old items lose their text (their identity stays, as a
tombstone, while a feed carries them), delivered alerts go, figure history stays."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from monitor.config.load import load_config
from monitor.runtime.app import build_app
from monitor.service.runner import Service
from storage import queries
from storage.db import make_engine, sessions, upgrade
from storage.models import AlertRow, FigureObservation, FigureSeries, Item, Story

NOW = datetime.now(UTC)
DAY = timedelta(days=1)


def seed(engine: Engine) -> None:
    """An old and a recent item; an observation from the old one; alerts in each state."""
    with sessions(engine).begin() as session:
        story = Story(title="story", first_seen_at=NOW - 100 * DAY)
        series = FigureSeries(figure="nk_killed", unit="people")
        session.add_all([story, series])
        session.flush()
        old = item(story.id, "old", NOW - 100 * DAY)
        recent = item(story.id, "recent", NOW - DAY)
        session.add_all([old, recent])
        session.flush()
        session.add(observation(series.id, old.id))
        session.add_all(
            [
                alert("sent-old", old.id, "sent", NOW - 40 * DAY),
                alert("pending-old", old.id, "pending", None),
                alert("failed-old", old.id, "failed", None),
                alert("sent-recent", recent.id, "sent", NOW - DAY),
            ]
        )


def item(story_id: int, key: str, seen: datetime) -> Item:
    return Item(
        story_id=story_id, url_key=key, content_hash=key, text_hash=key, title=key,
        summary="", text="", first_seen_at=seen, matched=[],
    )  # fmt: skip


def observation(series_id: int, item_id: int) -> FigureObservation:
    return FigureObservation(
        series_id=series_id, item_id=item_id, watchlist="casualty-figures", value=3000,
        low=3000, high=3000, qualifier="at_least", quote="at least 3,000", increment=False,
        first_seen_at=NOW - 100 * DAY, changed=True,
    )  # fmt: skip


def alert(key: str, item_id: int, state: str, sent_at: datetime | None) -> AlertRow:
    return AlertRow(
        dedup_key=key, kind="new_item", notifier="console", watchlists=["a"], item_id=item_id,
        content={}, state=state, attempts=1, created_at=NOW - 40 * DAY,
        next_attempt_at=NOW - 40 * DAY, sent_at=sent_at,
    )  # fmt: skip


def remaining(session: Session) -> tuple[list[str], list[str], list[int | None]]:
    """The items (a tombstone marked with a †), the alerts, the observations' item links."""
    items = session.execute(select(Item.url_key, Item.pruned_at).order_by(Item.id)).all()
    alerts = list(session.scalars(select(AlertRow.dedup_key).order_by(AlertRow.id)))
    observations = list(session.scalars(select(FigureObservation.item_id)))
    return [(k or "") + ("†" if pruned else "") for k, pruned in items], alerts, observations


def test_prune_keeps_old_items_as_tombstones_drops_delivered_alerts_keeps_figure_history(
    db_url: str,
) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    seed(engine)
    with sessions(engine).begin() as session:
        assert queries.prune(session, NOW - 90 * DAY, NOW - 30 * DAY, NOW) == (1, 1)
    with sessions(engine)() as session:
        items, alerts, observations = remaining(session)
        assert items == ["old†", "recent"]
        assert session.scalar(select(Item.text).where(Item.url_key == "old")) == ""
        # Undelivered alerts are never pruned, whatever their age.
        assert alerts == ["pending-old", "failed-old", "sent-recent"]
        assert observations == [1]  # the history stays, linked to the tombstone
        assert session.scalar(select(FigureSeries.figure)) == "nk_killed"
        assert session.scalar(select(FigureObservation.low)) == 3000
    # No feed carries the tombstone (it has none): it goes a grace period later, and with
    # it the links to it; the history stays.
    with sessions(engine).begin() as session:
        assert queries.drop_tombstones(session, NOW) == 0
        assert queries.drop_tombstones(session, NOW + queries.TOMBSTONE_GRACE * 2) == 1
    with sessions(engine)() as session:
        assert remaining(session) == (
            ["recent"],
            ["pending-old", "failed-old", "sent-recent"],
            [None],
        )
    engine.dispose()


def test_the_service_retention_job_prunes_after_the_configured_age(
    db_url: str, tmp_path: Path
) -> None:
    (tmp_path / "watchlists").mkdir()
    (tmp_path / "watchlists" / "a.yaml").write_text(
        "name: a\ndescription: t\nterms:\n  x: [Aardvark]\nmatch:\n  all_of: [x]\n"
        "alerts: [new_item]\nroutes:\n  - {notifier: console}\n"
    )
    config = {
        "database": {"url": db_url},
        "watchlists": str(tmp_path / "watchlists"),
        "retention": {"items": "2d", "alerts": "2h"},
        "notifiers": {"console": {}},
        "http": {"listen": None},
    }
    (tmp_path / "newsmon.yaml").write_text(yaml.safe_dump(config))
    app = build_app(load_config(str(tmp_path / "newsmon.yaml")))
    seed(app.engine)
    asyncio.run(Service(app)._retention())
    with app.sessions() as session:
        items, alerts, observations = remaining(session)
    app.engine.dispose()
    # "recent" is 1 day old, kept for 2; "old" lost its text, its tombstone goes a grace
    # period after no feed carried it.
    assert items == ["old†", "recent"]
    assert alerts == ["pending-old", "failed-old"]  # sent a day ago: older than 2 hours
    assert observations == [1]
