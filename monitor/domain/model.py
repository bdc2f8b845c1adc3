"""Domain types shared by every layer.

Names have one meaning each: a *feed* is a source, an *entry* one item read from a feed,
a *story* the entries that are the same news, a *watchlist* one YAML file, a *match* a
watchlist that fits a story, a *figure* a tracked quantity and an *observation* one stated
value of it, an *alert* what a notifier delivers.

``storage/`` and ``notifiers/`` import only this module and ``monitor.domain.errors``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any, Literal

Qualifier = Literal["exact", "at_least", "over", "about", "up_to", "nearly", "under"]


# Watchlists ask for the user-facing ALERT_KINDS only; the others are made by newsmon:
# - ``follow_up``: a syndicated copy of an alerted story, a reply in the story's thread;
# - ``dashboard``: an edit (Slack ``chat.update``) of the message that started a figure's
#   thread, so it always shows the current range of estimates;
# - ``digest``: one message rolling up alerts that were held (over a watchlist's hourly
#   limit, during its quiet hours, or for a route's hourly/daily digest).
class AlertKind(StrEnum):
    """What an alert is about; its value is what the database and JSON hold."""

    NEW_ITEM = "new_item"
    FIGURE_CHANGE = "figure_change"
    FOLLOW_UP = "follow_up"
    DASHBOARD = "dashboard"
    DIGEST = "digest"


ALERT_KINDS: tuple[AlertKind, ...] = (AlertKind.NEW_ITEM, AlertKind.FIGURE_CHANGE)


# ``held``: waiting for its release time (quiet hours, cooldown, digest); ``rolled``: held,
# then delivered as part of a digest alert; ``skipped``: nothing to deliver (e.g. a dashboard
# edit for a thread that was never started), with the reason in ``last_error``.
class AlertState(StrEnum):
    """Where an alert is in the outbox; its value is what the database holds."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    HELD = "held"
    ROLLED = "rolled"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Entry:
    """One item read from a feed, reduced to plain text."""

    feed_url: str
    guid: str | None
    url: str | None
    title: str
    summary: str
    content: str = ""
    published_at: datetime | None = None
    author: str | None = None
    language: str | None = None  # as the feed declares it (<language>, xml:lang), if it does

    @property
    def text(self) -> str:
        """The longest body the feed carried: full content if any, else the summary."""
        return self.content if len(self.content) >= len(self.summary) else self.summary


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What a feed body yielded. ``error`` is feedparser's bozo message when it had one."""

    title: str | None
    link: str | None
    entries: list[Entry]
    error: str | None = None
    ttl_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """The text newsmon matches and extracts figures from: a title and a body."""

    title: str
    text: str
    url: str | None = None
    outlet: str | None = None
    published_at: datetime | None = None
    language: str | None = None  # ISO 639-1 when known (the feed's, the page's); else read

    @property
    def full_text(self) -> str:
        return f"{self.title}\n\n{self.text}" if self.title else self.text


DigestPeriod = Literal["hourly", "daily"]


@dataclass(frozen=True, slots=True)
class Route:
    """Where a watchlist's alerts go: a notifier name and, for Slack, a channel.

    With ``digest``, alerts of ``digest_kinds`` are held and sent as one digest per period:
    at the top of each hour, or daily at ``digest_at`` in ``timezone``.
    """

    notifier: str
    channel: str | None = None
    to: tuple[str, ...] = ()
    digest: DigestPeriod | None = None
    digest_kinds: tuple[AlertKind, ...] = (AlertKind.NEW_ITEM,)
    digest_at: time = time(8, 0)
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window (``start``–``end`` in ``timezone``; may span midnight) in which the
    watchlist's alerts of ``kinds`` are held, then sent as one roll-up when it ends."""

    start: time
    end: time
    timezone: str = "UTC"
    kinds: tuple[AlertKind, ...] = (AlertKind.NEW_ITEM, AlertKind.FIGURE_CHANGE)


@dataclass(frozen=True, slots=True)
class Noise:
    """A watchlist's noise control.

    - ``max_per_hour``: at most this many new_item alerts per channel and clock hour; the
      rest are held and rolled into one digest at the end of the hour.
    - ``quiet_hours``: see :class:`QuietHours`.
    - ``min_outlets``: a story's new_item alert waits until this many different outlets
      carry it.
    """

    max_per_hour: int | None = None
    quiet_hours: QuietHours | None = None
    min_outlets: int = 1


