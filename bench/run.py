"""newsmon against the floor: the same feeds fetched and parsed by the libraries alone.

    .venv/bin/python bench/run.py --scenario all          # everything (several minutes)
    .venv/bin/python bench/run.py --scenario cold --db sqlite --feeds 200

Scenarios: cold (1,000 feeds × 50 items, empty database), warm (the same again: all 304,
all 200 with an unchanged body, and all changed bodies whose entries are all stored; run
without cold, the database is seeded as a cold cycle leaves it, in seconds instead of the
cold cycle's minutes), churn (10% of the feeds with 5 new items), scale (10,000 feeds
configured, one warm cycle), processing (50,000 items through matching and figure
extraction). The feed farm (bench/farm.py) runs in its own process on 127.0.0.1; every
measurement runs in a fresh child process, so CPU time (user + system, the child's own
plus its workers') and peak RSS are newsmon's alone. The floor is ``floor()``: httpx at
the same concurrency and ``feedparser.parse`` on each body, nothing else. Traffic goes
only to the farm.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import traceback
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WORK = Path(f"/tmp/newsmon-bench-{os.getpid()}")  # per run: benchmarks may run side by side
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CONCURRENCY = 50
WARM_MODES = ("304", "unchanged", "known")  # see seed_warm


# ----------------------------------------------------------------------------- measuring


def _usage() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime, time.perf_counter()


def _measure(work: Callable[[], int]) -> dict[str, float]:
    cpu0, wall0 = _usage()
    items = work()
    cpu1, wall1 = _usage()
    rss = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    wall = wall1 - wall0
    return {
        "wall": wall,
        "cpu": cpu1 - cpu0,
        "rss_mb": rss / 1024,
        "items": items,
        "items_s": items / wall if wall else 0.0,
    }


# ----------------------------------------------------------------------------- child work


def floor(base: str, feeds: int) -> int:
    """The naive use of the libraries: httpx at CONCURRENCY, feedparser.parse on each body."""
    import feedparser
    import httpx

    async def run() -> int:
        slots = asyncio.Semaphore(CONCURRENCY)
        limits = httpx.Limits(max_connections=CONCURRENCY)
        async with httpx.AsyncClient(limits=limits) as client:

            async def one(i: int) -> int:
                async with slots:
                    response = await client.get(f"{base}/feed/{i}.xml")
                return len(feedparser.parse(response.content).entries)

            return sum(await asyncio.gather(*(one(i) for i in range(feeds))))

    return asyncio.run(run())


def _config(base: str, feeds: int, db: str) -> Any:
    from monitor.config.settings import Config, DatabaseConfig, FeedConfig, FetchConfig
    from monitor.domain.notifier_config import ConsoleConfig, NotifiersConfig

    return Config(
        database=DatabaseConfig(url=db),
        watchlists=str(ROOT / "watchlists"),
        feeds=[
            FeedConfig(url=f"{base}/feed/{i}.xml", name=f"farm {i}", fetch_article="never")
            for i in range(feeds)
        ],
        fetch=FetchConfig(
            concurrency=CONCURRENCY, per_host=CONCURRENCY, allow_private_networks=True
        ),
        notifiers=NotifiersConfig(console=ConsoleConfig(stream="stderr")),
        http={"listen": None},
    )


def cycle(base: str, feeds: int, db: str) -> dict[str, float]:
    """One ``run_once`` of newsmon; the app (migrations, watchlists) is built beforehand."""
    from monitor.pipeline import parsepool
    from monitor.pipeline.cycle import run_once
    from monitor.runtime.app import build_app

    if "BENCH_PARSE_WORKERS" in os.environ:  # A/B: 0 parses in threads
        parsepool.MAX_WORKERS = int(os.environ["BENCH_PARSE_WORKERS"])
    app = build_app(_config(base, feeds, db))
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 -- the console notifier's alerts
    sys.excepthook = lambda *exc: traceback.print_exception(*exc, file=sys.__stderr__)
    outcomes: dict[str, int] = {}

    def work() -> int:
        report = asyncio.run(run_once(app))
        parsepool.shutdown()  # reaped workers: their CPU counts in RUSAGE_CHILDREN
        for poll in report.polls:
            outcomes[poll.outcome] = outcomes.get(poll.outcome, 0) + 1
        return report.new_items

    result = _measure(work)
    result.update({f"polls_{k}": v for k, v in outcomes.items()})
    return result


def seed_warm(base: str, feeds: int, db: str, items: int = 50, mode: str = "304") -> None:
    """Configure ``feeds`` feeds already polled in round 0, as a warm cycle finds them.

    ``mode`` "304": the feed rows hold the farm's ETag and Last-Modified (every poll is a
    304). "unchanged": only the hash of the body (every poll is a 200 with the same body,
    as from servers that ignore conditional requests). "known": neither, but every entry
    is stored already (every body is fetched, parsed and found to hold nothing new: the
    parsing-bound path, as when a feed only reorders or edits its items)."""
    import hashlib

    from sqlalchemy import update

    from bench.farm import etag, feed_xml, last_modified
    from monitor.pipeline.cycle import sync_feeds
    from monitor.runtime.app import build_app
    from storage.models import Feed

    app = build_app(_config(base, feeds, db))
    sync_feeds(app)
    with app.sessions.begin() as session:
        for i in range(feeds):
            if mode == "304":
                values = {"etag": etag(i, 0), "last_modified": last_modified(0)}
            elif mode == "unchanged":
                values = {"body_hash": hashlib.sha256(feed_xml(i, 0, items, base)).hexdigest()}
            else:
                continue
            session.execute(update(Feed).where(Feed.url == f"{base}/feed/{i}.xml").values(**values))
    if mode == "known":
        _store_known_entries(app, base, feeds, items)


def _store_known_entries(app: Any, base: str, feeds: int, items: int) -> None:
    """Item rows with the identity keys of every round-0 entry (no text, one story)."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert, select

    from bench.farm import feed_xml
    from monitor.identity.keys import entry_keys
    from monitor.identity.urls import outlet_of
    from monitor.parse.feeds import parse_feed
    from storage.models import Feed, Item, Story

    seen = datetime.now(UTC) - timedelta(days=2)
    with app.sessions.begin() as session:
        ids = {url: feed_id for url, feed_id in session.execute(select(Feed.url, Feed.id))}
        story = session.scalar(
            insert(Story).values(title="seed", first_seen_at=seen).returning(Story.id)
        )
        for i in range(feeds):
            url = f"{base}/feed/{i}.xml"
            rows = []
            for entry in parse_feed(feed_xml(i, 0, items, base), url=url).entries:
                keys = entry_keys(entry, outlet_of(entry.url) if entry.url else None)
                rows.append(
                    {
                        "feed_id": ids[url],
                        "story_id": story,
                        "guid_key": keys.guid_key,
                        "url_key": keys.url_key,
                        "content_hash": keys.content_hash,
                        "text_hash": keys.content_hash,
                        "title": entry.title,
                        "first_seen_at": seen,
                        "matched": [],
                    }
                )
            session.execute(insert(Item), rows)


