"""``newsmon backtest``: replay stored entries through the current watchlists and figures.

A maintainer edits a watchlist and asks, before deploying: which stored stories would it
match, which figures would it read, which alerts would fire — beside what did. The replay
is pure (:func:`replay`: stored stories and the compiled watchlists in, verdicts out); only
:func:`load_stories` reads the database, read-only. Stories are replayed oldest first, and
each figure value is compared with the values stored before the window plus those the
replay read earlier in it, as the service compares them. Noise control (quiet hours, caps,
digests) is left out: "would fire" means "would be planned".
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from monitor.alerting.baseline import is_old_news
from monitor.alerting.changes import as_current, compare
from monitor.alerting.plan import resolve_routes
from monitor.analysis.analyse import extract_figures
from monitor.cli.progress import Progress
from monitor.config.settings import Config, parse_duration
from monitor.domain.errors import NewsmonError
from monitor.domain.model import Article, KnownValue, Observation, StoredStory
from monitor.runtime.app import Compiled, load_compiled
from storage.queries.replay import Series, load_known, load_stories


@dataclass(frozen=True)
class Verdict:
    """One story replayed: what the current definitions do beside what was done."""

    story: StoredStory
    matched: tuple[str, ...]
    figures: tuple[Observation, ...]
    alerts: tuple[str, ...]

    @property
    def changed(self) -> bool:
        figures = tuple(sorted({o.figure for o in self.figures}))
        return (
            set(self.matched) != set(self.story.matched)
            or figures != tuple(sorted(set(self.story.figures)))
            or set(self.alerts) != set(self.story.alerts)
        )


@dataclass
class _History:
    known: dict[Series, list[KnownValue]] = field(default_factory=lambda: defaultdict(list))

    def remember(self, obs: Observation, story: StoredStory) -> None:
        self.known[(obs.figure, obs.unit)].append(
            KnownValue(
                low=obs.low,
                high=obs.high,
                value=obs.value,
                qualifier=obs.qualifier,
                attributed_to=obs.attributed_to,
                outlet=story.outlet,
                url=story.url,
                published_at=story.published_at,
                first_seen_at=story.first_seen_at,
            )
        )


def replay(
    stories: Iterable[StoredStory],
    compiled: Compiled,
    known: Mapping[Series, Sequence[KnownValue]],
    max_age: float,
    *,
    feed_max_ages: Mapping[str, float] | None = None,
    notifiers: Collection[str] = ("console",),
    watchlist: str | None = None,
    progress: Callable[[], None] | None = None,
) -> list[Verdict]:
    """Each story through the current watchlists, oldest first (pure). An entry's age limit
    is its watchlist's ``max_age``, else its feed's (``feed_max_ages``), else ``max_age``;
    an alert fires only where a watchlist routes to one of the configured ``notifiers``."""
    history = _History()
    for series, values in known.items():
        history.known[series].extend(values)
    verdicts = []
    for story in sorted(stories, key=lambda s: s.first_seen_at):
        limit = (feed_max_ages or {}).get(story.feed_url or "", max_age)
        verdicts.append(_replay_one(story, compiled, history, limit, notifiers, watchlist))
        if progress:
            progress()
    return verdicts


def _replay_one(
    story: StoredStory,
    compiled: Compiled,
    history: _History,
    max_age: float,
    notifiers: Collection[str],
    only: str | None,
) -> Verdict:
    article = Article(
        title=story.title,
        text=story.text,
        url=story.url,
        outlet=story.outlet,
        published_at=story.published_at,
    )
    matches = [m for m in compiled.matcher.match(article) if only in (None, m.watchlist)]
    day = (story.published_at or story.first_seen_at).date()
    observations = [
        as_current(o, day) for o in extract_figures(compiled.extractor, article, matches)
    ]
    alerts: set[str] = set()
    for match in matches:
        wl = compiled.by_name[match.watchlist]
        limit = wl.max_age if wl.max_age is not None else max_age
        routed = bool(resolve_routes(wl, notifiers, {}))
        if (
            routed
            and "new_item" in wl.alerts
            and not is_old_news(story.published_at, story.first_seen_at, limit, first_poll=False)
        ):
            alerts.add("new_item")
    for obs in observations:
        known = history.known[(obs.figure, obs.unit)]
        tolerance = compiled.tolerances.get(obs.figure, 0.0)
        wl = compiled.by_name[obs.watchlist]
        asks = "figure_change" in wl.alerts and bool(resolve_routes(wl, notifiers, {}))
        if asks and compare(obs, known, tolerance, story.outlet) is not None:
            alerts.add("figure_change")
        history.remember(obs, story)
    return Verdict(
        story=story,
        matched=tuple(m.watchlist for m in matches),
        figures=tuple(observations),
        alerts=tuple(sorted(alerts)),
    )


# ----------------------------------------------------------------------------- command


def backtest(
    config: Config,
    open_db: Callable[[], sessionmaker[Session]],
    args: argparse.Namespace,
    *,
    print_json: Callable[[Any], None],
) -> int:
    """``newsmon backtest``: load, replay with a progress line, print."""
    try:
        window = parse_duration(args.since)
    except ValueError as exc:
        raise NewsmonError(f"--since {args.since!r}: {exc}") from None
    compiled = load_compiled(config.watchlists_dir)
    if args.watchlist and args.watchlist not in compiled.by_name:
        known = ", ".join(sorted(compiled.by_name))
        raise NewsmonError(f"no watchlist named {args.watchlist!r}; known: {known}")
    since = datetime.now(UTC) - timedelta(seconds=window)
    with open_db()() as session:
        stories = load_stories(session, since, args.watchlist)
        known_values = load_known(session, since)
    with Progress(len(stories), "replaying stories") as progress:
        verdicts = replay(
            stories,
            compiled,
            known_values,
            config.alerts.max_age,
            feed_max_ages={f.url: f.max_age for f in config.feeds if f.max_age is not None},
            notifiers=list(config.notifiers.configured()),
            watchlist=args.watchlist,
            progress=progress.step,
        )
    if args.json:
        print_json({"summary": summary(verdicts), "stories": [verdict_json(v) for v in verdicts]})
    else:
        print(render_verdicts(verdicts, everything=args.all))
    return 0


# ----------------------------------------------------------------------------- output


def verdict_json(verdict: Verdict) -> dict[str, Any]:
    story = verdict.story
    return {
        "story_id": story.story_id,
        "title": story.title,
        "url": story.url,
        "outlet": story.outlet,
        "first_seen_at": story.first_seen_at.isoformat(),
        "would_match": list(verdict.matched),
        "did_match": list(story.matched),
        "would_read": [
            {"figure": o.figure, "low": o.low, "high": o.high, "unit": o.unit, "quote": o.quote}
            for o in verdict.figures
        ],
        "did_read": list(story.figures),
        "would_alert": list(verdict.alerts),
        "did_alert": list(story.alerts),
        "changed": verdict.changed,
    }


def render_verdicts(verdicts: Sequence[Verdict], *, everything: bool = False) -> str:
    """The stories whose outcome changes (all with ``everything``), then a summary."""
    lines = []
    for v in verdicts:
        if not (v.changed or everything or v.matched):
            continue
        mark = "*" if v.changed else " "
        lines.append(f"{mark} {v.story.first_seen_at:%Y-%m-%d %H:%M}  {v.story.title[:90]}")
        lines.append(f"    match:   {_pair(v.matched, v.story.matched)}")
        figures = sorted({o.figure for o in v.figures})
        if figures or v.story.figures:
            lines.append(f"    figures: {_pair(figures, v.story.figures)}")
        lines.append(f"    alerts:  {_pair(v.alerts, v.story.alerts)}")
    lines.append(summary(verdicts))
    return "\n".join(lines)


def _pair(would: Sequence[str], did: Sequence[str]) -> str:
    now, then = ", ".join(would) or "-", ", ".join(did) or "-"
    return now if now == then else f"{now}  (was: {then})"


def summary(verdicts: Sequence[Verdict]) -> str:
    def count(pick: Callable[[Verdict], bool]) -> int:
        return sum(1 for v in verdicts if pick(v))

    return (
        f"{len(verdicts)} stories replayed: {count(lambda v: bool(v.matched))} would match "
        f"(did: {count(lambda v: bool(v.story.matched))}), "
        f"{count(lambda v: 'new_item' in v.alerts)} new_item and "
        f"{count(lambda v: 'figure_change' in v.alerts)} figure_change alerts would fire "
        f"(did: {count(lambda v: 'new_item' in v.story.alerts)} and "
        f"{count(lambda v: 'figure_change' in v.story.alerts)}); "
        f"{count(lambda v: v.changed)} stories change (marked *)"
    )
