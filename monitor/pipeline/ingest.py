"""Record one new entry: item, story, figure observations and alerts in ONE transaction.

This is the outbox guarantee: an alert row exists exactly when the item that caused it was
committed. A crash before the commit leaves nothing (the feed's ETag is not advanced
either, so the entry is read again); a crash after it leaves alerts pending for delivery.
Everything here is decided by the database's unique keys, so replicas and retries cannot
record an item, an observation or an alert twice.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from monitor.alerting.baseline import FRESH, OldNews
from monitor.alerting.changes import as_current, compare
from monitor.alerting.noise import Hold, hold_for, hour_start
from monitor.alerting.plan import (
    PlannedAlert,
    Routing,
    plan_figure_change,
    plan_follow_up,
    plan_new_item,
)
from monitor.domain.model import (
    AlertKind,
    Article,
    Entry,
    FigureChange,
    Match,
    Observation,
    content_to_json,
)
from monitor.identity.keys import EntryKeys, text_hash
from monitor.identity.sketch import sketch_bands, sketch_similarity, text_sketch
from storage import queries

# A syndicated copy has an estimated Jaccard similarity (of word 4-shingles) of at least
# this with its story; the band lookup only proposes candidates.
MIN_SIMILARITY = 0.5


@dataclass(frozen=True)
class Ingested:
    item_id: int | None  # None: the entry was already stored
    story_id: int | None = None
    new_story: bool = False
    alerts: int = 0
    alert_kinds: tuple[AlertKind, ...] = ()
    changes: tuple[FigureChange, ...] = ()
    also_reported_by: tuple[str, ...] = ()
    baseline: bool = False  # old news, taken as the feed's baseline (``monitor.alerting.baseline``)


class _Duplicate(Exception):
    pass


def _find_story(
    session: Session, exact: str, sketch: Sequence[int], bands: Sequence[int]
) -> int | None:
    """The story of an identical text, else of the most similar sketch among the
    candidates sharing a band key, if similar enough."""
    story_id = queries.story_with_text(session, exact)
    if story_id is not None or not bands:
        return story_id
    return _closest(sketch, queries.similar_stories(session, bands))


def _closest(sketch: Sequence[int], candidates: Iterable[tuple[int, Sequence[int]]]) -> int | None:
    """The candidate story whose sketch is most similar, if similar enough; ties: the
    oldest story."""
    best: tuple[float, int] | None = None
    for candidate, other in candidates:
        score = sketch_similarity(sketch, other)
        if score >= MIN_SIMILARITY and (best is None or (score, -candidate) > best):
            best = (score, -candidate)
    return -best[1] if best else None


def _dedupe(observations: Sequence[Observation]) -> list[Observation]:
    seen: set[tuple[str, str, float, float]] = set()
    unique = []
    for obs in observations:
        key = (obs.figure, obs.unit, obs.low, obs.high)
        if key not in seen:
            seen.add(key)
            unique.append(obs)
    return unique


def _record_figures(
    session: Session,
    item_id: int,
    article: Article,
    observations: Sequence[Observation],
    tolerances: Mapping[str, float],
    now: datetime,
) -> list[FigureChange]:
    """Store each observation; return those that change their series (news)."""
    by_series: dict[tuple[str, str], list[Observation]] = {}
    day = (article.published_at or now).date()  # values dated before it are history
    for obs in _dedupe([as_current(obs, day) for obs in observations]):
        by_series.setdefault((obs.figure, obs.unit), []).append(obs)
    changes = []
    for (figure, unit), group in sorted(by_series.items()):
        series_id = queries.lock_series(session, figure, unit)
        known = queries.known_values(session, series_id)  # before this item's own values
        for obs in group:
            change = compare(obs, known, tolerances.get(figure, 0.0), outlet=article.outlet)
            queries.add_observation(
                session,
                series_id=series_id,
                item_id=item_id,
                obs=obs,
                url=article.url,
                outlet=article.outlet,
                title=article.title,
                published_at=article.published_at,
                now=now,
                changed=change is not None,
            )
            if change is not None:
                changes.append(change)
    return changes


def _hold(session: Session, alert: PlannedAlert, routing: Routing, now: datetime) -> Hold | None:
    """Whether noise control holds this alert (quiet hours, hourly cap, digest)."""
    names = [name for name in alert.watchlists if name in routing.watchlists]
    noises = [routing.watchlists[name].noise for name in names]
    counts: dict[int, int] | None = None
    if alert.kind == "new_item" and noises and all(n.max_per_hour for n in noises):
        sent = queries.new_item_counts(session, alert.notifier, alert.channel, hour_start(now))
        counts = {i: sent.get(name, 0) for i, name in enumerate(names)}
    return hold_for(alert.kind, noises, alert.digest, now, counts)


def _store_alerts(
    session: Session,
    planned: Sequence[PlannedAlert],
    story_id: int,
    item_id: int,
    routing: Routing,
    now: datetime,
) -> list[AlertKind]:
    """Record the planned alerts, held ones with their release time; returns the kinds of
    those not recorded before. A dashboard edit waits with the change it shows."""
    created: list[AlertKind] = []
    holds: dict[tuple[str, str | None, str | None], Hold | None] = {}
    started = {
        (a.notifier, a.channel, a.thread_key)
        for a in planned
        if a.kind == "dashboard"
        and a.thread_key
        and queries.thread_planned(session, a.notifier, a.channel, a.thread_key)
    }
    for alert in planned:
        thread = (alert.notifier, alert.channel, alert.thread_key)
        if alert.kind == "dashboard":
            if thread not in started:  # this change starts the figure's thread: no edit
                continue
            hold = holds.get(thread)
        else:
            hold = holds[thread] = _hold(session, alert, routing, now)
        alert_id = queries.add_alert(
            session,
            dedup_key=alert.dedup_key,
            thread_key=alert.thread_key,
            kind=alert.kind,
            notifier=alert.notifier,
            channel=alert.channel,
            watchlists=alert.watchlists,
            story_id=story_id,
            item_id=item_id,
            content=content_to_json(alert.content),
            state="held" if hold else "pending",
            hold_reason=hold.reason if hold else None,
            hold_note=hold.note if hold else None,
            attempts=0,
            created_at=now,
            next_attempt_at=hold.until if hold else now,
        )
        if alert_id is not None:
            created.append(alert.kind)
    return created


def record_entry(
    session: Session,
    *,
    feed_id: int | None,
    entry: Entry,
    keys: EntryKeys,
    article: Article,
    matches: Sequence[Match],
    observations: Sequence[Observation],
    routing: Routing,
    now: datetime,
    old_news: OldNews = FRESH,
) -> Ingested:
    """Store a new entry with its story, figures and alerts, atomically."""
    new = NewEntry(feed_id, entry, keys, article, matches, observations, old_news=old_news)
    return record_entries(session, [new], routing=routing, now=now)[0]


@dataclass(frozen=True)
class NewEntry:
    """One entry ready to store: its keys, text, matches and figures."""

    feed_id: int | None
    entry: Entry
    keys: EntryKeys
    article: Article
    matches: Sequence[Match]
    observations: Sequence[Observation]
    # Computed here when None; a parse worker may compute them beforehand (pure, costly).
    text_hash: str | None = None
    sketch: tuple[int, ...] | None = None
    bands: tuple[int, ...] | None = None
    # For which watchlists the entry is old news: stored, figures too, but no alerts.
    old_news: OldNews = FRESH


def record_entries(
    session: Session, batch: Sequence[NewEntry], *, routing: Routing, now: datetime
) -> list[Ingested]:
    """Store several new entries in ONE transaction (one commit instead of one per entry).

    The outbox guarantee holds: each entry's alerts commit with it, and a crash before the
    commit leaves none of the batch. An entry that is already stored (a replica won the
    race) is undone by itself and comes back as ``Ingested(None)``; the others go on.

    The entries are placed in their stories with a few set-based statements (``_place``),
    deciding as if they were stored one after the other: a later entry of the batch joins
    the story of an earlier one it copies. Should a unique key reject an item there (a
    replica stored it meanwhile), that work is rolled back to its savepoint and the batch
    is stored entry by entry instead, each duplicate undone by itself.
    """
    results: list[Ingested] = []
    with session.begin():
        if not batch:
            return results
        texts = [_Text.of(new) for new in batch]
        try:
            with session.begin_nested():
                placed = _place(session, batch, texts, now)
        except _Conflict:
            for new, txt in zip(batch, texts, strict=True):
                try:
                    results.append(_record(session, new, txt, routing, now))
                except _Duplicate:
                    results.append(Ingested(item_id=None))
            return results
        for new, spot in zip(batch, placed, strict=True):
            if spot is None:
                results.append(Ingested(item_id=None))
            else:
                results.append(_follow(session, new, spot, routing, now))
    return results


@dataclass(frozen=True)
class _Text:
    """What a story is found by: the exact text hash, the sketch and its band keys."""

    exact: str
    sketch: tuple[int, ...]
    bands: tuple[int, ...]

    @staticmethod
    def of(new: NewEntry) -> _Text:
        article = new.article
        sketch = new.sketch if new.sketch is not None else text_sketch(article.text)
        bands = new.bands if new.bands is not None else tuple(sketch_bands(sketch))
        return _Text(new.text_hash or text_hash(article.title, article.text), sketch, bands)


@dataclass(frozen=True)
class _Spot:
    """Where ``_place`` stored an entry; ``later``: the items of the same story stored
    after it in the batch (its follow-up work must not see them yet)."""

    item_id: int
    story_id: int
    new_story: bool
    later: tuple[int, ...] = ()


class _Conflict(Exception):
    """A unique key rejected an item of the batch."""


_PLACEHOLDER = 1 << 62  # ids of stories not inserted yet: above every stored story's id


def _place(
    session: Session, batch: Sequence[NewEntry], texts: Sequence[_Text], now: datetime
) -> list[_Spot | None]:
    """Store the batch's stories and items; None for an entry that repeats a unique key of
    an earlier entry of the batch. Raises _Conflict when a stored item has one of them."""
    stored_texts = queries.stories_with_texts(session, {t.exact for t in texts})
    pending = {band for t in texts if t.exact not in stored_texts for band in t.bands}
    index = _BandIndex(session, queries.band_stories(session, pending))
    index.prefetch([t.bands for t in texts if t.exact not in stored_texts])
    seen_keys: set[tuple[int, str]] = set()
    batch_texts: dict[str, int] = {}
    stories: list[int | None] = []  # each entry's story id (placeholders for new ones)
    starts: list[bool] = []  # whether the entry starts its story
    new_stories: list[queries.NewStory] = []
    for new, txt in zip(batch, texts, strict=True):
        keys = {
            (kind, key)
            for kind, key in enumerate((new.keys.guid_key, new.keys.url_key, new.keys.content_hash))
            if key is not None  # NULL keys are never equal
        }
        if not seen_keys.isdisjoint(keys):
            stories.append(None)  # the same entry twice: the first one is stored
            starts.append(False)
            continue
        seen_keys.update(keys)
        story_id = stored_texts.get(txt.exact, batch_texts.get(txt.exact))
        if story_id is None:
            story_id = index.most_similar(txt.sketch, txt.bands)
        starts.append(story_id is None)
        if story_id is None:
            story_id = _PLACEHOLDER + len(new_stories)
            new_stories.append(queries.NewStory(new.article.title, txt.sketch, txt.bands))
            index.add(story_id, txt.sketch, txt.bands)
        batch_texts.setdefault(txt.exact, story_id)
        stories.append(story_id)
    created = queries.create_stories(session, new_stories, now)
    real = [
        None if s is None else created[s - _PLACEHOLDER] if s >= _PLACEHOLDER else s
        for s in stories
    ]
    rows = [
        _item_row(new, txt, story_id, now)
        for new, txt, story_id in zip(batch, texts, real, strict=True)
        if story_id is not None
    ]
    ids = queries.insert_items(session, rows)
    if len(ids) != len(rows):
        raise _Conflict
    spots: list[_Spot | None] = []
    for i, (new, story_id) in enumerate(zip(batch, real, strict=True)):
        if story_id is None:
            spots.append(None)
            continue
        item_id = ids[new.keys.content_hash]
        if starts[i]:
            spots.append(_Spot(item_id, story_id, new_story=True))
            continue
        later = tuple(  # the same story's items stored after this one
            ids[other.keys.content_hash]
            for other, other_story in zip(batch[i + 1 :], real[i + 1 :], strict=True)
            if other_story == story_id
        )
        spots.append(_Spot(item_id, story_id, new_story=False, later=later))
    return spots


class _BandIndex:
    """The stories a band lookup finds, as ``queries.similar_stories`` would with the
    batch's earlier new stories stored: per key the ``PER_BAND`` newest, the ``limit``
    stories sharing most keys, verified against their sketches (read when first needed)."""

    def __init__(self, session: Session, stored: dict[int, list[int]], limit: int = 5) -> None:
        self._session = session
        self._stored = stored  # band key -> stored story ids, newest first
        self._added: dict[int, list[int]] = {}  # band key -> this batch's stories, oldest first
        self._sketches: dict[int, tuple[int, ...]] = {}
        self._limit = limit

    def add(self, story_id: int, sketch: tuple[int, ...], bands: Sequence[int]) -> None:
        self._sketches[story_id] = sketch
        for band in bands:
            self._added.setdefault(band, []).append(story_id)

    def prefetch(self, lookups: Iterable[Sequence[int]]) -> None:
        """Read at once the sketches these lookups will verify (the batch's own new
        stories may still change a ranking: ``most_similar`` reads what is missing)."""
        wanted = {s for bands in lookups for s in self._ranked(bands)}
        self._sketches.update(queries.story_sketches(self._session, wanted))

    def _ranked(self, bands: Sequence[int]) -> list[int]:
        """The ``limit`` stories sharing most keys, newest first among equals."""
        hits: list[int] = []
        for band in bands:
            newest = self._stored.get(band, ())
            if added := self._added.get(band):
                newest = [*reversed(added), *newest][: queries.PER_BAND]
            hits += newest
        counts = Counter(hits)
        return [
            s for _, s in heapq.nlargest(self._limit, zip(counts.values(), counts, strict=True))
        ]

    def most_similar(self, sketch: Sequence[int], bands: Sequence[int]) -> int | None:
        ranked = self._ranked(bands)
        unknown = [s for s in ranked if s not in self._sketches]
        if unknown:
            self._sketches.update(queries.story_sketches(self._session, unknown))
        return _closest(sketch, ((s, self._sketches.get(s, ())) for s in ranked))


def _item_row(new: NewEntry, txt: _Text, story_id: int, now: datetime) -> dict[str, Any]:
    entry, keys, article = new.entry, new.keys, new.article
    return {
        "feed_id": new.feed_id,
        "story_id": story_id,
        "guid_key": keys.guid_key,
        "url_key": keys.url_key,
        "content_hash": keys.content_hash,
        "text_hash": txt.exact,
        "url": article.url,
        "canonical_url": keys.canonical_url,
        "outlet": article.outlet,
        "title": article.title,
        "summary": entry.summary,
        "text": article.text,
        "author": entry.author,
        "language": article.language,
        "published_at": article.published_at,
        "first_seen_at": now,
        "matched": [m.watchlist for m in new.matches],
    }


def _plan_on_more_outlets(
    session: Session,
    story_id: int,
    article: Article,
    matches: Sequence[Match],
    others: Sequence[str],
    routing: Routing,
    later: Collection[int] = (),
    old_news: OldNews = FRESH,
) -> list[PlannedAlert]:
    """A copy from one more outlet: the story's new_item alerts for watchlists that wait
    for that many outlets (``noise.min_outlets``) are due now."""
    before = len(set(others))
    after = len(set(others) | {article.outlet}) if article.outlet else before
    if after <= before:
        return []
    named = {match.watchlist for match in matches}
    earlier = [
        Match(name, ())
        for name in queries.story_watchlists(session, story_id, later)
        if name not in named
    ]
    return plan_new_item(
        story_id,
        article,
        [*matches, *earlier],
        routing.watchlists,
        routing.notifiers,
        routing.default_channels,
        outlets=(before, after),
        also_reported_by=others,
        old_news=old_news,
    )


def _record(
    session: Session, new: NewEntry, txt: _Text, routing: Routing, now: datetime
) -> Ingested:
    """Store one entry by itself (the fallback of ``record_entries``)."""
    story_id = _find_story(session, txt.exact, txt.sketch, txt.bands)
    new_story = story_id is None
    if story_id is None:
        story_id = queries.create_story(session, new.article.title, txt.sketch, txt.bands, now)
    item_id = queries.insert_item(session, **_item_row(new, txt, story_id, now))
    if item_id is None:
        if new_story:  # undo the story too (record_entries goes on with the next entry)
            queries.delete_story(session, story_id, txt.bands)
        raise _Duplicate
    return _follow(session, new, _Spot(item_id, story_id, new_story), routing, now)


def _follow(
    session: Session, new: NewEntry, spot: _Spot, routing: Routing, now: datetime
) -> Ingested:
    """An entry's alerts and figures, once its item is stored."""
    article, matches, old = new.article, new.matches, new.old_news
    item_id, story_id, new_story = spot.item_id, spot.story_id, spot.new_story
    if new_story and not matches and not new.observations:  # nothing to plan, nothing to store
        return Ingested(item_id, story_id, new_story, baseline=old.baseline)
    planned: list[PlannedAlert] = []
    also: tuple[str, ...] = ()
    if new_story:
        planned += plan_new_item(
            story_id,
            article,
            matches,
            routing.watchlists,
            routing.notifiers,
            routing.default_channels,
            old_news=old,
        )
    else:
        others = queries.story_outlets(
            session, story_id, exclude_item=item_id, exclude_items=spot.later
        )
        also = tuple(others)
        parents = queries.story_alert_routes(session, story_id)
        planned += plan_follow_up(item_id, story_id, article, parents, old)
        planned += _plan_on_more_outlets(
            session, story_id, article, matches, others, routing, spot.later, old
        )
    changes = _record_figures(session, item_id, article, new.observations, routing.tolerances, now)
    planned += plan_figure_change(
        item_id,
        article,
        changes,
        routing.watchlists,
        routing.notifiers,
        routing.default_channels,
        old_news=old,
    )
    created = _store_alerts(session, planned, story_id, item_id, routing, now)
    return Ingested(
        item_id,
        story_id,
        new_story,
        len(created),
        tuple(created),
        tuple(changes),
        also,
        baseline=old.baseline,
    )