def processing(items: int, generated: int) -> dict[str, float]:
    """Matching and figure extraction over ``items`` articles, on one core."""
    from bench.bench_matching import generated as make_watchlists
    from bench.farm import item_text
    from monitor.analysis.analyse import extract_figures
    from monitor.analysis.watchlist import load_watchlists
    from monitor.domain.model import Article
    from monitor.runtime.app import compile_watchlists

    watchlists = load_watchlists(ROOT / "watchlists")
    if generated:
        watchlists += make_watchlists(generated, 20, all_match=False)
    compiled = compile_watchlists(watchlists)
    articles = []
    for n in range(items):
        title, sentences = item_text(n % 1000, n // 1000)
        articles.append(Article(title=title, text="\n\n".join(sentences)))

    def work() -> int:
        for article in articles:  # as monitor.analysis.analyse.analyse: figures of matches only
            extract_figures(compiled.extractor, article, compiled.matcher.match(article))
        return len(articles)

    result = _measure(work)
    result["chars"] = sum(len(a.full_text) for a in articles) / len(articles)
    return result


def child_main(argv: list[str]) -> None:
    kind, args = argv[0], json.loads(argv[1])
    work: dict[str, Callable[..., Any]] = {
        "floor": lambda base, feeds: _measure(lambda: floor(base, feeds)),
        "cycle": cycle,
        "seed_warm": seed_warm,
        "processing": processing,
    }
    print(json.dumps(work[kind](**args)), flush=True)


# ----------------------------------------------------------------------------- orchestration


def child(kind: str, **args: Any) -> dict[str, float]:
    """Run one measurement in a fresh interpreter; its last stdout line is the result."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, json.dumps(args)],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if out.returncode:
        raise SystemExit(f"{kind} failed ({out.returncode}):\n{out.stderr[-4000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result if isinstance(result, dict) else {}


@contextmanager
def farm(feeds: int, items: int, pregenerate: bool = True) -> Iterator[str]:
    flags = ["--pregenerate"] if pregenerate else []
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "farm.py"),
            "--feeds",
            str(feeds),
            "--items",
            str(items),
            *flags,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base = f"http://127.0.0.1:{proc.stdout.readline().strip()}"
        yield base
    finally:
        proc.terminate()
        proc.wait()


def set_round(base: str, round_: int) -> None:
    with urllib.request.urlopen(f"{base}/_round/{round_}") as response:  # the farm only
        response.read()


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a private PostgreSQL schema."""
    if kind == "sqlite":
        shutil.rmtree(WORK, ignore_errors=True)
        WORK.mkdir(parents=True)
        try:
            yield f"sqlite:///{WORK / 'bench.db'}"
        finally:
            shutil.rmtree(WORK, ignore_errors=True)
        return
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_ADMIN}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def row(label: str, r: dict[str, float], floor_wall: float | None = None) -> None:
    ratio = f"  {r['wall'] / floor_wall:5.2f}× floor cold" if floor_wall else ""
    polls = " ".join(f"{k[6:]}={int(v)}" for k, v in r.items() if k.startswith("polls_"))
    print(
        f"{label:<28} wall {r['wall']:7.2f}s  cpu {r['cpu']:7.2f}s  rss {r['rss_mb']:6.0f} MB"
        f"  {int(r['items']):>7} items {r['items_s']:9,.0f}/s{ratio}  {polls}",
        flush=True,
    )


