"""A loopback feed farm: N RSS feeds × K items on 127.0.0.1, in its own process.

    .venv/bin/python bench/farm.py --feeds 1000 --items 50      # prints the port, serves

``GET /feed/<i>.xml`` is feed ``i``; ``GET /_round/<r>`` moves the farm to round ``r``
(in round r ≥ 1 every tenth feed has rotated in 5·r new items, the oldest dropping out).
Each response carries an ETag and a Last-Modified that change only with the feed's
content, and a conditional request for unchanged content gets 304. Bodies are built on
first request and cached, so 10,000 configured feeds cost nothing until they change.

The server is a bare asyncio protocol (HTTP/1.1 keep-alive, no parsing beyond what a GET
needs) so that the farm's own CPU stays small next to the client's.
"""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import random
import sys
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"
CHURN_EVERY = 10  # every tenth feed changes in a churn round
CHURN_ITEMS = 5
EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z; items are dated from here on

GENERIC = [
    "The regional council approved a revised budget for road repairs after a long debate.",
    "Local farmers said the early frost had damaged part of the wheat harvest this year.",
    "The central bank left interest rates unchanged, citing stable prices and steady growth.",
    "A new rail link between the two cities is expected to open at the end of next spring.",
    "Officials at the port reported that container traffic rose for the third straight month.",
    "The museum reopened its east wing after a renovation that took nearly two years.",
    "Teachers in the capital held a one-day strike over pay and the size of their classes.",
    "The health ministry urged residents to get vaccinated before the winter season begins.",
    "Storms knocked out power to thousands of homes along the coast overnight, utilities said.",
    "The football club confirmed the signing of a young striker on a four-year contract.",
    "Researchers published a study on river pollution that points to upstream factories.",
    "The mayor promised more buses on the busiest routes after weeks of complaints.",
    "Exports of machinery fell slightly in the last quarter, the statistics office said.",
    "A court adjourned the corruption trial of a former minister until next month.",
    "The airline added three weekly flights to the capital starting in the summer season.",
]


def _seed_sentences() -> list[str]:
    """Sentences on the watchlists' themes (with figures), from the seed documents."""
    sentences: list[str] = []
    if SEEDS.is_dir():
        for path in sorted(SEEDS.glob("*.txt")):
            text = " ".join(path.read_text(encoding="utf-8").split())
            sentences += [s.strip() + "." for s in text.split(". ") if 40 < len(s) < 400]
    return sentences or [
        "North Korea has sent about 11,000 troops to Russia's Kursk region, Seoul says.",
        "Ukraine says at least 3,000 North Korean soldiers have been killed or wounded.",
    ]


THEMED = _seed_sentences()


def feed_version(feed: int, round_: int) -> int:
    return round_ if feed % CHURN_EVERY == 0 else 0


def etag(feed: int, version: int) -> str:
    return f'"f{feed}-v{version}"'


def last_modified(version: int) -> str:
    return email.utils.formatdate(EPOCH + 3600 * version, usegmt=True)


SUBJECTS = [
    "The regional council",
    "Local farmers",
    "The central bank",
    "Port officials",
    "The museum board",
    "Teachers in the capital",
    "The health ministry",
    "Utilities",
    "The football club",
    "Researchers",
    "The mayor",
    "The statistics office",
    "A district court",
    "The airline",
    "Rail operators",
    "Fishermen",
    "The city zoo",
    "Hospital staff",
    "The energy regulator",
    "Shop owners",
]
VERBS = [
    "approved",
    "criticised",
    "postponed",
    "announced",
    "questioned",
    "welcomed",
    "reviewed",
    "rejected",
    "extended",
    "published",
    "cancelled",
    "defended",
]
OBJECTS = [
    "a revised budget",
    "new rules",
    "the harvest report",
    "a plan for the harbour",
    "the winter timetable",
    "a study on river pollution",
    "the price of tickets",
    "a contract",
    "repairs to the old bridge",
    "a vaccination drive",
    "the new terminal",
    "a pay offer",
    "the flood defences",
    "a school building programme",
]
PLACES = [
    "in the north",
    "near the coast",
    "in the old town",
    "across the province",
    "in three villages",
    "along the river",
    "at the main station",
    "in the suburbs",
]


