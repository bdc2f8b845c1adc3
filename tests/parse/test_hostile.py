"""One hostile feed beside a healthy one, through ``newsmon run --once`` against local
servers (issue 15): the hostile feed can neither stop, kill nor poison newsmon, nothing
from it reaches a mail header, and the healthy feed is stored every time.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, update

from monitor.analysis.regex_aliases import regex_problem
from monitor.config.load import load_config
from monitor.parse.fields import MAX_ENTRIES, TITLE_LIMIT
from monitor.parse.htmltext import html_to_text
from monitor.pipeline.cycle import MAX_ARTICLES_PER_POLL
from monitor.pipeline.cycle import run_once as run_cycle
from monitor.pipeline.parsepool import ARTICLE_MAX_BYTES
from monitor.runtime.app import build_app
from storage import queries
from storage.models import Feed, Item
from tests.sources.test_faults import GOOD, Setup, cli, feeds_json, items_of, rss, server
from tests.support.feedserver import FeedServer, Response, gzipped
from tests.support.paths import REPO
from tests.support.service_process import wait_until
from tests.support.smtp_server import SmtpServer

__all__ = ["server"]

MATCHING = "North Korean troops deployed to Russia's Kursk region, Ukraine says"


def recent(hours: int = 1) -> str:
    return format_datetime(datetime.now(UTC) - timedelta(hours=hours), usegmt=True)


def item(title: str, *, guid: str, link: str, description: str = "A report.") -> str:
    return (
        f"<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>"
        f"<description>{description}</description><pubDate>{recent()}</pubDate></item>"
    )


def feed_of(*items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>h</title>'
        "<link>https://hostile.example/</link>" + "".join(items) + "</channel></rss>"
    ).encode()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as mail:
        yield mail


def write_with(setup: Setup, **config: Any) -> str:
    """The setup's config file with top-level keys replaced."""
    path = Path(setup.write())
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(config)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


def run_once(setup: Setup, **config: Any) -> tuple[int, str, str]:
    return cli("run", "--once", "--config", write_with(setup, **config))


def hostile_beside_good(server: FeedServer, tmp_path: Path, body: bytes) -> Setup:
    server.add("/good", GOOD)
    server.add("/hostile", body)
    setup = Setup(tmp_path, server)
    setup.feed("good", "/good")
    setup.feed("hostile", "/hostile")
    return setup


# --- mail headers and rendered text -------------------------------------------------------


def test_encoded_word_crlf_in_a_title_adds_no_header_or_part(
    server: FeedServer, tmp_path: Path, smtp: SmtpServer
) -> None:
    evil = (
        "=?utf-8?q?=0D=0AReply-To:_attacker@evil.example=0D=0AContent-Type:_text/html?= "
        + MATCHING
        + " =?utf-8?q?=01=0A=0D?= \u202egnp.exe"
    )
    body = feed_of(item(evil, guid="evil-1", link="https://hostile.example/a/1"))
    setup = hostile_beside_good(server, tmp_path, body)
    email = {"host": "127.0.0.1", "port": smtp.port, "from": "newsmon@test.example"}
    notifiers = {"email": {**email, "to": ["t@test.example"]}, "console": {}}
    code, out, err = run_once(setup, notifiers=notifiers)
    assert code == 0, err
    assert "North Korean troops" in out and "\u202e" not in out, "console: no bidi override"
    assert items_of(setup.write())["good"] == 2
    assert smtp.messages, "the matching story was mailed"
    for received in smtp.messages:
        message = received.message
        assert message["Reply-To"] is None
        subject = str(message["Subject"])
        assert not any(c in subject for c in "\r\n\x01\u202e"), subject
        assert "North Korean troops" in subject
        assert [part.get_content_type() for part in message.walk()] == [
            "multipart/alternative",
            "text/plain",
            "text/html",
        ]
        assert received.rcpt_tos == ["t@test.example"]


# --- data that must not be lost ------------------------------------------------------------


def json_feed(*items: dict[str, Any]) -> bytes:
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "j", "items": list(items)}
    ).encode()


