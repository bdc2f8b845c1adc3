"""Entry identity: the keys by which storage recognises an entry it has seen before.

The fallback chain, each key enforced by a UNIQUE index in ``storage``:

1. ``guid_key``  — feed URL + the entry's GUID (GUIDs are only unique within a feed); a
   GUID the feed gives to entries with different links or titles is no identity, and
   those entries' key is feed URL + GUID + link (title and text without a link);
2. ``url_key``   — the canonical URL (tracking parameters, AMP variants, case removed);
3. ``content_hash`` — outlet + normalised title and text, for entries whose GUID and URL
   both changed.

A *story* groups entries that are the same news from different outlets: an exact copy is
found by ``text_hash``, an edited one by its MinHash sketch and LSH band keys
(``monitor.identity.sketch``: storage indexes stories by them, and its migrations compute them).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.domain.model import Entry
from monitor.identity.urls import canonical_url, outlet_of, url_key

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class EntryKeys:
    guid_key: str | None
    url_key: str | None
    canonical_url: str | None
    content_hash: str


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def normalise_text(text: str) -> str:
    """Lower-case words only: punctuation, markup remnants and spacing do not count."""
    return " ".join(_WORD.findall(text.casefold()))


def entry_keys(entry: Entry, outlet: str | None, *, guid_reused: bool = False) -> EntryKeys:
    """The identity keys of an entry as its feed carried it (before any article fetch).
    ``guid_reused``: its feed gives the entry's GUID to other entries too."""
    canonical = None
    ukey = None
    if entry.url:
        canonical = canonical_url(entry.url)
        ukey = url_key(entry.url)
    guid = (entry.guid or "").strip()
    gkey: str | None = None
    if guid and guid_reused:
        gkey = _digest(entry.feed_url, guid, entry.url or f"{entry.title}\x1f{entry.text}")[:40]
    elif guid:
        gkey = _digest(entry.feed_url, guid)[:40]
    content = _digest(outlet or "", normalise_text(f"{entry.title} {entry.text}"))
    return EntryKeys(gkey, ukey, canonical, content)


@dataclass(frozen=True, slots=True)
class KeyedEntry:
    """An entry with its identity keys and the outlet it is credited to."""

    entry: Entry
    keys: EntryKeys
    outlet: str | None


def key_entries(entries: Iterable[Entry], feed_outlet: str | None) -> list[KeyedEntry]:
    """Each entry once (feeds repeat GUIDs), with its keys; an entry without a link is
    credited to ``feed_outlet``. Pure, so a parse worker computes it with the parse."""
    entries = list(entries)
    reused = reused_guids(entries)
    keyed: list[KeyedEntry] = []
    seen: set[str] = set()
    for entry in entries:
        outlet = outlet_of(entry.url) if entry.url else feed_outlet
        keys = entry_keys(entry, outlet, guid_reused=(entry.guid or "").strip() in reused)
        own = {k for k in (keys.guid_key, keys.url_key, keys.content_hash) if k}
        if own & seen:
            continue
        seen |= own
        keyed.append(KeyedEntry(entry, keys, outlet))
    return keyed


def reused_guids(entries: Iterable[Entry]) -> set[str]:
    """The GUIDs given to entries that are not the same: other links, or without links,
    other titles (a feed that gives every item one GUID would otherwise have only its
    first item stored, ever)."""
    first: dict[str, tuple[str | None, str]] = {}
    reused: set[str] = set()
    for entry in entries:
        guid = (entry.guid or "").strip()
        if not guid:
            continue
        identity = (entry.url, "" if entry.url else entry.title)
        if first.setdefault(guid, identity) != identity:
            reused.add(guid)
    return reused


def text_hash(title: str, text: str) -> str:
    """Hash of a story's text, equal for exact copies under other titles when the body is long."""
    body = normalise_text(text)
    return _digest(body if len(body) >= 200 else normalise_text(f"{title} {text}"))
