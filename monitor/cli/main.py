"""The ``newsmon`` command line (see CONTRACT.md).

Exit status 0 on success, 1 on a user error with a clear message on stderr (one line per
problem, FILE:LINE where there is a file) — never a traceback for bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, get_args

from monitor import __version__
from monitor.config.settings import Config, find_config_path, load_config
from monitor.domain.errors import ConfigError, NewsmonError
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
    setup_logging(config.log.level, config.log.format)
    secrets = [config.notifiers.email.password_env] if config.notifiers.email else []
    if config.notifiers.slack:
        secrets += [config.notifiers.slack.token_env, config.notifiers.slack.webhook_url_env]
    register_secret_env(*secrets)
    return config


# ----------------------------------------------------------------------------- commands


def cmd_run(args: argparse.Namespace) -> int:
    from monitor.pipeline.cycle import run_once
    from monitor.service.app import build_app
    from storage import queries

    config = _config(args)
    app = build_app(config)
    if not args.once:
        from monitor.service.runner import run_service  # apscheduler: the service's alone

        run_service(app)
        return 0
    report = asyncio.run(run_once(app))
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


def cmd_validate(args: argparse.Namespace) -> int:
    from monitor.analysis.figures import FigureExtractor
    from monitor.analysis.watchlist import check_examples, load_watchlists

    config = _config(args)
    directory = config.watchlists_dir
    if not directory.is_dir():
        raise ConfigError([_problem(str(directory), "watchlist directory not found")])
    watchlists = load_watchlists(directory)
    problems = check_examples(watchlists, FigureExtractor)
    configured = {name for name in ("slack", "email", "console") if getattr(config.notifiers, name)}
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


def _problem(file: str, message: str) -> Any:
    from monitor.domain.errors import Problem

    return Problem(file, None, message)


def cmd_inspect(args: argparse.Namespace) -> int:
    from monitor.cli.inspect import inspect_article, read_source, render_inspect
    from monitor.service.app import load_compiled

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
    from storage.db import make_engine, sessions, upgrade

    config = _config(args)
    engine = make_engine(config.database.url)
    upgrade(engine)
    return sessions(engine)


def cmd_feeds(args: argparse.Namespace) -> int:
    from monitor.config.settings import load_config
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
    if args.json:
        _print_json(rows)
    elif not rows:
        print(f"no values stored for {args.name}" if args.name else "no figures stored yet")
    else:
        print(render_figure_rows(rows))
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="config file (default: $NEWSMON_CONFIG, else ./newsmon.yaml, else built-in defaults)",
    )
    parser = argparse.ArgumentParser(
        prog="newsmon",
        parents=[common],
        description="Polls news feeds, matches watchlists, tracks figures and sends alerts.",
    )
    parser.add_argument("--version", action="version", version=f"newsmon {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, func: Callable[[argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help, description=help)
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
    feeds = add("feeds", cmd_feeds, "per-feed poll status")
    feeds.add_argument("--json", action="store_true", help="print JSON")
    alerts = add("alerts", cmd_alerts, "recent alerts and their delivery state")
    alerts.add_argument("--json", action="store_true", help="print JSON")
    alerts.add_argument("--state", choices=list(get_args(AlertState)))
    alerts.add_argument("--limit", type=int, default=100, help="how many (default 100)")
    alerts.add_argument("--retry", type=int, metavar="ID", help="re-queue failed alert ID")
    alerts.add_argument("--retry-failed", action="store_true", help="re-queue every failed alert")
    db = add("db", cmd_db, "database maintenance")
    db.add_argument("action", choices=["upgrade"], help="upgrade: apply schema migrations")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not hasattr(args, "config"):
        args.config = None
    try:
        return int(args.func(args))
    except NewsmonError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print(f"newsmon: {line}" if not isinstance(exc, ConfigError) else line, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