def test_nul_and_control_characters_are_stripped_before_storing(
    server: FeedServer, tmp_path: Path, db_url: str
) -> None:
    body = json_feed(
        {"id": "nul-1", "url": "https://hostile.example/n/1", "title": "NUL \u0000 here",
         "content_text": "Body with \u0000 and \ud800 and \x1b[31m escapes.",
         "author": {"name": "a\u0000"}},
        {"id": "nul-2", "url": "https://hostile.example/n/2", "title": "Plain neighbour",
         "content_text": "Nothing odd."},
    )  # fmt: skip
    setup = hostile_beside_good(server, tmp_path, body)
    server.add("/rss-nul", feed_of(item("Raw &#0; NUL", guid="r-1", link="https://h.example/r")))
    setup.feed("rss-nul", "/rss-nul")
    code, _out, err = run_once(setup, database={"url": db_url})
    assert code == 0, err
    stored = items_of(write_with(setup, database={"url": db_url}))
    assert stored == {"good": 2, "hostile": 2, "rss-nul": 1}
    rows = feeds_json(write_with(setup, database={"url": db_url}))
    assert rows["hostile"]["consecutive_failures"] == 0


@pytest.mark.slow
def test_entries_per_poll_and_titles_are_capped(server: FeedServer, tmp_path: Path) -> None:
    many = MAX_ENTRIES + 500
    start = datetime(2024, 1, 1, tzinfo=UTC)
    items = [
        f"<item><title>tiny {i}</title><guid>t-{i}</guid><pubDate>"
        f"{format_datetime(start + timedelta(minutes=i), usegmt=True)}</pubDate></item>"
        for i in range(many)
    ]
    big_title = "Headline " + "x" * (5 * TITLE_LIMIT)
    items.append(item(big_title, guid="big-1", link="https://hostile.example/big"))
    setup = hostile_beside_good(server, tmp_path, feed_of(*reversed(items)))
    code, _out, err = run_once(setup)
    assert code == 0, err
    config = setup.write()
    assert items_of(config) == {"good": 2, "hostile": MAX_ENTRIES}
    row = feeds_json(config)["hostile"]
    assert f"kept the newest {MAX_ENTRIES} of {many + 1}" in row["last_error"]
    app = build_app(load_config(config))
    with app.sessions() as session:
        titles = session.scalars(select(Item.title)).all()
    app.engine.dispose()
    assert max(len(t) for t in titles) == TITLE_LIMIT
    assert "tiny 500" not in titles and "tiny 501" in titles, "the oldest were dropped"


# --- crashes and hangs -------------------------------------------------------------------


