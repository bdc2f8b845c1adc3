"""How long each dashboard page takes over a year of history.

    .venv/bin/python bench/dashboard.py [--db sqlite:///dash.db] [--days 365]

Fills a database (SQLite by default, or a PostgreSQL URL) with DAYS of synthetic history —
STORIES_PER_DAY stories of two items each, an observation of one of FIGURES figures per
OBS_EVERY stories, two alerts per story, FEEDS feeds — then renders each page
through ``Dashboard.handle`` and prints the median of 5 renders.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from monitor.web.app import Dashboard
from storage.db import make_engine, read_sessions, upgrade
from storage.models import AlertRow, Feed, FigureObservation, FigureSeries, Item, Story

STORIES_PER_DAY = 300
FIGURES = 20
OBS_EVERY = 3
FEEDS = 200
OUTLETS = [f"outlet{i}.test" for i in range(40)]
STATES = ["sent", "sent", "sent", "sent", "failed", "held", "rolled", "pending"]


def fill(url: str, days: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(Feed),
            [{"url": f"http://feeds.test/{i}.xml", "name": f"Feed {i}"} for i in range(FEEDS)],
        )
        conn.execute(
            insert(FigureSeries), [{"figure": f"fig{i}", "unit": "people"} for i in range(FIGURES)]
        )
    n = 0
    for day in range(days):
        stories: list[dict[str, Any]] = []
        items: list[dict[str, Any]] = []
        obs: list[dict[str, Any]] = []
        alerts: list[dict[str, Any]] = []
        for k in range(STORIES_PER_DAY):
            n += 1
            when = start + timedelta(days=day, seconds=k * 280)
            stories.append({"id": n, "title": f"Story {n}", "first_seen_at": when})
            for j in range(2):
                outlet = OUTLETS[(n + j * 7) % len(OUTLETS)]
                items.append(
                    {
                        "feed_id": (n + j) % FEEDS + 1,
                        "story_id": n,
                        "content_hash": f"c{n}-{j}",
                        "text_hash": f"t{n}",
                        "url": f"http://{outlet}/{n}",
                        "outlet": outlet,
                        "title": f"Story {n}",
                        "first_seen_at": when,
                        "matched": ["nk-deployment"],
                    }
                )
            if n % OBS_EVERY == 0:
                low = 1000 + (n % 97) * 10
                obs.append(
                    {
                        "series_id": n % FIGURES + 1,
                        "watchlist": "casualty-figures",
                        "value": low,
                        "low": low,
                        "high": low + (n % 3) * 100,
                        "qualifier": "about",
                        "attributed_to": "officials",
                        "quote": f"about {low} people",
                        "url": f"http://{OUTLETS[n % len(OUTLETS)]}/{n}",
                        "outlet": OUTLETS[n % len(OUTLETS)],
                        "title": f"Story {n}",
                        "first_seen_at": when,
                    }
                )
            for channel in ("#a", "#b"):
                alerts.append(
                    {
                        "dedup_key": f"{n}{channel}",
                        "kind": "new_item",
                        "notifier": "slack",
                        "channel": channel,
                        "watchlists": ["nk-deployment"],
                        "story_id": n,
                        "content": {},
                        "state": STATES[n % len(STATES)],
                        "created_at": when,
                        "next_attempt_at": when,
                    }
                )
        with engine.begin() as conn:
            conn.execute(insert(Story), stories)
            conn.execute(insert(Item), items)
            conn.execute(insert(FigureObservation), obs)
            conn.execute(insert(AlertRow), alerts)
    engine.dispose()


PAGES = [
    "/",
    "/figures/fig3",
    "/figures/fig3?page=100",
    "/stories",
    "/stories?page=2000",
    "/alerts",
    "/alerts?state=failed",
    "/feeds",
]


def measure(url: str) -> None:
    engine = make_engine(url)
    board = Dashboard(read_sessions(engine), host="127.0.0.1", token=None)
    for target in PAGES:
        times = []
        for _ in range(5):
            t = time.perf_counter()
            response = board.handle(target, {})
            times.append(time.perf_counter() - t)
            assert response.status == 200, target
        print(f"{target:28} {statistics.median(times) * 1000:8.1f} ms  {len(response.body):>8} B")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db")
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    url = args.db or f"sqlite:///{Path(tempfile.mkdtemp()) / 'dash.db'}"
    t = time.perf_counter()
    fill(url, args.days)
    print(f"filled {args.days} days in {time.perf_counter() - t:.0f} s ({url})")
    measure(url)


if __name__ == "__main__":
    main()
