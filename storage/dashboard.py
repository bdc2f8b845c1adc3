"""Read-only queries for the web dashboard (``monitor.web``).

Every list is a page (``limit``/``offset``) and every count or "latest" is computed by the
database, so a page costs the same with a day or a year of history.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from storage.models import (
    AlertRow,
    Feed,
    FigureObservation,
    FigureSeries,
    Item,
    Story,
    UTCDateTime,
)

CHART_POINTS = 500  # newest observations drawn on a figure's chart


@dataclass(frozen=True, slots=True)
class FigureSummary:
    """A figure's series (one per unit) with its latest current estimate."""

    figure: str
    unit: str
    observations: int
    last_seen: datetime | None
    low: float | None
    high: float | None
    qualifier: str | None
    outlet: str | None


@dataclass(frozen=True, slots=True)
class ObservationRow:
    """One stated value of a figure, as the figure page shows it."""

    id: int
    unit: str
    value: float
    low: float
    high: float
    qualifier: str
    attributed_to: str | None
    quote: str
    outlet: str | None
    url: str | None
    title: str | None
    published_at: datetime | None
    first_seen_at: datetime
    increment: bool
    as_of: str | None
    corroborations: int

    @property
    def when(self) -> datetime:
        """The date an estimate is drawn at: when published, else when first seen."""
        return self.published_at or self.first_seen_at


@dataclass(slots=True)
class StoryRow:
    """A recent story with the outlets that reported it, its watchlists and alerts."""

    id: int
    title: str
    first_seen_at: datetime
    url: str | None = None
    outlets: list[str] = field(default_factory=list)
    watchlists: list[str] = field(default_factory=list)
    alerts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FeedRow:
    """A feed's health for the feeds page."""

    feed: Feed
    items: int


def _current() -> Any:
    """Observations that are current estimates: not increments, not dated in the past."""
    obs = FigureObservation
    return and_(obs.increment.is_(False), obs.as_of.is_(None))


def figure_overview(session: Session) -> list[FigureSummary]:
    """Every figure series with its count and its latest current estimate."""
    obs = FigureObservation
    # The newest current observation of each series: one walk down its
    # (series_id, first_seen_at) index, not a ranking of every observation.
    latest_id = (
        select(obs.id)
        .where(obs.series_id == FigureSeries.id, _current())
        .order_by(obs.first_seen_at.desc(), obs.id.desc())
        .limit(1)
        .correlate(FigureSeries)
        .scalar_subquery()
    )
    latest = aliased(FigureObservation, name="latest")
    counts = (
        select(
            obs.series_id,
            func.count().label("n"),
            func.max(obs.first_seen_at).label("last_seen"),
        )
        .group_by(obs.series_id)
        .subquery("counts")
    )
    stmt = (
        select(
            FigureSeries.figure,
            FigureSeries.unit,
            counts.c.n,
            counts.c.last_seen,
            latest.low,
            latest.high,
            latest.qualifier,
            latest.outlet,
        )
        .join(counts, counts.c.series_id == FigureSeries.id)
        .outerjoin(latest, latest.id == latest_id)
        .order_by(FigureSeries.figure, FigureSeries.unit)
    )
    return [
        FigureSummary(
            figure=r.figure,
            unit=r.unit,
            observations=r.n,
            last_seen=_aware(r.last_seen),
            low=r.low,
            high=r.high,
            qualifier=r.qualifier,
            outlet=r.outlet,
        )
        for r in session.execute(stmt)
    ]


