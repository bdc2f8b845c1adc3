"""Slack messages built from alerts: pure functions that tests can snapshot (Block Kit
within Slack's limits, untrusted text made inert)."""

from __future__ import annotations

import re
from typing import Any

from monitor.domain.model import Alert, AlertContent, FigureChange
from notifiers.format import (
    ELLIPSIS,
    before_after,
    change_source,
    dashboard_title,
    digest_heading,
    estimate_source,
    estimates,
    format_time,
    kind_label,
    known_source,
    known_value,
    observation_value,
    one_line,
    plural,
    quote_in_language,
    range_summary,
    safe_url,
    truncate,
)

METADATA_EVENT = "newsmon_alert"

# Slack's limits (https://api.slack.com/reference/block-kit/blocks).
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
CONTEXT_TEXT_LIMIT = 3000
BLOCK_LIMIT = 50
CONTEXT_ELEMENT_LIMIT = 10
TEXT_LIMIT = 40_000
# Our own budgets, well inside the limits, so a message stays readable.
TITLE_LIMIT = 300
SUMMARY_LIMIT = 600
LIST_LIMIT = 1000
URL_LIMIT = 2000
PREVIOUS_SHOWN = 5
# Digests and dashboards list many items: each gets at most ITEM_LIMIT characters, and all
# of them together at most LISTING_LIMIT, because Slack also refuses messages whose blocks
# are too long in total (``msg_blocks_too_long``, a limit it does not publish).
ITEM_LIMIT = 700
LISTING_LIMIT = 12_000
DIGEST_CHANGES_SHOWN = 3

_BROADCAST = re.compile(r"@(?=(channel|here|everyone)\b)", re.IGNORECASE)
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


# --- rendering ------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Untrusted text made inert in mrkdwn.

    ``&``, ``<`` and ``>`` become entities, so ``<!channel>``, ``<@U123>`` and
    ``<http://x|y>`` show as typed; a bare ``@channel``/``@here``/``@everyone`` gets a
    word joiner after the ``@`` so it cannot notify anyone either.
    """
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@\u2060", escaped)


def clip(mrkdwn: str, limit: int) -> str:
    """Escaped text cut to ``limit`` characters with "…", never through an entity."""
    if len(mrkdwn) <= limit:
        return mrkdwn
    return _PARTIAL_ENTITY.sub("", mrkdwn[: limit - 1]) + ELLIPSIS


def _inline(text: str, limit: int) -> str:
    """One line of untrusted text, escaped and clipped."""
    return clip(escape(one_line(text)), limit)


def _fit_lines(lines: list[str], limit: int) -> str:
    """Join lines, dropping whole lines from the end (marked "…") so the text fits."""
    text = "\n".join(lines)
    while len(text) > limit and len(lines) > 1:
        lines = lines[:-1]
        text = "\n".join([*lines, ELLIPSIS])
    return clip(text, limit)


def _link(url: str | None, label: str) -> str:
    """``<url|label>`` for a safe URL (label already escaped), else the bare label."""
    url = safe_url(url)
    if not url or len(url) > URL_LIMIT:
        return label
    quoted = url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E")
    return f"<{quoted.replace('|', '%7C')}|{label}>"


def _date_token(content: AlertContent) -> str | None:
    """Publication time as a Slack date token, shown in the reader's time zone."""
    published = content.published_at
    if published is None:
        return None
    if published.tzinfo is None:
        return escape(format_time(published))
    fallback = escape(format_time(published))
    return f"<!date^{int(published.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _header(content: AlertContent) -> dict[str, Any]:
    icon = {"figure_change": "📈", "follow_up": "🔁"}.get(content.kind, "📰")
    return _header_block(f"{icon} {kind_label(content.kind)} · {', '.join(content.watchlists)}")


def _header_block(text: str) -> dict[str, Any]:
    """A header: one line, cut to 150 characters. plain_text is never parsed for mentions
    or links; only broadcasts need defusing."""
    text = truncate(_BROADCAST.sub("@\u2060", one_line(text)), HEADER_LIMIT)
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(*texts: str) -> dict[str, Any]:
    elements = [
        {"type": "mrkdwn", "text": clip(t, CONTEXT_TEXT_LIMIT)}
        for t in texts[:CONTEXT_ELEMENT_LIMIT]
    ]
    return {"type": "context", "elements": elements}


def _headline_block(content: AlertContent) -> dict[str, Any]:
    title = _inline(content.title, TITLE_LIMIT) or "(untitled)"
    lines = [f"*{_link(content.url, title)}*"]
    if content.summary:
        lines.append(_inline(content.summary, SUMMARY_LIMIT))
    return _section(_fit_lines(lines, SECTION_LIMIT))


def _meta_block(content: AlertContent) -> dict[str, Any] | None:
    source = [part for part in (_inline(content.outlet or "", 200), _date_token(content)) if part]
    texts = [" · ".join(source)] if source else []
    if content.matched_terms:
        terms = ", ".join(_inline(term, 100) for term in content.matched_terms)
        texts.append(clip(f"Matched: {terms}", LIST_LIMIT))
    return _context(*texts) if texts else None