def _best_of(runs: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize("unit", ["<p a", '<a "', "<a \"<a '", "<!x", '<div class="a<b" '])
def test_html_to_text_is_linear_on_unclosed_tags(unit: str) -> None:
    """Four times the input costs about four times the time (quadratic: sixteen). A ratio,
    not a time limit: it holds on a slow or busy machine alike."""
    small, large = unit * 4096, unit * 16384
    ratio = _best_of(3, lambda: html_to_text(large)) / _best_of(3, lambda: html_to_text(small))
    assert ratio < 9, f"{unit!r}: 4× the input took {ratio:.1f}× the time"


def test_unclosed_tags_in_a_feed_do_not_stall_the_others(
    server: FeedServer, tmp_path: Path
) -> None:
    payload = "&lt;p a" * 16384  # 64 KB of "<p a" once unescaped
    body = feed_of(
        item(payload, guid="tags-1", link="https://hostile.example/t/1", description=payload)
    )
    setup = hostile_beside_good(server, tmp_path, body)
    code, _out, err = run_once(setup)
    assert code == 0, err
    assert items_of(setup.write()) == {"good": 2, "hostile": 1}


def test_a_guid_reused_for_different_stories_is_no_identity(
    server: FeedServer, tmp_path: Path, db_url: str
) -> None:
    same = [
        item(f"Story number {i}", guid="same-guid", link=f"https://hostile.example/s/{i}")
        for i in range(3)
    ]
    copy = item("Story number 0", guid="same-guid", link="https://hostile.example/s/0")
    setup = hostile_beside_good(server, tmp_path, feed_of(*same, copy))
    config = write_with(setup, database={"url": db_url})
    code, _out, err = cli("run", "--once", "--config", config)
    assert code == 0, err
    assert items_of(config) == {"good": 2, "hostile": 3}, "every story, the copy once"
    more = item("Story number 3", guid="same-guid", link="https://hostile.example/s/3")
    server.add("/hostile", feed_of(more, *same))
    server.add("/good", GOOD + b" ")  # changed bytes: parsed again, nothing new
    code, _out, err = cli("run", "--once", "--config", config)
    assert code == 0, err
    assert items_of(config) == {"good": 2, "hostile": 4}


def test_bad_json_feed_fields_cost_only_that_field(server: FeedServer, tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    body = (
        '{"version": "https://jsonfeed.org/version/1.1", "items": ['
        '{"id": "d-1", "url": "https://hostile.example/d/1", "title": "Deep",'
        f' "content_html": {deep}, "date_published": "0001-01-01T00:00:00+14:00"}},'
        '{"id": "d-2", "url": "https://hostile.example/d/2", "title": "Late",'
        ' "date_modified": "9999-12-31T23:59:59-14:00", "_n": ' + "9" * 5000 + "},"
        '{"id": "d-3", "url": "https://hostile.example/d/3", "title": "Fine [{\\""}]}'
    ).encode()
    setup = hostile_beside_good(server, tmp_path, body)
    code, _out, err = run_once(setup)
    assert code == 0, err
    assert items_of(setup.write()) == {"good": 2, "hostile": 3}


# --- watchlist folder ----------------------------------------------------------------------

BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
)


@pytest.mark.parametrize(
    ("text", "line"),
    [(BOMB, 2), ("name: selfref\nterms: &t {x: [*t]}\n", 2), ("name: m\n<<: &b {}\nx: *b\n", 3)],
)
def test_yaml_aliases_are_refused_at_their_line(tmp_path: Path, text: str, line: int) -> None:
    folder = tmp_path / "watchlists"
    folder.mkdir()
    for shipped in (REPO / "watchlists").glob("*.yaml"):
        (folder / shipped.name).write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "hostile.yaml").write_text(text, encoding="utf-8")
    config = tmp_path / "newsmon.yaml"
    config.write_text(yaml.safe_dump({"watchlists": str(folder), "http": {"listen": None}}))
    code, _out, err = cli("validate", "--config", str(config))
    assert code == 1
    assert f"hostile.yaml:{line}: YAML aliases are not supported" in err, err
    assert "Traceback" not in err


def test_a_symlinked_watchlist_pointing_out_of_the_folder_is_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "watchlists"
    folder.mkdir()
    secret = tmp_path / "secret.yaml"
    secret.write_text("password: TOP-SECRET-MARKER\n: [\n", encoding="utf-8")
    for shipped in (REPO / "watchlists").glob("*.yaml"):
        (folder / shipped.name).write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "leak.yaml").symlink_to(secret)
    config = tmp_path / "newsmon.yaml"
    config.write_text(yaml.safe_dump({"watchlists": str(folder), "http": {"listen": None}}))
    code, out, err = cli("validate", "--config", str(config))
    assert code == 1
    assert "leak.yaml: a symlink out of the folder: not read" in err
    assert "TOP-SECRET-MARKER" not in out + err


# --- secrets in feed URLs ------------------------------------------------------------------


