"""The least CPU a cold cycle's per-entry work can cost, each part measured on its own.

    .venv/bin/python bench/lower_bound.py --feeds 200      # 10,000 farm entries

For the farm's entries (``bench/farm.py``, no HTTP): parsing (``parse_feed``), identity
keys (``key_entries``), the exact text hash, MinHash sketch and band keys, matching and
figure extraction with the shipped watchlists, and writing the rows a new story needs
(items, stories, band keys) with plain ``sqlite3`` ``executemany`` in transactions of
``STORE_CHUNK`` entries: no lookups and no Python logic of newsmon's, so less than storing
can ever cost. The sum, per entry, is a floor under a cold cycle's CPU; compare it with
the budget the cold target leaves (``docs/performance.md``, "Where it stands").
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.farm import feed_xml  # noqa: E402
from monitor.analysis.watchlist import load_watchlists  # noqa: E402
from monitor.domain.model import Article  # noqa: E402
from monitor.identity.keys import KeyedEntry, key_entries, text_hash  # noqa: E402
from monitor.identity.sketch import pack_sketch, sketch_bands, text_sketch  # noqa: E402
from monitor.parse.feeds import parse_feed  # noqa: E402
from monitor.pipeline.writers import STORE_CHUNK  # noqa: E402
from monitor.runtime.app import compile_watchlists  # noqa: E402
from storage.db import make_engine, upgrade  # noqa: E402

BASE = "http://127.0.0.1:1"  # only written into the generated links; nothing is fetched


def timed(label: str, entries: int, work: Callable[[], Any]) -> tuple[float, Any]:
    start = time.process_time()
    result = work()
    cpu = time.process_time() - start
    print(f"{label:44s} {cpu:7.2f} s CPU  {cpu / entries * 1e6:8.1f} µs/entry")
    return cpu, result


def write_rows(
    path: Path,
    keyed: list[KeyedEntry],
    sketches: list[tuple[int, ...]],
    bands: list[list[int]],
) -> None:
    engine = make_engine(f"sqlite:///{path}")  # the real schema, indexes included
    upgrade(engine)
    engine.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-32000"):
        conn.execute(f"PRAGMA {pragma}")
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    for start in range(0, len(keyed), STORE_CHUNK):
        end = start + STORE_CHUNK
        chunk = list(zip(keyed[start:end], sketches[start:end], bands[start:end], strict=True))
        conn.execute("BEGIN")
        ids = [
            conn.execute(
                "INSERT INTO stories (title, first_seen_at, sketch) VALUES (?, ?, ?)",
                (k.entry.title, now, pack_sketch(sketch)),
            ).lastrowid
            for k, sketch, _ in chunk
        ]
        conn.executemany(
            "INSERT INTO story_bands (band, story_id) VALUES (?, ?)",
            [(band, story) for (*_, keys), story in zip(chunk, ids, strict=True) for band in keys],
        )
        conn.executemany(
            "INSERT INTO items (story_id, guid_key, url_key, content_hash, text_hash, url,"
            " canonical_url, outlet, title, summary, text, first_seen_at, matched)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]')",
            [
                (
                    story,
                    k.keys.guid_key,
                    k.keys.url_key,
                    k.keys.content_hash,
                    k.keys.content_hash,
                    k.entry.url,
                    k.keys.canonical_url,
                    k.outlet,
                    k.entry.title,
                    k.entry.summary,
                    k.entry.text,
                    now,
                )
                for (k, *_), story in zip(chunk, ids, strict=True)
            ],
        )
        conn.execute("COMMIT")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    args = parser.parse_args()
    bodies = [feed_xml(f, 0, args.items, BASE) for f in range(args.feeds)]
    count = args.feeds * args.items
    compiled = compile_watchlists(load_watchlists(ROOT / "watchlists"))
    total = 0.0

    def add(label: str, work: Callable[[], Any]) -> Any:
        nonlocal total
        cpu, result = timed(label, count, work)
        total += cpu
        return result

    feeds = add(
        "parse (lxml fast path)",
        lambda: [parse_feed(b, url=f"{BASE}/feed/{i}.xml") for i, b in enumerate(bodies)],
    )
    keyed = add(
        "identity keys", lambda: [k for feed in feeds for k in key_entries(feed.entries, None)]
    )
    articles = [Article(title=k.entry.title, text=k.entry.text, url=k.entry.url) for k in keyed]
    add("text hash", lambda: [text_hash(a.title, a.text) for a in articles])
    sketches = add("MinHash sketch", lambda: [text_sketch(a.text) for a in articles])
    bands = add("band keys", lambda: [sketch_bands(s) for s in sketches])
    add("matching", lambda: [compiled.matcher.match(a) for a in articles])
    add("figure extraction", lambda: [compiled.extractor.extract(a) for a in articles])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.db"
        add(
            "rows only (raw sqlite3, real schema)", lambda: write_rows(path, keyed, sketches, bands)
        )
    print(f"{'sum':44s} {total:7.2f} s CPU  {total / count * 1e6:8.1f} µs/entry")


if __name__ == "__main__":
    main()