def _change_block(change: FigureChange, content: AlertContent) -> dict[str, Any]:
    obs = change.observation
    unit = obs.unit
    before = known_value(change.previous[0], unit) if change.previous else "first value"
    lines = [
        f"*{_inline(obs.figure, 100)}*: {escape(before)} → *{_inline(observation_value(obs), 200)}*"
    ]
    source = change_source(change, content)
    if source:
        lines.append(f"_{_inline(source, 300)}_")
    if quote := quote_in_language(obs):
        lines.append(_inline(quote, 400))
    if change.previous:
        lines.append("Before (latest first):")
        for known in change.previous[:PREVIOUS_SHOWN]:
            lines.append(
                f"• {escape(known_value(known, unit))} — {_inline(known_source(known), 300)}"
            )
        hidden = len(change.previous) - PREVIOUS_SHOWN
        if hidden > 0:
            lines.append(f"• …and {hidden} earlier value{'s' if hidden > 1 else ''}")
    if change.spread:
        lines.append(f":warning: Sources disagree: {_inline(change.spread, 500)}")
    return _section(_fit_lines(lines, SECTION_LIMIT))


def _change_blocks(content: AlertContent, room: int) -> list[dict[str, Any]]:
    """One section per changed figure; when they do not fit, a last "…and N more" line."""
    changes = content.changes
    if len(changes) <= room:
        return [_change_block(change, content) for change in changes]
    shown = changes[: room - 1]
    rest = ", ".join(_inline(c.observation.figure, 100) for c in changes[room - 1 :])
    more = f"…and {len(changes) - len(shown)} more figure changes: {rest}"
    return [*(_change_block(c, content) for c in shown), _section(clip(more, SECTION_LIMIT))]


def render_text(alert: Alert) -> str:
    """The plain ``text`` fallback (notifications, screen readers, old clients)."""
    content = alert.content
    title = _inline(content.title, TITLE_LIMIT)
    names = _inline(", ".join(content.watchlists), 500)
    lines = [f"{kind_label(content.kind)} · {names}: {title}"]
    url = safe_url(content.url)
    if url and len(url) <= URL_LIMIT:
        lines.append(escape(url))
    for change in content.changes:
        obs = change.observation
        before = known_value(change.previous[0], obs.unit) if change.previous else "first value"
        lines.append(
            f"{_inline(obs.figure, 100)}: {escape(before)} → {_inline(observation_value(obs), 200)}"
        )
    return _fit_lines(lines, TEXT_LIMIT)


def _metadata(alert: Alert) -> dict[str, Any]:
    """Message metadata carrying the alert id: how ``already_sent`` finds a message."""
    return {
        "event_type": METADATA_EVENT,
        "event_payload": {"alert_id": alert.id, "kind": alert.content.kind},
    }