def test_credentials_in_feed_urls_are_redacted_in_logs_and_listings(
    server: FeedServer, tmp_path: Path
) -> None:
    server.add("/good", GOOD)
    server.add("/private", b"", status=500)
    port = server.url("/").split(":")[2].split("/")[0]
    setup = Setup(tmp_path, server)
    setup.feed("good", "/good")
    secret_feeds = [
        {"name": "query", "url": server.url("/private?token=QUERY-SECRET-1&page=2")},
        {"name": "userinfo", "url": f"http://reader:USERINFO-SECRET-2@127.0.0.1:{port}/private"},
        {"name": "key", "url": server.url("/private?api_key=KEY-SECRET-3")},
    ]
    path = write_with(setup, log={"level": "DEBUG", "format": "json"})
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    data["feeds"] += [{**f, "fetch_article": "never"} for f in secret_feeds]
    Path(path).write_text(yaml.safe_dump(data), encoding="utf-8")
    outputs = []
    for args in (["run", "--once"], ["feeds"], ["feeds", "--json"]):
        code, out, err = cli(*args, "--config", path)
        outputs.append(out + err)
        assert code in (0, 1), err
    rows = feeds_json(path)
    assert rows["query"]["url"].endswith("/private?token=[redacted]&page=2")
    assert rows["userinfo"]["url"].startswith("http://reader:[redacted]@127.0.0.1")
    assert "HTTP 500" in rows["key"]["last_error"]
    everything = "\n".join(outputs) + json.dumps(rows)
    assert "private?token=[redacted]" in outputs[0], "the failing poll was logged, redacted"
    for secret in ("QUERY-SECRET-1", "USERINFO-SECRET-2", "KEY-SECRET-3"):
        assert secret not in everything
    assert items_of(path)["good"] == 2


@pytest.mark.parametrize(
    "pattern",
    [r"(?:a{1,20}){1,20}b", r"\d+x?\d+y", r"(?:\d{1,3}){2}x", r"[a-z]+ ?\w+!"],
)
def test_pathological_watchlist_regexes_are_refused(tmp_path: Path, pattern: str) -> None:
    folder = tmp_path / "watchlists"
    folder.mkdir()
    shipped = (REPO / "watchlists" / "kn-23.yaml").read_text(encoding="utf-8")
    line = next(i for i, t in enumerate(shipped.splitlines(), 1) if "regex:" in t)
    hostile = shipped.replace(
        '{regex: "hwas(?:e?o)ng[- ]?11(?:[a-d]|ga|na|da|ra)?"}', json.dumps({"regex": pattern})
    )
    (folder / "kn-23.yaml").write_text(hostile, encoding="utf-8")
    config = tmp_path / "newsmon.yaml"
    config.write_text(yaml.safe_dump({"watchlists": str(folder), "http": {"listen": None}}))
    code, _out, err = cli("validate", "--config", str(config))
    assert code == 1
    assert f"kn-23.yaml:{line}:" in err and "could backtrack catastrophically" in err, err


@pytest.mark.parametrize(
    "pattern", [r"(?:ab{2}){3}", r"(?:ab?){2}", r"\d+x\d+y", r"\w+\s+missiles"]
)
def test_harmless_repeats_stay_accepted(pattern: str) -> None:
    assert regex_problem(pattern) is None


def test_entity_declarations_are_not_expanded(server: FeedServer, tmp_path: Path) -> None:
    value = "x" * 20_000
    uses = "&a;" * 100
    body = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "{value}">\n]>\n'
        '<rss version="2.0"><channel><title>amplified</title>'
        + "".join(
            f"<item><title>Entity {i} &a;</title><description>{uses}</description>"
            f"<guid>e-{i}</guid><link>https://hostile.example/e/{i}</link></item>"
            for i in range(5)
        )
        + "</channel></rss>"
    ).encode()
    setup = hostile_beside_good(server, tmp_path, body)
    code, _out, err = run_once(setup)
    assert code == 0, err
    config = setup.write()
    assert items_of(config) == {"good": 2, "hostile": 5}
    app = build_app(load_config(config))
    with app.sessions() as session:
        longest = max(len(i.title) + len(i.summary or "") for i in session.scalars(select(Item)))
    app.engine.dispose()
    assert longest < 1000, "no reference was expanded"


def test_junk_after_a_gzip_body_is_not_read(server: FeedServer, tmp_path: Path) -> None:
    sent: list[int] = []

    def junk() -> Iterator[bytes]:
        yield gzipped(rss("zipped", 2))
        for _ in range(4096):  # 256 MB of junk if it were all read
            sent.append(1)
            yield b"J" * 65536

    setup = hostile_beside_good(server, tmp_path, b"")
    server.add(
        "/hostile", lambda _request: Response(body=junk(), headers={"Content-Encoding": "gzip"})
    )
    code, _out, err = run_once(
        setup,
        fetch={
            **setup.fetch,
            "allow_private_networks": True,
            "timeout": "30s",  # bounds a failure only; the count of chunks sent decides
            "max_bytes": 1_000_000,
        },
    )
    assert code == 0, err
    assert items_of(setup.write()) == {"good": 2, "hostile": 2}
    assert len(sent) < 100, "the junk was not read to its end"


