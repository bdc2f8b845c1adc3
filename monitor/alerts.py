"""Alert planning (pure): which alerts a story or a figure change produces, per channel.

One story gets at most one new_item alert per channel, naming every watchlist it matched;
one item gets at most one figure_change alert per channel, listing every figure that
changed. The ``dedup_key`` encodes exactly that, and the outbox's UNIQUE index on it makes
the rule hold across retries, restarts and replicas.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Protocol

from monitor.model import AlertContent, AlertKind, Article, FigureChange, FigureSpec, Match, Route


class Routed(Protocol):
    """What alert planning needs of a watchlist."""

    @property
    def name(self) -> str: ...
    @property
    def alerts(self) -> AbstractSet[str]: ...
    @property
    def routes(self) -> Sequence[Route]: ...
    @property
    def figures(self) -> Sequence[FigureSpec]: ...


@dataclass(frozen=True)
class PlannedAlert:
    dedup_key: str
    kind: AlertKind
    notifier: str
    channel: str | None
    watchlists: list[str]
    content: AlertContent
    thread_key: str | None = None  # alerts under one key share a thread in their channel


# Notifiers that can reply in a thread; follow-ups go only there (elsewhere they are noise).
THREADED = frozenset({"slack"})


def story_thread(story_id: int) -> str:
    return f"story:{story_id}"


@dataclass
class _Group:
    watchlists: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    changes: list[FigureChange] = field(default_factory=list)


def resolve_routes(
    watchlist: Routed, notifiers: Collection[str], default_channels: Mapping[str, str | None]
) -> list[tuple[str, str | None]]:
    """(notifier, channel) pairs for a watchlist, keeping only configured notifiers.

    A watchlist without routes goes to every configured notifier's default channel. For
    email the "channel" is the route's recipient list, comma-separated.
    """
    routes = list(watchlist.routes) or [Route(name) for name in sorted(notifiers)]
    pairs = []
    for route in routes:
        if route.notifier not in notifiers:
            continue
        channel = route.channel or (",".join(route.to) if route.to else None)
        pairs.append((route.notifier, channel or default_channels.get(route.notifier)))
    return list(dict.fromkeys(pairs))


def _add_unique(target: list[str], values: Iterable[str]) -> None:
    for value in values:
        if value not in target:
            target.append(value)


def _content(kind: AlertKind, article: Article, group: _Group, summary: str) -> AlertContent:
    return AlertContent(
        kind=kind,
        watchlists=group.watchlists,
        title=article.title,
        url=article.url,
        outlet=article.outlet,
        published_at=article.published_at,
        matched_terms=group.terms,
        summary=summary,
        changes=group.changes,
    )


def _summary(article: Article, limit: int = 400) -> str:
    text = " ".join(article.text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def plan_new_item(
    story_id: int,
    article: Article,
    matches: Sequence[Match],
    watchlists: Mapping[str, Routed],
    notifiers: Collection[str],
    default_channels: Mapping[str, str | None],
) -> list[PlannedAlert]:
    """One new_item alert per channel for a new story, naming every watchlist it matched."""
    groups: dict[tuple[str, str | None], _Group] = {}
    for match in matches:
        watchlist = watchlists.get(match.watchlist)
        if watchlist is None or "new_item" not in watchlist.alerts:
            continue
        for target in resolve_routes(watchlist, notifiers, default_channels):
            group = groups.setdefault(target, _Group())
            _add_unique(group.watchlists, [match.watchlist])
            _add_unique(group.terms, match.matched_terms)
    return [
        PlannedAlert(
            dedup_key=f"new_item:story:{story_id}:{notifier}:{channel or ''}",
            kind="new_item",
            notifier=notifier,
            channel=channel,
            watchlists=group.watchlists,
            content=_content("new_item", article, group, _summary(article)),
            thread_key=story_thread(story_id),
        )
        for (notifier, channel), group in groups.items()
    ]


def plan_follow_up(
    item_id: int,
    story_id: int,
    article: Article,
    parents: Sequence[tuple[str, str | None, list[str]]],
) -> list[PlannedAlert]:
    """A syndicated copy of an alerted story: one follow_up per channel that got the
    story's new_item alert (``parents``: notifier, channel, watchlists), replying in its
    thread. Only notifiers that thread get them."""
    return [
        PlannedAlert(
            dedup_key=f"follow_up:item:{item_id}:{notifier}:{channel or ''}",
            kind="follow_up",
            notifier=notifier,
            channel=channel,
            watchlists=list(names),
            content=AlertContent(
                kind="follow_up",
                watchlists=list(names),
                title=article.title,
                url=article.url,
                outlet=article.outlet,
                published_at=article.published_at,
                also_reported_by=[article.outlet] if article.outlet else [],
            ),
            thread_key=story_thread(story_id),
        )
        for notifier, channel, names in dict.fromkeys(
            (n, c, tuple(w)) for n, c, w in parents if n in THREADED
        )
    ]


def _tracking(watchlists: Mapping[str, Routed], figure: str) -> list[Routed]:
    return [wl for wl in watchlists.values() if any(spec.name == figure for spec in wl.figures)]


def plan_figure_change(
    item_id: int,
    article: Article,
    changes: Sequence[FigureChange],
    watchlists: Mapping[str, Routed],
    notifiers: Collection[str],
    default_channels: Mapping[str, str | None],
) -> list[PlannedAlert]:
    """One figure_change alert per channel for an item, listing every figure that changed.

    A figure is one series whichever watchlist read it: its changes go to every watchlist
    that tracks a figure of that name.
    """
    groups: dict[tuple[str, str | None], _Group] = {}
    for change in changes:
        for watchlist in _tracking(watchlists, change.observation.figure):
            if "figure_change" not in watchlist.alerts:
                continue
            for target in resolve_routes(watchlist, notifiers, default_channels):
                group = groups.setdefault(target, _Group())
                _add_unique(group.watchlists, [watchlist.name])
                if change not in group.changes:
                    group.changes.append(change)
    return [
        PlannedAlert(
            dedup_key=f"figure_change:item:{item_id}:{notifier}:{channel or ''}",
            kind="figure_change",
            notifier=notifier,
            channel=channel,
            watchlists=group.watchlists,
            content=_content("figure_change", article, group, ""),
        )
        for (notifier, channel), group in groups.items()
    ]
