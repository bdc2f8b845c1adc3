"""Console notifier: prints alerts to the terminal (the embedded default)."""

from __future__ import annotations

import sys
from typing import Literal, TextIO

from pydantic import BaseModel, ConfigDict

from monitor.model import Alert, Delivery


class ConsoleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    stream: Literal["stdout", "stderr"] = "stdout"


def render_console(alert: Alert) -> str:
    """Plain-text rendering of an alert."""
    content = alert.content
    lines = [f"[{content.kind}] {', '.join(content.watchlists)}: {content.title}"]
    if content.url:
        lines.append(f"  {content.url}")
    meta = [part for part in (content.outlet, _when(alert)) if part]
    if meta:
        lines.append("  " + " · ".join(meta))
    if content.matched_terms:
        lines.append("  matched: " + ", ".join(content.matched_terms))
    for change in content.changes:
        obs = change.observation
        who = f" ({obs.attributed_to})" if obs.attributed_to else ""
        lines.append(f"  {obs.figure}: {_value(obs.low, obs.high, obs.qualifier, obs.unit)}{who}")
        for known in change.previous:
            src = ", ".join(p for p in (known.attributed_to, known.outlet) if p)
            when = known.published_at or known.first_seen_at
            value = _value(known.low, known.high, known.qualifier, obs.unit)
            lines.append(f"    before: {value} — {src or 'unknown source'}, {when:%Y-%m-%d}")
        if change.spread:
            lines.append(f"    sources disagree: {change.spread}")
    if content.also_reported_by:
        lines.append("  also reported by: " + ", ".join(content.also_reported_by))
    return "\n".join(lines)


def _when(alert: Alert) -> str | None:
    published = alert.content.published_at
    return f"{published:%Y-%m-%d %H:%M %Z}".strip() if published else None


def _value(low: float, high: float, qualifier: str, unit: str) -> str:
    def num(x: float) -> str:
        return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"

    amount = num(low) if low == high else f"{num(low)}–{num(high)}"
    prefix = "" if qualifier == "exact" else qualifier.replace("_", " ") + " "
    suffix = "%" if unit == "percent" else f" {unit}"
    return f"{prefix}{amount}{suffix}"


class ConsoleNotifier:
    name = "console"

    def __init__(self, config: ConsoleConfig, stream: TextIO | None = None) -> None:
        self._stream = stream or (sys.stdout if config.stream == "stdout" else sys.stderr)

    def send(self, alert: Alert) -> Delivery:
        print(render_console(alert), file=self._stream, flush=True)
        return Delivery()
