"""The read-only dashboard: figures, stories, alerts and feeds as HTML pages.

Served by the service's HTTP server (``monitor.service.health``) beside the probes: that
server hands every other GET to ``Dashboard.handle``. Pages are Jinja2 templates with
autoescaping on (titles and quotes come from the internet); charts are SVG built in
``monitor.web.charts``. Nothing is loaded from a CDN.

Off loopback the dashboard asks for the token of ``http.token`` (or ``NEWSMON_HTTP_TOKEN``):
as ``Authorization: Bearer TOKEN``, or once as ``?token=TOKEN``, which sets a cookie.
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, unquote

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session, sessionmaker

from monitor.web.charts import Point, estimate_chart, format_range, format_value
from storage import dashboard

PAGE_SIZE = 50
TOKEN_ENV = "NEWSMON_HTTP_TOKEN"  # noqa: S105 - a variable name, not a secret
COOKIE = "newsmon_token"
HTML = "text/html; charset=utf-8"


@dataclass(frozen=True, slots=True)
class WebResponse:
    status: int
    body: bytes
    content_type: str = HTML
    headers: list[tuple[str, str]] = field(default_factory=list)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (from ``http.listen``) only accepts local connections."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def dashboard_token(config_token: str | None) -> str | None:
    """The token the dashboard asks for: ``NEWSMON_HTTP_TOKEN``, else ``http.token``."""
    return os.environ.get(TOKEN_ENV) or config_token


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("monitor.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = format_value
    env.filters["range"] = lambda r: format_range(r.low, r.high)
    env.filters["when"] = _when
    return env


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


class Dashboard:
    """Renders the pages for one database. Thread-safe: each request opens its session."""

    def __init__(self, sessions: sessionmaker[Session], *, host: str, token: str | None) -> None:
        self._sessions = sessions
        self._open = is_loopback(host)  # loopback needs no token
        self._token = token
        self._env = _env()
        self._routes: dict[str, Callable[[Session, Mapping[str, str]], WebResponse]] = {
            "/": self._figures,
            "/figures": self._figures,
            "/stories": self._stories,
            "/alerts": self._alerts,
            "/feeds": self._feeds,
        }

    def handle(self, target: str, headers: Mapping[str, str]) -> WebResponse:
        """Answer a GET for ``target`` (path and query)."""
        path, _, query = target.partition("?")
        params = {k: v[0] for k, v in parse_qs(query).items()}
        if (denied := self._authorise(params, headers)) is not None:
            return denied
        with self._sessions() as session:
            if path.startswith("/figures/"):
                response = self._figure(session, unquote(path[len("/figures/") :]), params)
            elif route := self._routes.get(path):
                response = route(session, params)
            else:
                response = self._page("error.html", HTTPStatus.NOT_FOUND, message="Not found")
        if not self._open and "token" in params:
            response.headers.append(
                ("Set-Cookie", f"{COOKIE}={self._token}; HttpOnly; SameSite=Strict; Path=/")
            )
        return response

    def _authorise(
        self, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> WebResponse | None:
        if self._open:
            return None
        if not self._token:
            return self._page(
                "error.html",
                HTTPStatus.FORBIDDEN,
                message="The dashboard is off: http.listen is not loopback and no token is set "
                f"(http.token or {TOKEN_ENV}).",
            )
        given = [params.get("token", "")]
        auth = headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            given.append(auth[len("Bearer ") :])
        cookie = SimpleCookie(headers.get("Cookie", ""))
        if COOKIE in cookie:
            given.append(cookie[COOKIE].value)
        if any(hmac.compare_digest(g.encode(), self._token.encode()) for g in given if g):
            return None
        return self._page(
            "error.html",
            HTTPStatus.UNAUTHORIZED,
            message="This dashboard needs its token: open it with ?token=… once.",
        )

    def _page(self, template: str, status: int = HTTPStatus.OK, **context: Any) -> WebResponse:
        html = self._env.get_template(template).render(**context)
        return WebResponse(int(status), html.encode())

    def _figures(self, session: Session, params: Mapping[str, str]) -> WebResponse:
        return self._page("figures.html", figures=dashboard.figure_overview(session), nav="figures")

    def _figure(self, session: Session, name: str, params: Mapping[str, str]) -> WebResponse:
        page = _page_number(params)
        rows, total = dashboard.figure_observations(
            session, name, PAGE_SIZE, (page - 1) * PAGE_SIZE
        )
        if not total:
            return self._page("error.html", HTTPStatus.NOT_FOUND, message="No such figure")
        recent, _ = dashboard.figure_observations(session, name, dashboard.CHART_POINTS)
        charts = [_chart(unit, series) for unit, series in dashboard.group_by_unit(recent).items()]
        return self._page(
            "figure.html",
            name=name,
            charts=charts,
            rows=rows,
            pages=_pages(page, total),
            total=total,
            nav="figures",
        )

    def _stories(self, session: Session, params: Mapping[str, str]) -> WebResponse:
        page = _page_number(params)
        stories, total = dashboard.recent_stories(session, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        return self._page(
            "stories.html", stories=stories, pages=_pages(page, total), total=total, nav="stories"
        )

    def _alerts(self, session: Session, params: Mapping[str, str]) -> WebResponse:
        page, state = _page_number(params), params.get("state") or None
        alerts, total = dashboard.alerts_page(session, PAGE_SIZE, (page - 1) * PAGE_SIZE, state)
        return self._page(
            "alerts.html",
            alerts=alerts,
            states=dashboard.alert_states(session),
            state=state,
            pages=_pages(page, total),
            total=total,
            nav="alerts",
        )

    def _feeds(self, session: Session, params: Mapping[str, str]) -> WebResponse:
        return self._page("feeds.html", feeds=dashboard.feed_health(session), nav="feeds")


@dataclass(frozen=True, slots=True)
class Chart:
    unit: str
    svg: Markup
    current: dashboard.ObservationRow | None
    spread: tuple[float, float] | None


def _chart(unit: str, rows: list[dashboard.ObservationRow]) -> Chart:
    """A series' chart, its current estimate (the newest) and the spread: lowest to highest
    of each source's newest current estimate."""
    points = [
        Point(r.when, r.low, r.high, r.value, r.qualifier, r.outlet or r.attributed_to or "?")
        for r in rows
    ]
    latest: dict[str, dashboard.ObservationRow] = {}  # newest current estimate per source
    for r in rows:  # newest first
        if not r.increment and r.as_of is None:
            latest.setdefault(r.outlet or r.url or "", r)
    current = list(latest.values())
    spread = (min(r.low for r in current), max(r.high for r in current)) if current else None
    # estimate_chart escapes every text it draws.
    svg = Markup(estimate_chart(points, unit))  # noqa: S704
    return Chart(unit, svg, current[0] if current else None, spread)


def _page_number(params: Mapping[str, str]) -> int:
    try:
        return max(1, int(params.get("page", "1")))
    except ValueError:
        return 1


@dataclass(frozen=True, slots=True)
class Pages:
    page: int
    count: int

    @property
    def previous(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next(self) -> int | None:
        return self.page + 1 if self.page < self.count else None


def _pages(page: int, total: int) -> Pages:
    return Pages(page, max(1, math.ceil(total / PAGE_SIZE)))


def web_dashboard(
    sessions: sessionmaker[Session], host: str, token: str | None
) -> Callable[[str, Mapping[str, str]], WebResponse]:
    """The dashboard's request handler for a server listening on ``host``."""
    return Dashboard(sessions, host=host, token=dashboard_token(token)).handle
