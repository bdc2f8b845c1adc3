"""Alert planning (pure): which alerts a story or a figure change produces, per channel.

One story gets at most one new_item alert per channel, naming every watchlist it matched;
one item gets at most one figure_change alert per channel, listing every figure that
changed. The ``dedup_key`` encodes exactly that, and the outbox's UNIQUE index on it makes
the rule hold across retries, restarts and replicas.
"""

from __future__ import annotations

from collections.abc import Collection, Container, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Protocol

from monitor.domain.model import (
    AlertContent,
    AlertKind,
    Article,
    FigureChange,
    FigureSpec,
    Match,
    Noise,
    Route,
)


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
    @property
    def noise(self) -> Noise: ...


@dataclass(frozen=True)
class Routing:
    """Where alerts can go: the watchlists by name and the configured notifiers."""

    watchlists: Mapping[str, Routed]
    notifiers: Collection[str]
    default_channels: Mapping[str, str | None]
    tolerances: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class PlannedAlert:
    dedup_key: str
    kind: AlertKind
    notifier: str
    channel: str | None
    watchlists: list[str]
    content: AlertContent
    thread_key: str | None = None  # alerts under one key share a thread in their channel
    digest: Route | None = None  # the route whose digest holds this alert, if any


# Notifiers that can reply in a thread; follow-ups go only there (elsewhere they are noise).
THREADED = frozenset({"slack"})


def story_thread(story_id: int) -> str:
    return f"story:{story_id}"


def figure_thread(figure: str) -> str:
    return f"figure:{figure}"


@dataclass
class _Group:
    watchlists: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    changes: list[FigureChange] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)

    def add(self, watchlist: str, route: Route) -> None:
        _add_unique(self.watchlists, [watchlist])
        if route not in self.routes:
            self.routes.append(route)

    def digest(self, kind: AlertKind) -> Route | None:
        """The digest route for ``kind`` when every route into this channel asks for one
        (an immediate route wins); hourly before daily."""
        if not self.routes or not all(r.digest and kind in r.digest_kinds for r in self.routes):
            return None
        return min(self.routes, key=lambda r: r.digest != "hourly")


def resolve_routes(
    watchlist: Routed, notifiers: Collection[str], default_channels: Mapping[str, str | None]
) -> list[tuple[str, str | None, Route]]:
    """(notifier, channel, route) for a watchlist, keeping only configured notifiers.

    A watchlist without routes goes to every configured notifier's default channel. For
    email the "channel" is the route's recipient list, comma-separated.
    """
    routes = list(watchlist.routes) or [Route(name) for name in sorted(notifiers)]
    found: dict[tuple[str, str | None], Route] = {}
    for route in routes:
        if route.notifier not in notifiers:
            continue
        channel = route.channel or (",".join(route.to) if route.to else None)
        found.setdefault((route.notifier, channel or default_channels.get(route.notifier)), route)
    return [(notifier, channel, route) for (notifier, channel), route in found.items()]


def _add_unique(target: list[str], values: Iterable[str]) -> None:
    for value in values:
        if value not in target:
            target.append(value)


def _content(
    kind: AlertKind,
    article: Article,
    group: _Group,
    summary: str,
    also_reported_by: Sequence[str] = (),
) -> AlertContent:
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
        also_reported_by=list(also_reported_by),
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
    *,
    outlets: tuple[int, int] = (0, 1),
    also_reported_by: Sequence[str] = (),
    old_news: Container[str] = (),
) -> list[PlannedAlert]:
    """One new_item alert per channel for a story, naming every watchlist it matched.

    ``outlets`` is (before, now): how many different outlets carried the story before this
    entry and with it. A watchlist alerts when the story reaches its ``min_outlets`` now —
    for the default of 1, when the story is new. Watchlists in ``old_news`` (for which the
    entry is history: ``monitor.alerting.baseline``) raise nothing.
    """
    before, now = outlets
    groups: dict[tuple[str, str | None], _Group] = {}
    for match in matches:
        watchlist = watchlists.get(match.watchlist)
        if watchlist is None or "new_item" not in watchlist.alerts:
            continue
        if match.watchlist in old_news:
            continue
        if not before < watchlist.noise.min_outlets <= now:
            continue
        for notifier, channel, route in resolve_routes(watchlist, notifiers, default_channels):
            group = groups.setdefault((notifier, channel), _Group())
            group.add(match.watchlist, route)
            _add_unique(group.terms, match.matched_terms)
    content_also = list(also_reported_by)
    return [
        PlannedAlert(
            dedup_key=f"new_item:story:{story_id}:{notifier}:{channel or ''}",
            kind=AlertKind.NEW_ITEM,
            notifier=notifier,
            channel=channel,
            watchlists=group.watchlists,
            content=_content(AlertKind.NEW_ITEM, article, group, _summary(article), content_also),
            thread_key=story_thread(story_id),
            digest=group.digest(AlertKind.NEW_ITEM),
        )
        for (notifier, channel), group in groups.items()
    ]


