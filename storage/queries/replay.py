"""What ``newsmon backtest`` replays: the stored stories of a window with what was done
with them, and the figure values known before it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.domain.model import KnownValue, StoredStory
from storage.models import AlertRow, Feed, FigureObservation, FigureSeries, Item

Series = tuple[str, str]  # (figure, unit)


def load_stories(
    session: Session, since: datetime, watchlist: str | None = None
) -> list[StoredStory]:
    """The first stored copy of every story first seen since ``since`` that still has its
    text (retention keeps only the identity of older entries). With ``watchlist``, what
    was done is what was done for that watchlist."""
    rows = session.execute(
        select(Item, Feed.url)
        .outerjoin(Feed, Feed.id == Item.feed_id)
        .where(Item.first_seen_at >= since, Item.pruned_at.is_(None))
        .order_by(Item.first_seen_at, Item.id)
    ).all()
    first: dict[int, Item] = {}
    feed_urls: dict[int, str | None] = {}
    for item, feed_url in rows:
        if item.story_id not in first:
            first[item.story_id] = item
            feed_urls[item.story_id] = feed_url
    ids = list(first)
    alerts: dict[int, set[str]] = defaultdict(set)
    figures: dict[int, set[str]] = defaultdict(set)
    for chunk in _chunks(ids):
        for story_id, kind, names in session.execute(
            select(AlertRow.story_id, AlertRow.kind, AlertRow.watchlists).where(
                AlertRow.story_id.in_(chunk)
            )
        ):
            if story_id is not None and watchlist in (None, *names):
                alerts[story_id].add(kind)
        item_ids = [first[i].id for i in chunk]
        for item_id, name, owner in session.execute(
            select(FigureObservation.item_id, FigureSeries.figure, FigureObservation.watchlist)
            .join(FigureSeries, FigureSeries.id == FigureObservation.series_id)
            .where(FigureObservation.item_id.in_(item_ids))
        ):
            if item_id is not None and watchlist in (None, owner):
                figures[item_id].add(name)
    return [
        StoredStory(
            story_id=story_id,
            feed_url=feed_urls[story_id],
            title=item.title,
            text=item.text or item.summary,
            url=item.url,
            outlet=item.outlet,
            published_at=item.published_at,
            first_seen_at=item.first_seen_at,
            matched=tuple(m for m in item.matched or () if watchlist in (None, m)),
            figures=tuple(sorted(figures[item.id])),
            alerts=tuple(sorted(alerts[story_id])),
        )
        for story_id, item in first.items()
    ]


def load_known(session: Session, before: datetime) -> dict[Series, list[KnownValue]]:
    """Every figure value stored before the window: what the first replayed value meets."""
    rows = session.execute(
        select(FigureSeries.figure, FigureSeries.unit, FigureObservation)
        .join(FigureSeries, FigureSeries.id == FigureObservation.series_id)
        .where(FigureObservation.first_seen_at < before)
    )
    known: dict[Series, list[KnownValue]] = defaultdict(list)
    for figure, unit, o in rows:
        known[(figure, unit)].append(
            KnownValue(
                low=o.low,
                high=o.high,
                value=o.value,
                qualifier=o.qualifier,
                attributed_to=o.attributed_to,
                outlet=o.outlet,
                url=o.url,
                published_at=o.published_at,
                first_seen_at=o.first_seen_at,
            )
        )
    return known


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
