"""Console notifier: prints alerts to the terminal (the embedded default)."""

from __future__ import annotations

import sys
from typing import TextIO

from monitor.domain.model import Alert, AlertContent, Delivery
from monitor.domain.notifier_config import ConsoleConfig
from notifiers.format import (
    before_after,
    change_source,
    digest_count,
    digest_heading,
    digest_watchlists,
    estimate_source,
    estimates,
    format_time,
    kind_label,
    known_source,
    known_value,
    observation_value,
    one_line,
    quote_in_language,
    range_summary,
)


def render_console(alert: Alert) -> str:
    """Plain-text rendering of an alert (article text flattened to one line per field)."""
    if alert.kind == "dashboard":
        return render_console_dashboard(alert)
    if alert.kind == "digest":
        return render_console_digest(alert)
    content = alert.content
    title = one_line(content.title)
    lines = [f"[{kind_label(content.kind)}] {', '.join(content.watchlists)}: {title}"]
    if content.url:
        lines.append(f"  {one_line(content.url)}")
    published = format_time(content.published_at) if content.published_at else None
    meta = [one_line(part) for part in (content.outlet, published) if part]
    if meta:
        lines.append("  " + " · ".join(meta))
    if content.matched_terms:
        lines.append("  matched: " + ", ".join(one_line(t) for t in content.matched_terms))
    for change in content.changes:
        obs = change.observation
        source = change_source(change, content)
        lines.append(
            f"  {obs.figure}: {observation_value(obs)}"
            + (f" — {one_line(source)}" if source else "")
        )
        if quote := quote_in_language(obs):
            lines.append(f"    {quote}")
        for known in change.previous:
            lines.append(
                f"    before: {known_value(known, obs.unit)} — {one_line(known_source(known))}"
            )
        if change.spread:
            lines.append(f"    sources disagree: {one_line(change.spread)}")
    if content.also_reported_by:
        also = ", ".join(one_line(o) for o in content.also_reported_by)
        lines.append(f"  also reported by: {also}")
    return "\n".join(lines)


def render_console_dashboard(alert: Alert) -> str:
    """A figure's current estimates in brief: the range, then the newest estimate. The
    core sends dashboards to Slack only; this keeps a misrouted one readable."""
    content = alert.content
    names = ", ".join(content.watchlists)
    if not content.changes:
        return f"[{kind_label(content.kind)}] {names}: {one_line(content.title)}"
    change = content.changes[0]
    newest = estimates(change, content)[0]
    return (
        f"[{kind_label(content.kind)}] {names}: {one_line(change.observation.figure)} "
        f"{range_summary(change)}\n"
        f"  latest: {newest.value} — {one_line(estimate_source(newest))}"
    )


def _member_line(member: AlertContent) -> list[str]:
    when = f"{member.published_at:%Y-%m-%d %H:%M}" if member.published_at else None
    source = " ".join(one_line(part) for part in (when, member.outlet) if part)
    line = f"  - {source + ': ' if source else ''}{one_line(member.title) or '(untitled)'}"
    if member.matched_terms:
        line += " (matched: " + ", ".join(one_line(t) for t in member.matched_terms) + ")"
    return [line, *(f"      {one_line(before_after(change))}" for change in member.changes)]


def render_console_digest(alert: Alert) -> str:
    """A header line (what and why), then one indented line per held alert."""
    content = alert.content
    names = ", ".join(digest_watchlists(content))
    if content.digest:
        header = f"[{kind_label(content.kind)}] {names}: {digest_count(content)}"
    else:
        header = f"[{kind_label(content.kind)}] {digest_heading(content)}"
    if content.note:
        header += f" — {one_line(content.note)}"
    return "\n".join([header, *(line for m in content.digest for line in _member_line(m))])


class ConsoleNotifier:
    name = "console"
    min_interval = 0.0

    def __init__(self, config: ConsoleConfig, stream: TextIO | None = None) -> None:
        self._config = config
        self._stream = stream

    def send(self, alert: Alert) -> Delivery:
        stream = self._stream or (sys.stdout if self._config.stream == "stdout" else sys.stderr)
        print(render_console(alert), file=stream, flush=True)
        return Delivery()

    def already_sent(self, alert: Alert) -> str | None:
        return None
