"""The ``newsmon`` command line (see CONTRACT.md).

Exit status 0 on success, 1 on a user error with a clear message on stderr (one line per
problem, FILE:LINE where there is a file) — never a traceback for bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from monitor import __version__
from monitor.cli.feeds import add_feed_parsers
from monitor.config.load import find_config_path, load_config
from monitor.config.settings import Config
from monitor.domain.errors import ConfigError, NewsmonError, Problem
from monitor.domain.model import AlertState
from monitor.service.logs import redact, register_secret_env, setup_logging

log = logging.getLogger("newsmon")


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> None:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def _config(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    if find_config_path(args.config) is None and not config.watchlists_dir.is_dir():
        config = _quick_start(config)
    setup_logging(config.log.level, config.log.format)
    secrets = [config.notifiers.email.password_env] if config.notifiers.email else []
    if config.notifiers.slack:
        secrets += [config.notifiers.slack.token_env, config.notifiers.slack.webhook_url_env]
    register_secret_env(*secrets)
    return config


def _quick_start(config: Config) -> Config:
    """No config file and no ./watchlists: the shipped watchlists on the bundled sample
    feeds, alerts on the console (what a fresh `pip install newsmon` runs on)."""
    from monitor.config.settings import FeedConfig
    from monitor.domain.notifier_config import ConsoleConfig, NotifiersConfig
    from monitor.shipped import WATCHLISTS, sample_feed_uris

    print(
        "newsmon: no newsmon.yaml and no watchlists/ here: using the shipped watchlists "
        "on the bundled sample feeds, alerts on the console. For your own, create "
        "newsmon.yaml (feeds, notifiers; see the README) and watchlists/*.yaml, or pass "
        "--config FILE.",
        file=sys.stderr,
    )
    feeds = config.feeds or [
        FeedConfig(url=uri, name=name, fetch_article="never", max_age="off")  # type: ignore[arg-type]
        for uri, name in sample_feed_uris()
    ]
    notifiers = config.notifiers
    if not notifiers.configured():
        notifiers = NotifiersConfig(console=ConsoleConfig())
    return config.model_copy(
        update={"watchlists": str(WATCHLISTS), "feeds": feeds, "notifiers": notifiers}
    )


# ----------------------------------------------------------------------------- commands


def cmd_run(args: argparse.Namespace) -> int:
    from monitor.runtime.app import build_app
    from storage import queries

    config = _config(args)
    app = build_app(config)
    if not args.once:
        from monitor.service.runner import run_service  # apscheduler: the service's alone

        run_service(app, find_config_path(args.config))
        return 0
    report = asyncio.run(_run_once(app))
    with app.readers() as session:
        held = queries.count_alerts(session).get("held", 0)
        feeds = queries.list_feeds(session)
    polled = {p.feed for p in report.polls}
    missed = [f for f in feeds if f.active and not f.gone and f.url not in polled]
    errors = [p for p in report.polls if p.error]
    pending = sum(w.count for w in report.waiting)
    print(
        f"newsmon: polled {len(report.polls)} feeds ({len(errors)} failed), "
        f"{report.new_items} new items"
        + (
            f" ({report.baseline} taken as baseline: old news, no alerts)"
            if report.baseline
            else ""
        )
        + f", {report.delivered} alerts delivered"
        + (f", {report.failed} failed" if report.failed else "")
        + (f", {pending} still pending" if pending else "")
        + (f", {held} held (quiet hours, hourly cap or digest)" if held else ""),
        file=sys.stderr,
    )
    for poll in errors:
        print(redact(f"  {poll.feed}: {poll.error}"), file=sys.stderr)
    now = datetime.now(UTC)
    for waiting in report.waiting:
        where = f"{waiting.notifier} {waiting.channel}" if waiting.channel else waiting.notifier
        wait = max(0, round((waiting.next_at - now).total_seconds()))
        print(
            f"  {waiting.count} alert(s) still pending for {where}: next attempt at "
            f"{waiting.next_at.isoformat(timespec='seconds')} (in {wait}s; `newsmon run` "
            "or the next `run --once` sends them)",
            file=sys.stderr,
        )
    for feed in missed:
        held_by = f"leased by {feed.lease_owner}" if feed.lease_owner else "not claimed"
        until = f" until {_iso(feed.lease_until)}" if feed.lease_until else ""
        print(redact(f"  {feed.url}: not polled ({held_by}{until})"), file=sys.stderr)
    unrecorded = [p for p in errors if (p.error or "").startswith("not recorded")]
    if (missed or unrecorded) and len(unrecorded) == len(report.polls):
        # nothing this cycle was polled and recorded, though there were feeds to poll
        print("newsmon: polled none of the feeds it should have", file=sys.stderr)
        return 1
    return 0


async def _run_once(app: Any) -> Any:
    """``run_once`` with a progress line of the feeds polled (on a terminal only)."""
    from monitor.cli.progress import CountingFetcher, Progress
    from monitor.pipeline.cycle import run_once

    with Progress(len(app.config.feeds), "polling feeds") as progress:
        if not progress.enabled:
            return await run_once(app)
        async with CountingFetcher(app.config.fetch, progress) as fetcher:
            return await run_once(app, fetcher)


def cmd_validate(args: argparse.Namespace) -> int:
    from monitor.analysis.figures import FigureExtractor
    from monitor.analysis.watchlist import load_watchlists
    from monitor.analysis.watchlist_examples import check_examples

    config = _config(args)
    directory = config.watchlists_dir
    if not directory.is_dir():
        raise ConfigError([_problem(str(directory), "watchlist directory not found")])
    watchlists = load_watchlists(directory)
    problems = check_examples(watchlists, FigureExtractor)
    configured = set(config.notifiers.configured())
    problems += _notifier_problems(config, str(find_config_path(args.config) or "<defaults>"))
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    examples = sum(wl.examples.count for wl in watchlists)
    print(
        f"ok: config {find_config_path(args.config) or 'defaults'}; {len(watchlists)} watchlists "
        f"({', '.join(wl.name for wl in watchlists)}), {examples} examples pass; "
        f"{len(config.feeds)} feeds; notifiers: {', '.join(sorted(configured)) or 'none'}"
    )
    return 0


def _notifier_problems(config: Config, where: str) -> list[Problem]:
    """A configured notifier whose secret is not in the environment: `run` would refuse to
    start, so `validate` fails too (the message names the variable to set)."""
    from notifiers import REGISTRY

    problems = []
    for name, notifier_type in REGISTRY.items():
        settings = getattr(config.notifiers, name, None)
        if settings is None:
            continue
        try:
            notifier_type.build(settings, os.environ)
        except NewsmonError as exc:
            problems.append(Problem(where, None, f"notifiers.{name}: {exc}"))
    return problems


def _problem(file: str, message: str) -> Any:
    from monitor.domain.errors import Problem

    return Problem(file, None, message)


def cmd_inspect(args: argparse.Namespace) -> int:
    from monitor.cli.inspect import inspect_article, read_source, render_inspect
    from monitor.runtime.app import load_compiled

    published = published_date(args.published) if args.published else datetime.now(UTC)
    config = _config(args)
    compiled = load_compiled(config.watchlists_dir)
    article = asyncio.run(read_source(args.source, config.fetch, published))
    result = inspect_article(article, compiled)
    if args.json:
        _print_json(result)
    else:
        print(render_inspect(result))
    return 0


def _open_db(args: argparse.Namespace) -> Any:
    """Sessions on an existing database at the latest schema: a listing command never
    creates or migrates one (a typo in a URL would otherwise list an empty new database)."""
    from storage.db import make_engine, redact_url, schema_status, sessions

    url = _config(args).database.url
    shown = redact_url(url)
    engine = make_engine(url)
    database = engine.url.database
    is_file = engine.url.get_backend_name() == "sqlite" and database not in (None, ":memory:")
    if is_file and not Path(str(database)).exists():
        raise NewsmonError(
            f"database {shown} does not exist: `newsmon run` or `newsmon db upgrade` "
            "creates it (check --config or $NEWSMON_DATABASE_URL)"
        )
    ready, status = schema_status(engine)
    if not ready:
        engine.dispose()
        raise NewsmonError(f"database {shown}: {status}; `newsmon db upgrade` migrates it")
    return sessions(engine)


def cmd_feeds(args: argparse.Namespace) -> int:
    action = getattr(args, "feeds_action", None)
    if action is not None:
        return _feeds_action(args, action)
    from monitor.config.load import load_config
    from monitor.sources.schedule import is_flagged
    from storage import queries

    with _open_db(args)() as session:
        feeds = queries.list_feeds(session)
    flag_after = load_config(args.config).fetch.flag_after
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = [
        {
            "url": redact(f.url),  # tokens in a feed's URL are secrets too
            "name": f.name,
            "last_polled_at": _iso(f.last_polled_at),
            "last_success_at": _iso(f.last_success_at),
            "last_status": f.last_status,
            "consecutive_failures": f.consecutive_failures,
            "last_error": redact(f.last_error) if f.last_error else None,
            "next_poll_at": None if f.gone else _iso(f.next_poll_at),
            "gone": f.gone,
            "moved_to": redact(f.fetch_url) if f.fetch_url else None,
            "polls": f.polls,
            "baseline_entries": f.baseline_entries,
            "flagged": is_flagged(f.consecutive_failures, f.last_success_at, now, flag_after),
        }
        for f in feeds
    ]
    if args.json:
        _print_json(rows)
        return 0
    _table(
        [
            (
                r["name"] or r["url"],
                _short(r["last_polled_at"]),
                r["last_status"],
                f"{r['consecutive_failures']} FLAGGED"
                if r["flagged"]
                else r["consecutive_failures"],
                "gone (HTTP 410)" if r["gone"] else _short(r["next_poll_at"]),
                r["baseline_entries"],
                (r["last_error"] or "")[:80],
            )
            for r in rows
        ],
        ["feed", "last poll", "status", "failures", "next poll", "baseline", "last error"],
    )
    return 0


def _feeds_action(args: argparse.Namespace, action: str) -> int:
    from monitor.cli import feeds

    _config(args)  # logging and secret redaction as for every command
    if action == "add":
        return feeds.add_feed(args.config, args.url, args.name, args.interval)
    if action == "remove":
        return feeds.remove_feed(args.config, args.url)
    if action == "import":
        return feeds.import_feeds(args.config, args.file)
    return feeds.export_feeds(args.config)


def _short(iso: str | None) -> str:
    return iso[:19].replace("T", " ") if iso else "-"


def cmd_alerts(args: argparse.Namespace) -> int:
    from storage import queries

    session_factory = _open_db(args)
    if args.retry is not None or args.retry_failed:
        with session_factory.begin() as session:
            count = queries.requeue_alerts(session, datetime.now(UTC), args.retry)
        if args.retry is not None and count == 0:
            raise NewsmonError(f"alert {args.retry} is not in the failed state (or does not exist)")
        print(f"re-queued {count} alert(s)")
        return 0
    with session_factory() as session:
        alerts = queries.list_alerts(session, limit=args.limit, state=args.state)
    rows: list[dict[str, Any]] = [
        {
            "id": a.id,
            "kind": a.kind,
            "watchlist": ", ".join(a.watchlists),
            "watchlists": a.watchlists,
            "notifier": a.notifier,
            "channel": a.channel,
            "state": a.state,
            "attempts": a.attempts,
            "last_error": a.last_error,
            "url": a.content.get("url"),
            "title": a.content.get("title"),
            "created_at": _iso(a.created_at),
            "sent_at": _iso(a.sent_at),
            "held_until": _iso(a.next_attempt_at) if a.state == "held" else None,
            "hold_reason": a.hold_reason,
            "rolled_into": a.rolled_into,
        }
        for a in alerts
    ]
    if args.json:
        _print_json(rows)
        return 0
    _table(
        [
            (
                r["id"],
                r["kind"],
                r["watchlist"],
                f"{r['notifier']}:{r['channel'] or '-'}",
                r["state"],
                r["attempts"],
                _short(r["created_at"]),
                _alert_note(r)[:70],
            )
            for r in rows
        ],
        ["id", "kind", "watchlist", "to", "state", "tries", "created", "title / last error"],
    )
    return 0


def _alert_note(row: dict[str, Any]) -> str:
    if row["state"] == "held":
        return f"held until {_short(row['held_until'])} ({row['hold_reason']})"
    if row["state"] == "rolled":
        return f"in digest {row['rolled_into']}: {row['title'] or ''}"
    return str(row["last_error"] or row["title"] or "")


def cmd_figures(args: argparse.Namespace) -> int:
    from monitor.cli.inspect import figure_rows, render_figure_rows
    from storage import queries

    with _open_db(args)() as session:
        rows = figure_rows(queries.list_observations(session, args.name))
    if args.name and not rows:
        _check_figure_name(args, args.name)
    if args.json:
        _print_json(rows)
    elif not rows:
        print(f"no values stored for {args.name}" if args.name else "no figures stored yet")
    else:
        print(render_figure_rows(rows))
    return 0


def _check_figure_name(args: argparse.Namespace, name: str) -> None:
    """A name no watchlist defines is a user error that lists the names there are."""
    from monitor.analysis.watchlist import load_watchlists

    directory = _config(args).watchlists_dir
    known = sorted({s.name for wl in load_watchlists(directory) for s in wl.figures})
    if name not in known:
        raise NewsmonError(f"no figure named {name!r}; known figures: {', '.join(known)}")


def cmd_backtest(args: argparse.Namespace) -> int:
    from monitor.cli.backtest import backtest

    config = _config(args)
    return backtest(config, lambda: _open_db(args), args, print_json=_print_json)


def cmd_db(args: argparse.Namespace) -> int:
    from storage.db import make_engine, redact_url, upgrade

    config = _config(args)
    upgrade(make_engine(config.database.url))
    print(f"database {redact_url(config.database.url)} is at the latest schema")
    return 0


# ----------------------------------------------------------------------------- parser


def published_date(value: str) -> datetime:
    """``--published``: a date (midnight UTC) or an ISO 8601 time (UTC if it names no zone)."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        message = f"--published {value!r} is not a date: use YYYY-MM-DD, e.g. 2025-06-19"
        raise NewsmonError(message) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


