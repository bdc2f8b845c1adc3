"""Figures: series, their known values and the observations recorded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.domain.model import KnownValue, Observation
from storage.models import FigureObservation, FigureSeries
from storage.queries._common import _statements


def lock_series(session: Session, figure: str, unit: str) -> int:
    """The id of the (figure, unit) series, created if new and locked for this transaction."""
    conn, stmts = session.connection(), _statements(session)
    params = {"figure": figure, "unit": unit}
    conn.execute(stmts.insert_series, params)
    return int(conn.execute(stmts.lock_series, params).scalar_one())


def known_values(session: Session, series_id: int) -> list[KnownValue]:
    """Distinct current values of a series, latest first, with corroborations.

    Increments and values their article dated in the past are stored but are not current
    estimates, so a new value is compared with these only."""
    stmt = _statements(session).known_values
    rows = session.connection().execute(stmt, {"series_id": series_id})
    return [KnownValue(**row._mapping) for row in rows]


def add_observation(
    session: Session,
    *,
    series_id: int,
    item_id: int | None,
    obs: Observation,
    url: str | None,
    outlet: str | None,
    title: str | None,
    published_at: datetime | None,
    now: datetime,
    changed: bool,
) -> bool:
    """Store one observation; False if this item already stated this value."""
    values = {
        "series_id": series_id,
        "item_id": item_id,
        "watchlist": obs.watchlist,
        "value": obs.value,
        "low": obs.low,
        "high": obs.high,
        "qualifier": obs.qualifier,
        "attributed_to": obs.attributed_to,
        "quote": obs.quote,
        "increment": obs.increment,
        "as_of": obs.as_of.isoformat() if obs.as_of else None,
        "url": url,
        "outlet": outlet,
        "title": title,
        "published_at": published_at,
        "first_seen_at": now,
        "changed": changed,
    }
    stmt = _statements(session).insert_observation
    return session.connection().execute(stmt, values).scalar_one_or_none() is not None


def list_observations(
    session: Session, figure: str | None = None
) -> list[tuple[FigureObservation, FigureSeries]]:
    stmt = (
        select(FigureObservation, FigureSeries)
        .join(FigureSeries, FigureSeries.id == FigureObservation.series_id)
        .order_by(
            FigureSeries.figure,
            FigureObservation.first_seen_at.desc(),
            FigureObservation.id.desc(),
        )
    )
    if figure:
        stmt = stmt.where(FigureSeries.figure == figure)
    return [(obs, series) for obs, series in session.execute(stmt).all()]