def run_warm(dbs: list[str], feeds: int, items: int) -> None:
    """Warm cycles without a cold one first: feed rows seeded as a cold cycle leaves them."""
    with farm(feeds, items) as base:
        cold_floor = child("floor", base=base, feeds=feeds)
        row("floor: cold", cold_floor)
        for db in dbs:
            for mode in WARM_MODES:
                with database(db) as url:
                    child("seed_warm", base=base, feeds=feeds, db=url, items=items, mode=mode)
                    row(
                        f"newsmon {db}: warm ({mode})",
                        child("cycle", base=base, feeds=feeds, db=url),
                        cold_floor["wall"],
                    )


def run_cycles(dbs: list[str], feeds: int, items: int, scenarios: set[str]) -> None:
    if scenarios & {"cold", "churn"} == set():
        run_warm(dbs, feeds, items)
        return
    with farm(feeds, items) as base:
        cold_floor = child("floor", base=base, feeds=feeds)
        row("floor: cold", cold_floor)
        for db in dbs:
            set_round(base, 0)
            with database(db) as url:
                row(
                    f"newsmon {db}: cold",
                    child("cycle", base=base, feeds=feeds, db=url),
                    cold_floor["wall"],
                )
                if scenarios & {"warm", "churn"}:
                    row(
                        f"newsmon {db}: warm",
                        child("cycle", base=base, feeds=feeds, db=url),
                        cold_floor["wall"],
                    )
                if "churn" in scenarios:
                    set_round(base, 1)
                    row(
                        f"newsmon {db}: churn",
                        child("cycle", base=base, feeds=feeds, db=url),
                        cold_floor["wall"],
                    )
        if "churn" in scenarios:
            row("floor: churn (all feeds)", child("floor", base=base, feeds=feeds))


def run_scale(dbs: list[str], feeds: int) -> None:
    with farm(feeds, 50, pregenerate=False) as base:
        for db in dbs:
            with database(db) as url:
                child("seed_warm", base=base, feeds=feeds, db=url)
                row(f"newsmon {db}: scale warm", child("cycle", base=base, feeds=feeds, db=url))


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenario",
        default="all",
        choices=["all", "cold", "warm", "churn", "scale", "processing"],
    )
    parser.add_argument("--db", default="both", choices=["both", "sqlite", "postgresql"])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--scale-feeds", type=int, default=10_000)
    parser.add_argument("--processing-items", type=int, default=50_000)
    args = parser.parse_args()
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    wanted = {"cold", "warm", "churn", "scale", "processing"}
    scenarios = wanted if args.scenario == "all" else {args.scenario}
    print(
        f"nproc {os.cpu_count()}, python {sys.version.split()[0]}, "
        f"{args.feeds} feeds × {args.items} items, concurrency {CONCURRENCY}",
        flush=True,
    )
    if scenarios & {"cold", "warm", "churn"}:
        run_cycles(dbs, args.feeds, args.items, scenarios)
    if "scale" in scenarios:
        run_scale(dbs, args.scale_feeds)
    if "processing" in scenarios:
        for label, generated in (("shipped watchlists", 0), ("+ 200 generated", 200)):
            row(
                f"processing: {label}",
                child("processing", items=args.processing_items, generated=generated),
            )


if __name__ == "__main__":
    main()