@dataclass(frozen=True, slots=True)
class FigureSpec:
    """A tracked figure as a watchlist defines it (vocabulary is data, not code).

    A number is this figure when, in the same sentence or clause, one of ``cues`` says
    what happened (killed, sent, supplied) and one of ``subjects`` says to whom
    (North Korean, DPRK). ``units`` are the nouns counted (soldiers, troops); ``unit`` is
    the unit stored for plain counts. ``tolerance`` is the relative difference under which
    a new value counts as the same as a stored one.
    """

    name: str
    watchlist: str
    unit: str
    cues: tuple[str, ...]
    subjects: tuple[str, ...]
    units: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    percent: bool = True
    money: bool = False
    tolerance: float = 0.0
    # the same figure's words in other languages: (language code, its words), sorted
    languages: tuple[tuple[str, FigureWords], ...] = ()

    def words(self, language: str) -> FigureWords | None:
        """The figure's cues, subjects and counted nouns in ``language``, if it has any."""
        return next((w for code, w in self.languages if code == language), None)


# The languages newsmon reads figures in, and the names alerts give them.
LANGUAGE_NAMES = {
    "en": "English",
    "de": "German",
    "es": "Spanish",
    "fr": "French",
    "ko": "Korean",
    "ru": "Russian",
    "uk": "Ukrainian",
}


@dataclass(frozen=True, slots=True)
class FigureWords:
    """A figure's vocabulary in one language other than English (a watchlist's
    ``languages:`` block). A word ending in ``*`` is a stem: it matches any ending."""

    cues: tuple[str, ...]
    subjects: tuple[str, ...] = ()
    units: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Match:
    """A watchlist that fits a story, with the terms (as written in the text) that matched."""

    watchlist: str
    matched_terms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Observation:
    """One stated value of a figure, as read from a text.

    ``value`` is the point value (midpoint of a range); ``low``/``high`` the range.
    ``increment`` marks "another 3,000": an addition, not a new total. ``as_of`` is set
    when the text itself dates the value in the past; such values are history, not news.
    """

    figure: str
    watchlist: str
    value: float
    low: float
    high: float
    unit: str
    qualifier: Qualifier
    attributed_to: str | None
    quote: str
    increment: bool = False
    as_of: date | None = None
    language: str | None = None  # the quote's language when read from a non-English text

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat() if self.as_of else None
        return data


@dataclass(frozen=True, slots=True)
class KnownValue:
    """A value already stored for a figure, with where it came from."""

    low: float
    high: float
    value: float
    qualifier: str
    attributed_to: str | None
    outlet: str | None
    url: str | None
    published_at: datetime | None
    first_seen_at: datetime
    corroborations: int = 1


@dataclass(frozen=True, slots=True)
class FigureChange:
    """A new value of a figure that differs from every value stored for it."""

    observation: Observation
    previous: tuple[KnownValue, ...]  # latest first
    spread: str | None = None  # e.g. "KCNA says 9, Kyiv says 4,000" when sources disagree widely


@dataclass(slots=True)
class AlertContent:
    """Everything a notifier needs to render an alert; stored as JSON with the alert."""

    kind: AlertKind
    watchlists: list[str]
    title: str
    url: str | None
    outlet: str | None
    published_at: datetime | None
    matched_terms: list[str] = field(default_factory=list)
    summary: str = ""
    changes: list[FigureChange] = field(default_factory=list)
    also_reported_by: list[str] = field(default_factory=list)
    # digest only: the held alerts it rolls up (new_item / figure_change contents, oldest
    # first) and why they were held, e.g. "held during quiet hours (22:00–07:00 Europe/Kyiv)".
    digest: list[AlertContent] = field(default_factory=list)
    note: str = ""


@dataclass(frozen=True, slots=True)
class HeldAlert:
    """A held alert as the release step sees it (quiet hours, cooldown, digest)."""

    id: int
    kind: AlertKind
    notifier: str
    channel: str | None
    reason: str
    note: str
    until: datetime
    content: AlertContent


@dataclass(frozen=True, slots=True)
class ClaimedAlert:
    """An alert's outbox row as this replica claimed it to send (``content`` as stored by
    ``content_to_json``). ``resumed``: it was in ``sending`` with its lease run out, so an
    earlier attempt may have sent it and the channel is asked first."""

    id: int
    kind: AlertKind
    notifier: str
    channel: str | None
    content: dict[str, Any]
    state: AlertState
    attempts: int
    created_at: datetime
    thread_key: str | None
    item_id: int | None
    resumed: bool = False


