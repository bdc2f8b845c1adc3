"""Console notifier: prints alerts to the terminal (the embedded default)."""

from __future__ import annotations

import sys
from typing import Literal, TextIO

from pydantic import BaseModel, ConfigDict

from monitor.model import Alert, Delivery
from notifiers.format import (
    change_source,
    format_time,
    kind_label,
    known_source,
    known_value,
    observation_value,
    one_line,
)


class ConsoleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    stream: Literal["stdout", "stderr"] = "stdout"


def render_console(alert: Alert) -> str:
    """Plain-text rendering of an alert (article text flattened to one line per field)."""
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
