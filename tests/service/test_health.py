"""The HTTP endpoints, tested against the real server on an OS-chosen port."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Mapping

import httpx
import pytest

from monitor.config.settings import parse_listen
from monitor.domain.errors import ConfigError
from monitor.runtime.metrics import Metrics
from monitor.service.health import CheckResult, HealthServer, start_health_server


class Checks:
    """A readiness callable whose answer the test controls."""

    def __init__(self) -> None:
        self.results: dict[str, CheckResult] = {
            "database": (True, "reachable"),
            "scheduler": (True, "running"),
            "watchlists": (True, "4 loaded"),
        }
        self.error: Exception | None = None

    def __call__(self) -> Mapping[str, CheckResult]:
        if self.error is not None:
            raise self.error
        return self.results


@pytest.fixture
def checks() -> Checks:
    return Checks()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def server(checks: Checks, metrics: Metrics) -> Iterator[HealthServer]:
    with start_health_server("127.0.0.1:0", checks, metrics) as running:
        yield running


@pytest.fixture
def client(server: HealthServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=5, trust_env=False) as c:
        yield c


def test_healthz(client: httpx.Client) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.text == "ok\n"


def test_readyz_ready(client: httpx.Client) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {
        "ready": True,
        "checks": {
            "database": {"ok": True, "detail": "reachable"},
            "scheduler": {"ok": True, "detail": "running"},
            "watchlists": {"ok": True, "detail": "4 loaded"},
        },
    }


def test_readyz_not_ready_names_the_failing_check(client: httpx.Client, checks: Checks) -> None:
    checks.results["watchlists"] = (False, "watchlists/kn-23.yaml:12: unknown key 'trems'")
    r = client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["ready"] is False
    assert body["checks"]["watchlists"] == {
        "ok": False,
        "detail": "watchlists/kn-23.yaml:12: unknown key 'trems'",
    }
    assert body["checks"]["database"]["ok"] is True


def test_readyz_when_the_check_itself_raises(client: httpx.Client, checks: Checks) -> None:
    checks.error = RuntimeError("pool exhausted")
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["readiness"]["detail"].endswith("RuntimeError: pool exhausted")
    assert client.get("/healthz").status_code == 200  # still alive


def test_readyz_redacts_secrets_in_details(client: httpx.Client, checks: Checks) -> None:
    checks.results["database"] = (False, "cannot connect to postgresql://newsmon:hunter22@db/x")
    detail = client.get("/readyz").json()["checks"]["database"]["detail"]
    assert "hunter22" not in detail
    assert "postgresql://newsmon:[redacted]@db/x" in detail


def test_metrics_endpoint(client: httpx.Client, metrics: Metrics) -> None:
    metrics.poll("ok", 0.5)
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=")
    assert 'newsmon_polls_total{outcome="ok"} 1.0' in r.text


def test_unknown_path_and_head(client: httpx.Client) -> None:
    assert client.get("/nope").status_code == 404
    r = client.head("/healthz")
    assert r.status_code == 200
    assert r.content == b""
    assert client.get("/healthz?probe=1").status_code == 200


def test_concurrent_requests_while_readiness_blocks(
    server: HealthServer, checks: Checks, client: httpx.Client
) -> None:
    """A slow readiness check does not stall /healthz: requests run in threads."""
    entered, release = threading.Event(), threading.Event()
    results = dict(checks.results)

    def slow() -> Mapping[str, CheckResult]:
        entered.set()
        release.wait(5)
        return results

    server._server.readiness = slow  # swap the callable under the running server
    status: list[int] = []
    t = threading.Thread(target=lambda: status.append(client.get("/readyz").status_code))
    t.start()
    assert entered.wait(5)
    assert client.get("/healthz").status_code == 200
    release.set()
    t.join(5)
    assert status == [200]


def test_close_releases_the_port(checks: Checks, metrics: Metrics) -> None:
    running = start_health_server("127.0.0.1:0", checks, metrics)
    port = running.port
    assert port > 0
    running.close()
    running.close()  # idempotent
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))


def _ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
def test_ipv6_listen(checks: Checks, metrics: Metrics) -> None:
    with start_health_server("[::1]:0", checks, metrics) as running:
        assert running.url == f"http://[::1]:{running.port}"
        assert httpx.get(running.url + "/healthz", trust_env=False).text == "ok\n"


@pytest.mark.parametrize(
    ("listen", "parsed"),
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
        ("[::1]:8080", ("::1", 8080)),
        ("[::]:9000", ("::", 9000)),
        (":8080", ("0.0.0.0", 8080)),
        ("localhost:80", ("localhost", 80)),
    ],
)
def test_parse_listen(listen: str, parsed: tuple[str, int]) -> None:
    assert parse_listen(listen) == parsed


@pytest.mark.parametrize("listen", ["8080", "127.0.0.1", "::1:8080", "host:99999", "a b:1", ""])
def test_parse_listen_rejects(listen: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_listen(listen)


def test_bad_listen_is_a_config_error(checks: Checks, metrics: Metrics) -> None:
    with pytest.raises(ConfigError, match=r"^http\.listen: cannot listen on nonsense"):
        start_health_server("nonsense", checks, metrics)


def test_port_in_use_is_a_config_error(
    server: HealthServer, checks: Checks, metrics: Metrics
) -> None:
    with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{server.port}"):
        start_health_server(f"127.0.0.1:{server.port}", checks, metrics)
