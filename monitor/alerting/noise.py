"""Noise control (pure): which alerts are held instead of sent, until when, and how held
alerts are rolled up into one digest when they are released.

An alert is held when
- its route asks for a digest (``digest: hourly|daily``) of its kind: until the next digest
  time;
- every watchlist it names is in its quiet hours (for that kind): until the quiet hours end;
- it is a new_item and every watchlist it names already had its ``max_per_hour`` new_item
  alerts in this channel during the current clock hour: until the hour ends.

Held alerts of one channel that are released at the same time for the same reason form a
group. New stories in a group (and figure changes, except where they keep a Slack thread of
their own) are rolled into one ``digest`` alert when there are two or more; anything else is
simply released, in order.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from monitor.domain.model import AlertContent, AlertKind, HeldAlert, Noise, QuietHours, Route

HoldReason = Literal["digest", "quiet_hours", "cooldown"]
HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Hold:
    reason: HoldReason
    until: datetime  # UTC
    note: str  # why, for the digest's readers


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """``clock`` on ``day`` in ``zone``, as UTC."""
    return datetime.combine(day, clock, zone).astimezone(UTC)


def quiet_until(quiet: QuietHours, now: datetime) -> datetime | None:
    """When the quiet window that contains ``now`` ends (UTC), or None outside it.

    The window may span midnight (22:00–07:00); local times follow the zone's DST rules.
    """
    zone = ZoneInfo(quiet.timezone)
    local = now.astimezone(zone)
    for offset in (-1, 0):
        day = local.date() + timedelta(days=offset)
        start = _at(day, quiet.start, zone)
        end_day = day if quiet.end > quiet.start else day + timedelta(days=1)
        end = _at(end_day, quiet.end, zone)
        if start <= now.astimezone(UTC) < end:
            return end
    return None


def next_digest(route: Route, now: datetime) -> datetime:
    """The next digest time of a route after ``now`` (UTC): the top of the next hour
    (local), or the next ``digest_at`` (local) for daily digests."""
    zone = ZoneInfo(route.timezone)
    local = now.astimezone(zone)
    if route.digest == "hourly":
        return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC) + HOUR
    today = _at(local.date(), route.digest_at, zone)
    if today > now:
        return today
    return _at(local.date() + timedelta(days=1), route.digest_at, zone)


def _quiet_kind(kind: AlertKind) -> AlertKind:
    # a follow-up is a reply to a new story: quiet when new stories are
    return AlertKind.NEW_ITEM if kind == AlertKind.FOLLOW_UP else kind


def _describe(quiet: QuietHours) -> str:
    return f"{quiet.start:%H:%M}–{quiet.end:%H:%M} {quiet.timezone}"


def hold_for(
    kind: AlertKind,
    noises: Sequence[Noise],
    digest: Route | None,
    now: datetime,
    sent_this_hour: Mapping[int, int] | None = None,
) -> Hold | None:
    """The hold for an alert of ``kind`` whose watchlists have ``noises``, routed with the
    ``digest`` route (if its channel's routes ask for one), or None to send it now.

    ``sent_this_hour[i]`` is how many new_item alerts the channel already got this clock
    hour for the watchlist of ``noises[i]``; only needed when a watchlist sets
    ``max_per_hour``.
    """
    if kind in ("dashboard", "digest"):
        return None
    hold: Hold | None = None
    if digest is not None and digest.digest and kind in digest.digest_kinds:
        when = next_digest(digest, now)
        note = (
            "hourly digest"
            if digest.digest == "hourly"
            else (f"daily digest ({digest.digest_at:%H:%M} {digest.timezone})")
        )
        hold = Hold("digest", when, note)
    quiet = _quiet_hold(_quiet_kind(kind), noises, hold.until if hold else now)
    if quiet is not None:
        hold = Hold(hold.reason, quiet.until, f"{hold.note}, {quiet.note}") if hold else quiet
    if hold is None and kind == "new_item":
        hold = _cooldown_hold(noises, now, sent_this_hour or {})
    return hold


def _quiet_hold(kind: AlertKind, noises: Sequence[Noise], when: datetime) -> Hold | None:
    """Held only when every watchlist of the alert is quiet for this kind at ``when``."""
    ends = []
    for noise in noises:
        quiet = noise.quiet_hours
        end = quiet_until(quiet, when) if quiet and kind in quiet.kinds else None
        if end is None:
            return None
        ends.append((end, quiet))
    if not ends:
        return None
    end, quiet = min(ends, key=lambda pair: pair[0])
    assert quiet is not None
    return Hold("quiet_hours", end, f"held during quiet hours ({_describe(quiet)})")


def _cooldown_hold(
    noises: Sequence[Noise], now: datetime, sent_this_hour: Mapping[int, int]
) -> Hold | None:
    """Held only when every watchlist of the alert has a cap and reached it this hour."""
    if not noises:
        return None
    caps = [noise.max_per_hour for noise in noises]
    if any(cap is None for cap in caps):
        return None
    if any(sent_this_hour.get(i, 0) < cap for i, cap in enumerate(caps) if cap is not None):
        return None
    limit = max(cap for cap in caps if cap is not None)
    return Hold("cooldown", hour_end(now), f"over the limit of {limit} new stories per hour")


def hour_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hour_end(now: datetime) -> datetime:
    return hour_start(now) + HOUR


# --- release ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RollUp:
    """One channel's due group: ``members`` become one digest; ``released`` go as they are."""

    notifier: str
    channel: str | None
    members: tuple[HeldAlert, ...]
    released: tuple[HeldAlert, ...]
    digest: AlertContent | None


def roll_up(held: Iterable[HeldAlert], threaded: Collection[str]) -> list[RollUp]:
    """Group due held alerts by (notifier, channel, reason, release time), oldest first, and
    decide which are rolled into a digest: new stories, and figure changes on notifiers
    without threads (on Slack each figure keeps its thread). A lone alert goes as itself."""
    groups: dict[tuple[str, str | None, str, datetime], list[HeldAlert]] = {}
    for alert in sorted(held, key=lambda a: a.id):
        groups.setdefault((alert.notifier, alert.channel, alert.reason, alert.until), []).append(
            alert
        )
    result = []
    for (notifier, channel, _reason, _until), alerts in groups.items():
        rollable = [
            a
            for a in alerts
            if a.kind == "new_item" or (a.kind == "figure_change" and notifier not in threaded)
        ]
        if len(rollable) < 2:
            result.append(RollUp(notifier, channel, (), tuple(alerts), None))
            continue
        rest = tuple(a for a in alerts if a not in rollable)
        result.append(RollUp(notifier, channel, tuple(rollable), rest, digest_content(rollable)))
    return result


def digest_content(members: Sequence[HeldAlert]) -> AlertContent:
    """The digest of held alerts: every member's content, oldest first, and why they waited."""
    watchlists: list[str] = []
    for member in members:
        watchlists += [w for w in member.content.watchlists if w not in watchlists]
    stories = sum(1 for m in members if m.kind == "new_item")
    changes = len(members) - stories
    parts = [f"{stories} new {'story' if stories == 1 else 'stories'}"] if stories else []
    if changes:
        parts.append(f"{changes} figure {'change' if changes == 1 else 'changes'}")
    notes = list(dict.fromkeys(m.note for m in members if m.note))
    return AlertContent(
        kind=AlertKind.DIGEST,
        watchlists=watchlists,
        title="Digest: " + " and ".join(parts),
        url=None,
        outlet=None,
        published_at=None,
        digest=[m.content for m in members],
        note="; ".join(notes),
    )
