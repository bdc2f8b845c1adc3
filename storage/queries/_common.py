"""Helpers shared by the query modules: dialect-specific statements and tables."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from sqlalchemy import Select, Table, and_, bindparam, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import AlertRow, Base, FigureObservation, FigureSeries, Item, Story


def _insert(session: Session, table: Any) -> Any:
    """A dialect-specific INSERT that supports ``on_conflict_do_nothing``."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@dataclass(frozen=True)
class _Statements:
    """Statements of the per-entry hot path, built once per dialect: executed with
    parameters on the session's connection they skip the ORM and reuse their compiled
    form (building a statement per call cost more than running it)."""

    insert_item: Any
    story_with_text: Any
    insert_story: Any
    insert_series: Any
    lock_series: Any
    known_values: Any
    insert_observation: Any
    insert_alert: Any


@cache
def _statements_for(dialect: str) -> _Statements:
    dml = postgresql if dialect == "postgresql" else sqlite
    items, stories = _table(Item), _table(Story)
    series, obs, alerts = _table(FigureSeries), _table(FigureObservation), _table(AlertRow)
    lock = select(series.c.id).where(
        series.c.figure == bindparam("figure"), series.c.unit == bindparam("unit")
    )
    return _Statements(
        insert_item=dml.insert(items).on_conflict_do_nothing().returning(items.c.id),
        story_with_text=select(items.c.story_id)
        .where(items.c.text_hash == bindparam("text_hash"))
        .limit(1),
        insert_story=insert(stories).returning(stories.c.id),
        insert_series=dml.insert(series).on_conflict_do_nothing(),
        lock_series=lock.with_for_update() if dialect == "postgresql" else lock,
        known_values=_known_values(obs),
        insert_observation=dml.insert(obs).on_conflict_do_nothing().returning(obs.c.id),
        insert_alert=dml.insert(alerts)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(alerts.c.id),
    )


def _known_values(obs: Table) -> Select[Any]:
    """Per distinct (low, high) of a series' current estimates: its latest observation and
    how many distinct sources (outlet, else URL; with who is quoted) stated it.

    Grouped by the database: a series keeps every observation, so reading them all into
    Python for each new one made a series' n-th observation cost O(n) in Python."""
    current = and_(
        obs.c.series_id == bindparam("series_id"),
        obs.c.increment.is_(False),  # additions, not totals
        obs.c.as_of.is_(None),  # history the article dated in the past
    )
    newest_first = (obs.c.first_seen_at.desc(), obs.c.id.desc())
    rank = func.row_number().over(partition_by=(obs.c.low, obs.c.high), order_by=newest_first)
    latest = (
        select(
            obs.c.id,
            obs.c.low,
            obs.c.high,
            obs.c.value,
            obs.c.qualifier,
            obs.c.attributed_to,
            obs.c.outlet,
            obs.c.url,
            obs.c.published_at,
            obs.c.first_seen_at,
            rank.label("rank"),
        )
        .where(current)
        .subquery("latest")
    )
    source = func.coalesce(func.nullif(obs.c.outlet, ""), func.nullif(obs.c.url, ""), "")
    who = func.coalesce(obs.c.attributed_to, "")
    sources = (
        select(obs.c.low, obs.c.high, source.label("source"), who.label("who"))
        .where(current)
        .distinct()
        .subquery("sources")
    )
    counts = (
        select(sources.c.low, sources.c.high, func.count().label("corroborations"))
        .group_by(sources.c.low, sources.c.high)
        .subquery("counts")
    )
    return (
        select(*(c for c in latest.c if c.name not in ("id", "rank")), counts.c.corroborations)
        .join_from(
            latest, counts, and_(latest.c.low == counts.c.low, latest.c.high == counts.c.high)
        )
        .where(latest.c.rank == 1)
        .order_by(latest.c.first_seen_at.desc(), latest.c.id.desc())
    )


def _table(model: type[Base]) -> Table:
    """A model's Table, for Core statements: no ORM unit of work, and run as executemany
    (an ORM UPDATE given a list of parameters would be a bulk update by primary key,
    without our lease condition)."""
    return cast(Table, model.__table__)


def _statements(session: Session) -> _Statements:
    return _statements_for(session.get_bind().dialect.name)


def _skip_locked(session: Session, stmt: Select[Any]) -> Select[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=True)
    return stmt