def figure_observations(
    session: Session, figure: str, limit: int, offset: int = 0
) -> tuple[list[ObservationRow], int]:
    """A page of a figure's observations, newest first, and how many there are in all.

    ``corroborations``: how many distinct sources (outlet or URL, with who is quoted) stated
    the same range of the same series."""
    obs = FigureObservation
    series = select(FigureSeries.id).where(FigureSeries.figure == figure).scalar_subquery()
    page = session.execute(
        select(obs, FigureSeries.unit)
        .join(FigureSeries, FigureSeries.id == obs.series_id)
        .where(obs.series_id.in_(series))
        .order_by(obs.first_seen_at.desc(), obs.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    counts = _corroborations(session, series, {o.low for o, _ in page}) if page else {}
    rows = [_observation(o, unit, counts.get((o.series_id, o.low, o.high), 1)) for o, unit in page]
    total = session.scalar(select(func.count()).where(obs.series_id.in_(series)))
    return rows, int(total or 0)


def _corroborations(
    session: Session, series: Any, lows: set[float]
) -> dict[tuple[int, float, float], int]:
    """Distinct sources per (series, low, high), counted only for the ranges on one page:
    counting them for every range of a long series cost more than the page itself."""
    obs = FigureObservation
    source = func.coalesce(func.nullif(obs.outlet, ""), func.nullif(obs.url, ""), "")
    who = func.coalesce(obs.attributed_to, "")
    sources = (
        select(obs.series_id, obs.low, obs.high, source.label("source"), who.label("who"))
        .where(obs.series_id.in_(series), obs.low.in_(lows))
        .distinct()
        .subquery("sources")
    )
    rows = session.execute(
        select(sources.c.series_id, sources.c.low, sources.c.high, func.count()).group_by(
            sources.c.series_id, sources.c.low, sources.c.high
        )
    )
    return {(sid, low, high): n for sid, low, high, n in rows}


def _observation(o: FigureObservation, unit: str, corroborations: int) -> ObservationRow:
    return ObservationRow(
        id=o.id,
        unit=unit,
        value=o.value,
        low=o.low,
        high=o.high,
        qualifier=o.qualifier,
        attributed_to=o.attributed_to,
        quote=o.quote,
        outlet=o.outlet,
        url=o.url,
        title=o.title,
        published_at=o.published_at,
        first_seen_at=o.first_seen_at,
        increment=o.increment,
        as_of=o.as_of,
        corroborations=corroborations,
    )


def recent_stories(session: Session, limit: int, offset: int = 0) -> tuple[list[StoryRow], int]:
    """A page of stories, newest first, with their outlets, watchlists and alert states."""
    page = session.execute(
        select(Story.id, Story.title, Story.first_seen_at)
        .order_by(Story.id.desc())  # ids grow as stories are stored: the PK serves it
        .limit(limit)
        .offset(offset)
    ).all()
    stories = {r.id: StoryRow(r.id, r.title, r.first_seen_at) for r in page}
    if stories:
        _add_items(session, stories)
        _add_alerts(session, stories)
    total = session.scalar(select(func.count()).select_from(Story))
    return list(stories.values()), int(total or 0)


def _add_items(session: Session, stories: dict[int, StoryRow]) -> None:
    rows = session.execute(
        select(Item.story_id, Item.outlet, Item.url, Item.matched)
        .where(Item.story_id.in_(stories))
        .order_by(Item.first_seen_at, Item.id)
    )
    for story_id, outlet, url, matched in rows:
        story = stories[story_id]
        story.url = story.url or url
        if outlet and outlet not in story.outlets:
            story.outlets.append(outlet)
        for name in matched or ():
            if name not in story.watchlists:
                story.watchlists.append(name)


def _add_alerts(session: Session, stories: dict[int, StoryRow]) -> None:
    rows = session.execute(
        select(AlertRow.story_id, AlertRow.state, func.count())
        .where(AlertRow.story_id.in_(stories))
        .group_by(AlertRow.story_id, AlertRow.state)
    )
    for story_id, state, n in rows:
        if story_id is not None:
            stories[story_id].alerts[state] = n


def alerts_page(
    session: Session, limit: int, offset: int = 0, state: str | None = None
) -> tuple[list[AlertRow], int]:
    """A page of alerts, newest first, optionally in one state, and how many match."""
    where = [AlertRow.state == state] if state else []
    stmt = (
        select(AlertRow)
        .where(*where)
        .order_by(AlertRow.id.desc())  # ids grow as alerts are planned: the PK serves it
        .limit(limit)
        .offset(offset)
    )
    total = session.scalar(select(func.count()).select_from(AlertRow).where(*where))
    return list(session.scalars(stmt)), int(total or 0)


def alert_states(session: Session) -> dict[str, int]:
    """How many alerts are in each delivery state."""
    rows = session.execute(select(AlertRow.state, func.count()).group_by(AlertRow.state))
    return {state: n for state, n in rows}


def feed_health(session: Session) -> list[FeedRow]:
    """Every feed with its stored item count, failing ones first."""
    counts = select(Item.feed_id, func.count().label("n")).group_by(Item.feed_id).subquery("counts")
    stmt = (
        select(Feed, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.feed_id == Feed.id)
        .order_by(Feed.consecutive_failures.desc(), Feed.name, Feed.url)
    )
    return [FeedRow(feed, int(n)) for feed, n in session.execute(stmt)]


def _aware(value: Any) -> datetime | None:
    """An aggregate (``max``) skips the column type: SQLite returns a naive string."""
    if value is None or isinstance(value, datetime):
        return value
    return UTCDateTime().process_result_value(value, None)  # type: ignore[arg-type]


def group_by_unit(rows: list[ObservationRow]) -> dict[str, list[ObservationRow]]:
    """Observations split by unit, each series drawn on its own chart."""
    out: dict[str, list[ObservationRow]] = defaultdict(list)
    for row in rows:
        out[row.unit].append(row)
    return dict(out)