def _generic(rng: random.Random) -> str:
    return (
        f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(PLACES)} "
        f"on day {rng.randint(1, 365)}, after {rng.choice(GENERIC)[:-1].lower()}."
    )


def item_text(feed: int, number: int) -> tuple[str, list[str]]:
    """Title and 3-6 sentences; a third of the items carry a sentence on the watchlists'
    themes (from the seed documents, with figures)."""
    rng = random.Random(feed * 1_000_003 + number)
    sentences = [_generic(rng) for _ in range(rng.randint(3, 6))]
    if rng.random() < 0.3:
        sentences.insert(rng.randint(0, len(sentences)), rng.choice(THEMED))
    return sentences[0][:90].rstrip(".") + f" ({feed}.{number})", sentences


def item_xml(feed: int, number: int, base: str) -> str:
    title, sentences = item_text(feed, number)
    body = "".join(f"<p>{escape(s)}</p>" for s in sentences)
    date = email.utils.formatdate(EPOCH + 60 * number, usegmt=True)
    link = f"{base}/article/{feed}/{number}"
    return (
        f"<item><title>{escape(title)}</title><link>{link}</link>"
        f'<guid isPermaLink="false">farm-{feed}-{number}</guid><pubDate>{date}</pubDate>'
        f"<description>{escape(body)}</description></item>"
    )


def feed_xml(feed: int, version: int, items: int, base: str) -> bytes:
    first = CHURN_ITEMS * version
    entries = "".join(item_xml(feed, n, base) for n in range(first + items - 1, first - 1, -1))
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Farm feed {feed}</title><link>{base}/</link>"
        f"<description>Generated news, feed {feed}</description>"
        f"{entries}</channel></rss>"
    ).encode()


class Farm:
    def __init__(self, feeds: int, items: int) -> None:
        self.feeds = feeds
        self.items = items
        self.round = 0
        self.base = ""
        self.cache: dict[tuple[int, int], bytes] = {}
        self.requests = 0

    def respond(self, path: str, headers: dict[str, str]) -> bytes:
        self.requests += 1
        if path.startswith("/_round/"):
            self.round = int(path.removeprefix("/_round/"))
            self.cache = {k: v for k, v in self.cache.items() if k[1] == 0}
            return _response(200, b"ok", {})
        if not (path.startswith("/feed/") and path.endswith(".xml")):
            return _response(404, b"not found", {})
        feed = int(path[6:-4])
        if not 0 <= feed < self.feeds:
            return _response(404, b"not found", {})
        version = feed_version(feed, self.round)
        tag, stamp = etag(feed, version), last_modified(version)
        validators = {"ETag": tag, "Last-Modified": stamp}
        if headers.get("if-none-match") == tag or headers.get("if-modified-since") == stamp:
            return _response(304, b"", validators)
        body = self.cache.get((feed, version))
        if body is None:
            body = self.cache[(feed, version)] = feed_xml(feed, version, self.items, self.base)
        return _response(200, body, validators | {"Content-Type": "application/rss+xml"})


_REASONS = {200: "OK", 304: "Not Modified", 404: "Not Found"}


def _response(status: int, body: bytes, headers: dict[str, str]) -> bytes:
    head = f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (head + "\r\n").encode() + body


class _Connection(asyncio.Protocol):
    def __init__(self, farm: Farm) -> None:
        self.farm = farm
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head, self.buffer = self.buffer[:end].decode("latin-1"), self.buffer[end + 4 :]
            lines = head.split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            assert self.transport is not None
            self.transport.write(self.farm.respond(path, headers))


async def serve(feeds: int, items: int, port: int, pregenerate: bool) -> None:
    farm = Farm(feeds, items)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(farm), "127.0.0.1", port, backlog=2048)
    bound = server.sockets[0].getsockname()[1]
    farm.base = f"http://127.0.0.1:{bound}"
    if pregenerate:  # build round 0 up front so that building it is never measured
        for feed in range(feeds):
            farm.cache[(feed, 0)] = feed_xml(feed, 0, items, farm.base)
    print(bound, flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--pregenerate", action="store_true", help="build round 0 at start")
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.feeds, args.items, args.port, args.pregenerate))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