def plan_follow_up(
    item_id: int,
    story_id: int,
    article: Article,
    parents: Sequence[tuple[str, str | None, list[str]]],
    old_news: Container[str] = (),
) -> list[PlannedAlert]:
    """A syndicated copy of an alerted story: one follow_up per channel that got the
    story's new_item alert (``parents``: notifier, channel, watchlists), replying in its
    thread, naming the watchlists for which the copy is not old news. Only notifiers that
    thread get them."""
    parents = [(n, c, [w for w in names if w not in old_news]) for n, c, names in parents]
    return [
        PlannedAlert(
            dedup_key=f"follow_up:item:{item_id}:{notifier}:{channel or ''}",
            kind=AlertKind.FOLLOW_UP,
            notifier=notifier,
            channel=channel,
            watchlists=list(names),
            content=AlertContent(
                kind=AlertKind.FOLLOW_UP,
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
            (n, c, tuple(w)) for n, c, w in parents if n in THREADED and w
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
    old_news: Container[str] = (),
) -> list[PlannedAlert]:
    """The figure_change alerts of an item, listing every figure that changed.

    A figure is one series whichever watchlist read it: its changes go to every watchlist
    that tracks a figure of that name. One alert per channel lists every changed figure,
    except on notifiers that thread (Slack): there each figure has a thread of its own in
    the channel, so the item gets one alert per figure, replying in that figure's thread,
    and a ``dashboard`` edit that keeps the thread's first message showing the current
    range of estimates. Watchlists in ``old_news`` raise nothing: the item's values are
    stored as history all the same.
    """
    groups: dict[tuple[str, str | None, str | None], _Group] = {}
    for change in changes:
        figure = change.observation.figure
        for watchlist in _tracking(watchlists, figure):
            if "figure_change" not in watchlist.alerts or watchlist.name in old_news:
                continue
            for notifier, channel, route in resolve_routes(watchlist, notifiers, default_channels):
                key = (notifier, channel, figure if notifier in THREADED else None)
                group = groups.setdefault(key, _Group())
                group.add(watchlist.name, route)
                if change not in group.changes:
                    group.changes.append(change)
    planned = []
    thread_kinds: tuple[AlertKind, ...] = (AlertKind.FIGURE_CHANGE, AlertKind.DASHBOARD)
    for (notifier, channel, threaded), group in groups.items():
        where = f"{notifier}:{channel or ''}"
        if threaded is None:
            planned.append(
                PlannedAlert(
                    dedup_key=f"figure_change:item:{item_id}:{where}",
                    kind=AlertKind.FIGURE_CHANGE,
                    notifier=notifier,
                    channel=channel,
                    watchlists=group.watchlists,
                    content=_content(AlertKind.FIGURE_CHANGE, article, group, ""),
                    digest=group.digest(AlertKind.FIGURE_CHANGE),
                )
            )
            continue
        for kind in thread_kinds:
            planned.append(
                PlannedAlert(
                    dedup_key=f"{kind}:item:{item_id}:{threaded}:{where}",
                    kind=kind,
                    notifier=notifier,
                    channel=channel,
                    watchlists=group.watchlists,
                    content=_content(kind, article, group, ""),
                    thread_key=figure_thread(threaded),
                    digest=group.digest(AlertKind.FIGURE_CHANGE)
                    if kind == AlertKind.FIGURE_CHANGE
                    else None,
                )
            )
    return planned