EXAMPLES = {
    "run": "examples:\n  newsmon run --config newsmon.yaml\n  newsmon run --once   # one cycle",
    "validate": "example:\n  newsmon validate --config deploy/newsmon.yaml",
    "inspect": "examples:\n  newsmon inspect article.html --json\n"
    "  curl -s https://example.org/story | newsmon inspect - --published 2025-06-19",
    "figures": "examples:\n  newsmon figures\n  newsmon figures nk_killed --json | jq '.[0]'",
    "feeds": "examples:\n  newsmon feeds --json\n  newsmon feeds add https://www.nknews.org/\n"
    "  newsmon feeds import subscriptions.opml\n  newsmon feeds export > feeds.opml",
    "alerts": "examples:\n  newsmon alerts --state failed\n  newsmon alerts --retry-failed",
    "db": "example:\n  newsmon db upgrade",
    "backtest": "examples:\n  newsmon backtest --since 30d\n"
    "  newsmon backtest --watchlist kn-23 --json",
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits 1 like every other user error (README)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="config file (default: $NEWSMON_CONFIG, else ./newsmon.yaml, else built-in defaults)",
    )
    parser = _Parser(
        prog="newsmon",
        parents=[common],
        description="Polls news feeds, matches watchlists, tracks figures and sends alerts.",
    )
    parser.add_argument("--version", action="version", version=f"newsmon {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, func: Callable[[argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            parents=[common],
            help=help,
            description=help,
            epilog=EXAMPLES[name],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(func=func)
        return p

    run = add("run", cmd_run, "run the service (scheduler, pollers, delivery, HTTP endpoints)")
    run.add_argument("--once", action="store_true", help="one full cycle, then exit")
    add("validate", cmd_validate, "check the config and every watchlist, and run their examples")
    insp = add("inspect", cmd_inspect, "show what the watchlists do with an article")
    insp.add_argument(
        "source", metavar="SOURCE", help="a file path, - for stdin, or an http(s) URL"
    )
    insp.add_argument("--json", action="store_true", help="print JSON")
    insp.add_argument(
        "--published",
        metavar="DATE",
        help="read the text as an entry published on DATE (YYYY-MM-DD or an ISO 8601 "
        "time; default: today)",
    )
    figs = add("figures", cmd_figures, "stored figure history, newest first")
    figs.add_argument("name", nargs="?", metavar="NAME", help="one figure, e.g. nk_killed")
    figs.add_argument("--json", action="store_true", help="print JSON")
    feeds = add("feeds", cmd_feeds, "per-feed poll status; add, remove, import, export feeds")
    feeds.add_argument("--json", action="store_true", help="print JSON")
    add_feed_parsers(feeds, common)
    alerts = add("alerts", cmd_alerts, "recent alerts and their delivery state")
    alerts.add_argument("--json", action="store_true", help="print JSON")
    alerts.add_argument("--state", choices=[state.value for state in AlertState])
    alerts.add_argument("--limit", type=int, default=100, help="how many (default 100)")
    alerts.add_argument("--retry", type=int, metavar="ID", help="re-queue failed alert ID")
    alerts.add_argument("--retry-failed", action="store_true", help="re-queue every failed alert")
    back = add(
        "backtest",
        cmd_backtest,
        "replay stored entries through the current watchlists: what would match and alert, "
        "beside what did",
    )
    back.add_argument("--watchlist", metavar="NAME", help="only this watchlist")
    back.add_argument(
        "--since", metavar="DURATION", default="30d", help="how far back (default 30d)"
    )
    back.add_argument("--all", action="store_true", help="also list the stories that match nothing")
    back.add_argument("--json", action="store_true", help="print JSON")
    db = add("db", cmd_db, "database maintenance")
    db.add_argument("action", choices=["upgrade"], help="upgrade: apply schema migrations")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not hasattr(args, "config"):
        args.config = None
    try:
        status = int(args.func(args))
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return status
    except NewsmonError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print(f"newsmon: {line}" if not isinstance(exc, ConfigError) else line, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `newsmon feeds --json | head`: the reader left; end quietly, as cat does. Point
        # stdout at devnull so the interpreter's final flush does not complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
