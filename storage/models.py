"""SQLAlchemy tables. Deduplication and leasing are enforced here, by constraints.

- ``items``: one row per stored entry; ``url_key`` (canonical URL), ``guid_key`` (feed +
  GUID) and ``content_hash`` (outlet + text) are each UNIQUE, so the same entry seen twice,
  through two feeds or through a tracking URL is stored once whichever replica sees it first.
  Retention keeps an old item's row as a tombstone (``pruned_at``, text dropped) while a
  feed still carries it, so a story already stored is never new again.
- ``stories``: entries that are the same news, each with the MinHash sketch of its first
  text; ``story_bands`` holds the sketch's LSH band keys (``monitor.identity.sketch``), so a
  syndicated copy (same text, small edits) finds its story with one bounded indexed query.
- ``alerts``: the outbox. ``dedup_key`` is UNIQUE: one new_item alert per story and
  channel, one figure_change alert per item and channel, however often it is computed.
- ``threads``: one per (notifier, channel, key): the message later alerts reply to.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        parsed: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Feed(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    name: Mapped[str | None] = mapped_column(String(300))
    fetch_url: Mapped[str | None] = mapped_column(String(2048))  # after a permanent redirect
    interval_seconds: Mapped[float] = mapped_column(Float, default=900.0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    etag: Mapped[str | None] = mapped_column(String(1024))
    last_modified: Mapped[str | None] = mapped_column(String(200))
    body_hash: Mapped[str | None] = mapped_column(String(64))
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    gone: Mapped[bool] = mapped_column(Boolean, default=False)
    next_poll_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    polls: Mapped[int] = mapped_column(Integer, default=0)
    # Entries stored as old news (published before alerts.max_age, or undated on the
    # first poll): history, not alerts.
    baseline_entries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # When a poll last read the feed's entries (a changed body): a tombstone of this feed
    # not carried then is dropped by retention.
    parsed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Seconds the server asked between polls at its last full response (<ttl>, max-age):
    # a 304 carries no body, so without this it would forget the feed's <ttl>.
    server_interval: Mapped[float | None] = mapped_column(Float)


class Story(Base):
    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # monitor.identity.sketch.pack_sketch of the first text (None: too short for a sketch); read
    # only for the few candidates a band lookup returns, to verify their similarity.
    sketch: Mapped[bytes | None] = mapped_column(LargeBinary)


class StoryBand(Base):
    """LSH band keys of a story's sketch: the primary key (band, story_id) is the index a
    lookup reads the newest stories of each band from.

    No foreign key: this is an index of ``stories``, not data. A key per row would make
    SQLite and PostgreSQL check every insert against ``stories`` and scan this table for
    every deleted story; ``delete_story`` removes a story's bands by their keys instead.
    """

    __tablename__ = "story_bands"
    # One B-tree on SQLite, not rows plus a key index (migration 0005).
    __table_args__ = ({"sqlite_with_rowid": False},)

    band: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    story_id: Mapped[int] = mapped_column(Integer, primary_key=True)


class Item(Base):
    __tablename__ = "items"
    # A feed's newest item (how long it has been quiet, asked after every poll) without
    # scanning every recent item of every feed.
    __table_args__ = (Index("ix_items_feed_seen", "feed_id", "first_seen_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"))
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    guid_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    url_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # hash(outlet + normalised text): the same entry again from the same outlet, under any
    # URL or GUID. Another outlet's identical copy is stored and linked to the story instead.
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    text_hash: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str | None] = mapped_column(String(2048))
    canonical_url: Mapped[str | None] = mapped_column(String(2048))
    outlet: Mapped[str | None] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(String(300))
    language: Mapped[str | None] = mapped_column(String(8))  # ISO 639-1: declared, else read
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    matched: Mapped[list[str]] = mapped_column(JSON, default=list)
    # A tombstone: retention dropped the text (``pruned_at``) but keeps the row, so its
    # GUID, URL and content keys still say the entry is known, as long as a feed carries
    # it (``seen_at``: when a parsed poll last did).
    pruned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FigureSeries(Base):
    """One row per (figure, unit): the lock point for comparing a new value with history."""

    __tablename__ = "figure_series"
    __table_args__ = (UniqueConstraint("figure", "unit"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    figure: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(50))


class FigureObservation(Base):
    __tablename__ = "observations"
    __table_args__ = (
        UniqueConstraint("item_id", "series_id", "low", "high"),
        Index("ix_observations_series_seen", "series_id", "first_seen_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("figure_series.id"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    watchlist: Mapped[str] = mapped_column(String(200))
    value: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    qualifier: Mapped[str] = mapped_column(String(20))
    attributed_to: Mapped[str | None] = mapped_column(Text)
    quote: Mapped[str] = mapped_column(Text)
    increment: Mapped[bool] = mapped_column(Boolean, default=False)
    as_of: Mapped[str | None] = mapped_column(String(10))
    url: Mapped[str | None] = mapped_column(String(2048))
    outlet: Mapped[str | None] = mapped_column(String(300))
    title: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed: Mapped[bool] = mapped_column(Boolean, default=False)


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_state_next", "state", "next_attempt_at"),
        Index("ix_alerts_channel_created", "notifier", "channel", "created_at"),
        Index("ix_alerts_story", "story_id"),  # a story's alerts (dashboard, backtest)
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    notifier: Mapped[str] = mapped_column(String(50))
    channel: Mapped[str | None] = mapped_column(String(1000))
    watchlists: Mapped[list[str]] = mapped_column(JSON)
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remote_id: Mapped[str | None] = mapped_column(String(200))
    # The conversation this alert belongs to in its channel ("story:12"): the first alert
    # sent under a key starts the thread (a ``threads`` row), later ones reply in it.
    thread_key: Mapped[str | None] = mapped_column(String(200))
    # A held alert (state "held") waits until ``next_attempt_at`` for this reason (digest,
    # quiet_hours, cooldown); the note tells readers of the digest why. When released with
    # others it is rolled into a digest alert: state "rolled", ``rolled_into`` its id.
    hold_reason: Mapped[str | None] = mapped_column(String(20))
    hold_note: Mapped[str | None] = mapped_column(Text)
    rolled_into: Mapped[int | None] = mapped_column(Integer)  # no FK: digests are pruned


class Thread(Base):
    """A conversation newsmon started in a channel: a story's first alert, whose message
    (``remote_channel`` + ``ts`` on Slack) later alerts about the same story reply to."""

    __tablename__ = "threads"
    __table_args__ = (UniqueConstraint("notifier", "channel", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notifier: Mapped[str] = mapped_column(String(50))
    channel: Mapped[str] = mapped_column(String(1000))
    key: Mapped[str] = mapped_column(String(200))
    ts: Mapped[str] = mapped_column(String(200))
    remote_channel: Mapped[str | None] = mapped_column(String(200))  # Slack's channel id
    parent_alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