def render_slack(alert: Alert) -> dict[str, Any]:
    """The chat.postMessage payload for an alert (without the channel): text, blocks,
    metadata carrying the alert id. Every article-provided string is escaped; every
    Slack limit is respected by cutting with "…".

    A dashboard alert gives the chat.update payload instead (without channel and ``ts``),
    see :func:`render_dashboard`; a digest the roll-up, see :func:`render_digest`."""
    if alert.kind == "dashboard":
        return render_dashboard(alert)
    if alert.kind == "digest":
        return render_digest(alert)
    content = alert.content
    top = [_header(content), _headline_block(content)]
    meta = _meta_block(content)
    if meta:
        top.append(meta)
    tail = []
    if content.also_reported_by:
        outlets = ", ".join(_inline(outlet, 200) for outlet in content.also_reported_by)
        tail.append(_context(clip(f"Also reported by: {outlets}", LIST_LIMIT)))
    room = BLOCK_LIMIT - len(top) - len(tail)
    blocks = [*top, *_change_blocks(content, room), *tail]
    return {
        "text": render_text(alert),
        "blocks": blocks,
        "metadata": _metadata(alert),
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _listing(
    items: list[str], room: int, more: str = "", *, pack: bool = True
) -> list[dict[str, Any]]:
    """Sections holding ``items`` (escaped mrkdwn, one or more lines each), in order: each
    in its own section, or with ``pack`` as many lines per section as 3,000 characters
    allow. At most ``room`` sections and ``LISTING_LIMIT`` characters in total; items that
    do not fit are counted in a last section ``…and N more{more}``."""
    items = [clip(item, ITEM_LIMIT) for item in items]
    sections: list[list[str]] = []
    used = shown = 0
    for item in items:
        if used + len(item) > LISTING_LIMIT:
            break
        if pack and sections and len("\n".join([*sections[-1], item])) <= SECTION_LIMIT:
            sections[-1].append(item)
        elif len(sections) < room - (1 if shown < len(items) - 1 else 0):
            sections.append([item])  # keeps a block free for "…and N more" while items remain
        else:
            break
        used += len(item) + 1
        shown += 1
    blocks = [_section("\n".join(lines)) for lines in sections]
    if shown < len(items):
        blocks.append(_section(f"…and {len(items) - shown:,} more{more}"))
    return blocks


# --- dashboards: the edited parent of a figure's thread ---------------------------------------


def _updated_token(alert: Alert) -> str | None:
    """When the dashboard was brought up to date: the alert's creation time (the moment
    the change was seen), else the newest article's; as a Slack date token."""
    when = alert.created_at or alert.content.published_at
    if when is None:
        return None
    fallback = escape(format_time(when))
    if when.tzinfo is None:
        return fallback
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _estimate_lines(change: FigureChange, content: AlertContent) -> list[str]:
    lines = []
    for estimate in estimates(change, content):
        line = f"• *{_inline(estimate.value, 200)}* — {_inline(estimate_source(estimate), 400)}"
        linked = _link(estimate.url, "article")
        lines.append(line + (f" · {linked}" if linked != "article" else ""))
    return lines


def render_dashboard(alert: Alert) -> dict[str, Any]:
    """The chat.update payload that turns a figure's thread parent into its dashboard: a
    header, the current range across all estimates, the estimates newest first (value,
    who, outlet, date, article), the spread, and when it was updated. Kept within Slack's
    limits like every other message; the metadata names this (dashboard) alert."""
    content = alert.content
    if not content.changes:  # the core always sends one; render the bare title if not
        return {"text": _inline(content.title, TITLE_LIMIT) or "Figure dashboard",
                "metadata": _metadata(alert)}  # fmt: skip
    change = content.changes[0]
    top = [
        _header_block(dashboard_title(change)),
        _section(f"*{_inline(range_summary(change), 500)}*"),
    ]
    tail = []
    if change.spread:
        tail.append(_section(f":warning: Sources disagree: {_inline(change.spread, 1000)}"))
    updated = _updated_token(alert)
    note = "each change is a reply in this thread"
    tail.append(_context(f"Updated {updated} · {note}" if updated else note.capitalize()))
    listing = _listing(
        _estimate_lines(change, content), BLOCK_LIMIT - len(top) - len(tail), " earlier estimates"
    )
    return {
        "text": _dashboard_text(change, content),
        "blocks": [*top, *listing, *tail],
        "metadata": _metadata(alert),
    }


def _dashboard_text(change: FigureChange, content: AlertContent) -> str:
    lines = [f"{_inline(dashboard_title(change), 200)}: {_inline(range_summary(change), 300)}"]
    lines += [
        f"• {_inline(estimate.value, 200)} — {_inline(estimate_source(estimate), 400)}"
        for estimate in estimates(change, content)
    ]
    return _fit_lines(lines, TEXT_LIMIT)


# --- digests: held alerts rolled into one message ---------------------------------------------


def _digest_item(member: AlertContent) -> str:
    """A member in a few lines: headline as link; outlet, time, matched terms; for a
    figure change the compact before → after per figure."""
    title = _inline(member.title, TITLE_LIMIT) or "(untitled)"
    lines = [f"*{_link(member.url, title)}*"]
    meta = [_inline(member.outlet or "", 200), _date_token(member) or ""]
    if member.matched_terms:
        terms = ", ".join(_inline(term, 100) for term in member.matched_terms)
        meta.append(clip(f"Matched: {terms}", 300))
    if any(meta):
        lines.append(" · ".join(part for part in meta if part))
    for change in member.changes[:DIGEST_CHANGES_SHOWN]:
        source = change.observation.attributed_to
        lines.append(
            f"📈 {_inline(before_after(change), 300)}"
            + (f" _({_inline(source, 100)})_" if source else "")
        )
    hidden = len(member.changes) - DIGEST_CHANGES_SHOWN
    if hidden > 0:
        lines.append(f"…and {plural(hidden, 'more figure change', 'more figure changes')}")
    return _fit_lines(lines, ITEM_LIMIT)


def render_digest(alert: Alert) -> dict[str, Any]:
    """One message rolling up held alerts: a header composed from the members, why they
    were held, then each member compactly (oldest first) — as many as Slack's limits allow,
    then "…and N more". Works through a webhook as well."""
    content = alert.content
    top = [_header_block(f"🗂 {digest_heading(content)}")]
    if content.note:
        top.append(_context(_inline(content.note, 500)))
    if content.digest:
        items = [_digest_item(member) for member in content.digest]
        listing = _listing(items, BLOCK_LIMIT - len(top), pack=False)
    else:
        listing = [_section("Nothing was held.")]
    return {
        "text": _digest_text(content),
        "blocks": [*top, *listing],
        "metadata": _metadata(alert),
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _digest_text(content: AlertContent) -> str:
    lines = [_inline(digest_heading(content), 500)]
    if content.note:
        lines.append(_inline(content.note, 500))
    for member in content.digest:
        outlet = f" ({_inline(member.outlet, 200)})" if member.outlet else ""
        lines.append(f"• {_inline(member.title, TITLE_LIMIT) or '(untitled)'}{outlet}")
    return _fit_lines(lines, TEXT_LIMIT)