@dataclass(slots=True)
class Alert:
    """An alert as the outbox holds it."""

    id: int
    kind: AlertKind
    notifier: str
    channel: str | None
    content: AlertContent
    state: AlertState = AlertState.PENDING
    attempts: int = 0
    created_at: datetime | None = None
    thread_id: str | None = None  # reply in this thread (Slack: the parent message's ts)
    # the channel's own id for that thread's channel, as the notifier reported it when it
    # started the thread (Slack: "C0123"); a dashboard edit needs it (chat.update)
    thread_channel: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a notifier reports after sending: the channel's own id for the message, if any."""

    remote_id: str | None = None
    thread_id: str | None = None
    remote_channel: str | None = None  # the channel's own id (Slack: "C0123"), if known


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def content_to_json(content: AlertContent) -> dict[str, Any]:
    """Serialise alert content for the outbox (JSON column)."""
    data: dict[str, Any] = {
        "kind": content.kind,
        "watchlists": list(content.watchlists),
        "title": content.title,
        "url": content.url,
        "outlet": content.outlet,
        "published_at": _iso(content.published_at),
        "matched_terms": list(content.matched_terms),
        "summary": content.summary,
        "also_reported_by": list(content.also_reported_by),
        "changes": [
            {
                "observation": change.observation.to_json(),
                "previous": [
                    {
                        **asdict(known),
                        "published_at": _iso(known.published_at),
                        "first_seen_at": _iso(known.first_seen_at),
                    }
                    for known in change.previous
                ],
                "spread": change.spread,
            }
            for change in content.changes
        ],
    }
    if content.digest:
        data["digest"] = [content_to_json(member) for member in content.digest]
    if content.note:
        data["note"] = content.note
    return data


def content_from_json(data: dict[str, Any]) -> AlertContent:
    """Inverse of :func:`content_to_json`."""
    changes = []
    for raw in data.get("changes", []):
        obs = dict(raw["observation"])
        obs["as_of"] = date.fromisoformat(obs["as_of"]) if obs.get("as_of") else None
        previous = tuple(
            KnownValue(
                **{
                    **known,
                    "published_at": _dt(known.get("published_at")),
                    "first_seen_at": _dt(known["first_seen_at"]),
                }
            )
            for known in raw.get("previous", [])
        )
        changes.append(FigureChange(Observation(**obs), previous, raw.get("spread")))
    return AlertContent(
        kind=data["kind"],
        watchlists=list(data["watchlists"]),
        title=data["title"],
        url=data.get("url"),
        outlet=data.get("outlet"),
        published_at=_dt(data.get("published_at")),
        matched_terms=list(data.get("matched_terms", [])),
        summary=data.get("summary", ""),
        changes=changes,
        also_reported_by=list(data.get("also_reported_by", [])),
        digest=[content_from_json(member) for member in data.get("digest", [])],
        note=data.get("note", ""),
    )


@dataclass(frozen=True, slots=True)
class ClaimedFeed:
    """A feed this replica holds the lease of, as the poll reads it (a snapshot of its row)."""

    id: int
    url: str
    name: str | None
    fetch_url: str | None  # after a permanent redirect
    interval_seconds: float
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    last_success_at: datetime | None
    consecutive_failures: int
    server_interval: float | None


@dataclass(frozen=True)
class StoredStory:
    """A story's first stored copy, and what the service did with it."""

    story_id: int
    feed_url: str | None
    title: str
    text: str
    url: str | None
    outlet: str | None
    published_at: datetime | None
    first_seen_at: datetime
    matched: tuple[str, ...]
    figures: tuple[str, ...]
    alerts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """A feed's polling state, as ``newsmon feeds`` and ``run --once`` report it."""

    url: str
    name: str | None
    active: bool
    gone: bool
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_status: int | None
    consecutive_failures: int
    last_error: str | None
    next_poll_at: datetime
    fetch_url: str | None  # after a permanent redirect
    polls: int
    baseline_entries: int
    lease_owner: str | None = None  # the replica polling it now, if any
    lease_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class AlertStatus:
    """An alert's delivery state, as ``newsmon alerts`` lists it."""

    id: int
    kind: str
    notifier: str
    channel: str | None
    watchlists: list[str]
    content: dict[str, Any]
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    hold_reason: str | None
    rolled_into: int | None