def test_a_stream_of_empty_gzip_members_counts_against_max_bytes(
    server: FeedServer, tmp_path: Path
) -> None:
    empty = gzipped(b"")

    def members() -> Iterator[bytes]:
        yield gzipped(rss("zipped", 1))
        for _ in range(200):  # 4 MB of members that decode to nothing, sent 1,000 at a time
            yield empty * 1000

    setup = hostile_beside_good(server, tmp_path, b"")
    server.add(
        "/hostile", lambda _request: Response(body=members(), headers={"Content-Encoding": "gzip"})
    )
    # the timeout only bounds a failure: the read stops at max_bytes long before it
    code, _out, err = run_once(
        setup, fetch={"allow_private_networks": True, "timeout": "60s", "max_bytes": 1_000_000}
    )
    assert code == 0, err
    assert items_of(setup.write())["good"] == 2
    assert "over 1,000,000 bytes received" in feeds_json(setup.write())["hostile"]["last_error"]


# --- database errors -------------------------------------------------------------------------


def test_a_database_outage_releases_leases_and_run_once_says_so(
    server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    from storage import queries

    setup = hostile_beside_good(server, tmp_path, rss("other", 2))
    config = setup.write()
    outage = {"calls": 0}
    real_known, real_finish = queries.known_entry_keys, queries.finish_polls

    def down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("SELECT", {}, Exception("database is down"))

    def finish_while_down(*args: Any, **kwargs: Any) -> None:
        outage["calls"] += 1
        down()

    monkeypatch.setattr(queries, "known_entry_keys", down)
    monkeypatch.setattr(queries, "finish_polls", finish_while_down)
    monkeypatch.setattr("monitor.pipeline.cycle.RELEASE_RETRIES", (0.0,))
    code, _out, err = cli("run", "--once", "--config", config)
    assert code == 1, err
    assert "not recorded (database error: OperationalError)" in err
    assert "polled none of the feeds it should have" in err
    assert outage["calls"] >= 1

    # The database is back: the leases were given up, so the next cycle polls both feeds.
    monkeypatch.setattr(queries, "known_entry_keys", real_known)
    monkeypatch.setattr(queries, "finish_polls", real_finish)
    code, _out, err = cli("run", "--once", "--config", config)
    assert code == 0, err
    assert items_of(config) == {"good": 2, "hostile": 2}


def test_run_once_names_feeds_it_could_not_poll_and_fails(
    server: FeedServer, tmp_path: Path
) -> None:
    setup = hostile_beside_good(server, tmp_path, rss("other", 1))
    config = setup.write()
    assert cli("run", "--once", "--config", config)[0] == 0
    app = build_app(load_config(config))
    with app.sessions.begin() as session:
        session.execute(
            update(Feed).values(
                lease_owner="replica-b", lease_until=datetime.now(UTC) + timedelta(minutes=5)
            )
        )
    app.engine.dispose()
    code, _out, err = cli("run", "--once", "--config", config)
    assert code == 1
    assert "not polled (leased by replica-b until" in err
    assert "polled none of the feeds it should have" in err


def test_a_huge_article_page_is_extracted_bounded_beside_a_healthy_feed(
    server: FeedServer, tmp_path: Path
) -> None:
    paragraph = "<p>" + " ".join(f"Kursk{i} report" for i in range(40)) + ".</p>"
    early = "<p>The EARLYMARKER paragraph says North Korean troops moved near Kursk today.</p>"
    late = "<p>The LATEMARKER paragraph comes after two megabytes of the page.</p>"
    filler = paragraph * (ARTICLE_MAX_BYTES // len(paragraph) + 10)
    page = f"<html><body><article>{early}{filler}{late}</article></body></html>"
    server.add("/article", page.encode(), content_type="text/html")
    body = feed_of(item("Short", guid="a-1", link=server.url("/article"), description="Short."))
    setup = hostile_beside_good(server, tmp_path, body)
    path = write_with(setup)
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    for feed in data["feeds"]:
        feed["fetch_article"] = "always" if feed["name"] == "hostile" else "never"
    data["fetch"]["timeout"] = "20s"
    Path(path).write_text(yaml.safe_dump(data), encoding="utf-8")
    code, _out, err = cli("run", "--once", "--config", path)
    assert code == 0, err
    assert items_of(path) == {"good": 2, "hostile": 1}
    app = build_app(load_config(path))
    with app.sessions() as session:
        [text] = session.scalars(select(Item.text).where(Item.title == "Short")).all()
    app.engine.dispose()
    assert "EARLYMARKER" in text, "the page was extracted"
    assert "LATEMARKER" not in text, "only the first ARTICLE_MAX_BYTES were extracted"


def test_article_fetches_per_poll_are_capped(server: FeedServer, tmp_path: Path) -> None:
    count = MAX_ARTICLES_PER_POLL + 10
    for i in range(count):
        server.add(
            f"/a/{i}", f"<html><body><p>Page {i}.</p></body></html>", content_type="text/html"
        )
    body = feed_of(
        *(item(f"Short {i}", guid=f"s-{i}", link=server.url(f"/a/{i}")) for i in range(count))
    )
    setup = hostile_beside_good(server, tmp_path, body)
    path = write_with(setup)
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    data["feeds"][1]["fetch_article"] = "always"
    Path(path).write_text(yaml.safe_dump(data), encoding="utf-8")
    code, _out, err = cli("run", "--once", "--config", path)
    assert code == 0, err
    assert items_of(path) == {"good": 2, "hostile": count}, "every entry stored"
    fetched = sum(server.hits.get(f"/a/{i}", 0) for i in range(count))
    assert fetched == MAX_ARTICLES_PER_POLL


def test_oversized_cache_validators_are_not_stored(
    server: FeedServer, tmp_path: Path, db_url: str
) -> None:
    setup = hostile_beside_good(server, tmp_path, b"")
    server.add(
        "/hostile",
        rss("validators", 2),
        headers={"ETag": '"' + "e" * 5000 + '"', "Last-Modified": "L" * 500},
    )
    config = write_with(setup, database={"url": db_url})
    code, _out, err = cli("run", "--once", "--config", config)
    assert code == 0, err
    assert items_of(config) == {"good": 2, "hostile": 2}
    assert feeds_json(config)["hostile"]["consecutive_failures"] == 0


def test_a_poll_that_outlives_its_lease_keeps_it(server: FeedServer, tmp_path: Path) -> None:
    """A slow poll renews its lease, so no other replica takes the feed meanwhile."""
    release = threading.Event()

    def slow(_request: Any) -> Response:
        release.wait(30)
        return Response(body=rss("slow", 2))

    setup = hostile_beside_good(server, tmp_path, b"")
    server.add("/hostile", slow)
    fetch = {"allow_private_networks": True, "timeout": "30s"}
    config = write_with(setup, leases={"feed": "1s"}, fetch=fetch)
    app = build_app(load_config(config))
    worker = threading.Thread(target=lambda: asyncio.run(run_cycle(app)))
    worker.start()
    seen: set[datetime] = set()

    def renewed_twice() -> bool:
        with app.sessions() as session:
            until = session.scalar(select(Feed.lease_until).where(Feed.name == "hostile"))
        if until is not None:
            seen.add(until)
        return len(seen) >= 3

    try:
        assert wait_until(renewed_twice, timeout=20), "the lease was renewed while polling"
        with app.sessions.begin() as session:
            feed_id = session.scalar(select(Feed.id).where(Feed.name == "hostile"))
            assert feed_id is not None
            taken = queries.claim_feed(session, feed_id, "replica-b", datetime.now(UTC), 60)
        assert not taken, "another replica cannot take a feed still being polled"
    finally:
        release.set()
        worker.join(30)
    app.engine.dispose()
    assert items_of(config) == {"good": 2, "hostile": 2}
