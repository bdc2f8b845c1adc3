"""Metrics: names, labels and the typed methods the service calls."""

from __future__ import annotations

import httpx
import pytest

from monitor.domain.errors import FetchError
from monitor.domain.model import AlertKind
from monitor.runtime.metrics import Metrics, fetch_error_kind


def value(m: Metrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels)


def test_each_metrics_has_its_own_registry() -> None:
    a, b = Metrics(), Metrics()
    a.poll("ok", 0.2)
    assert value(a, "newsmon_polls_total", outcome="ok") == 1
    assert value(b, "newsmon_polls_total", outcome="ok") == 0


def test_poll_counts_outcome_and_fetch_time() -> None:
    m = Metrics()
    m.poll("ok", 0.3)
    m.poll("not_modified", 0.1)
    m.poll("error", 20.0)
    assert value(m, "newsmon_polls_total", outcome="ok") == 1
    assert value(m, "newsmon_polls_total", outcome="gone") == 0
    assert value(m, "newsmon_fetch_seconds_count") == 3
    assert value(m, "newsmon_fetch_seconds_sum") == pytest.approx(20.4)
    assert value(m, "newsmon_fetch_seconds_bucket", le="0.25") == 1


def test_processing_counters() -> None:
    m = Metrics()
    m.items("new", 3)
    m.items("syndicated")
    m.items("duplicate", 0)
    m.watchlists_loaded(["kn-23", "demining", "kn-23"])
    m.matched("kn-23")
    m.figure_extracted("nk_killed")
    assert value(m, "newsmon_items_total", result="new") == 3
    assert value(m, "newsmon_items_total", result="syndicated") == 1
    assert value(m, "newsmon_items_total", result="duplicate") == 0
    assert value(m, "newsmon_watchlists_loaded") == 2
    assert value(m, "newsmon_matches_total", watchlist="kn-23") == 1
    assert value(m, "newsmon_matches_total", watchlist="demining") == 0
    assert value(m, "newsmon_figures_extracted_total", figure="nk_killed") == 1


def test_alert_counters_gauge_and_delivery_latency() -> None:
    m = Metrics()
    m.alert(AlertKind.NEW_ITEM, "created")
    m.alert(AlertKind.FIGURE_CHANGE, "retried")
    m.delivered(AlertKind.NEW_ITEM, 42.0)
    m.alerts_pending(7)
    assert value(m, "newsmon_alerts_total", kind="new_item", state="created") == 1
    assert value(m, "newsmon_alerts_total", kind="new_item", state="sent") == 1
    assert value(m, "newsmon_alerts_total", kind="figure_change", state="retried") == 1
    assert value(m, "newsmon_alerts_total", kind="figure_change", state="failed") == 0
    assert value(m, "newsmon_alerts_pending") == 7
    assert value(m, "newsmon_delivery_seconds_sum") == 42.0
    assert value(m, "newsmon_delivery_seconds_bucket", le="30.0") == 0
    assert value(m, "newsmon_delivery_seconds_bucket", le="60.0") == 1


def test_feed_health_and_cycle() -> None:
    m = Metrics()
    m.feeds(configured=10_000, failing=12)
    m.feed_error("timeout")
    m.feed_error("no-such-kind")  # type: ignore[arg-type]  # an unknown kind counts as other
    m.cycle(3.5)
    assert value(m, "newsmon_feeds") == 10_000
    assert value(m, "newsmon_feeds_failing") == 12
    assert value(m, "newsmon_feed_errors_total", kind="timeout") == 1
    assert value(m, "newsmon_feed_errors_total", kind="other") == 1
    assert value(m, "newsmon_cycle_seconds_count") == 1


def test_render_is_prometheus_text_with_help() -> None:
    text = Metrics().render().decode()
    for name in (
        "newsmon_polls_total",
        "newsmon_fetch_seconds",
        "newsmon_items_total",
        "newsmon_matches_total",
        "newsmon_figures_extracted_total",
        "newsmon_alerts_total",
        "newsmon_alerts_pending",
        "newsmon_delivery_seconds",
        "newsmon_feed_errors_total",
        "newsmon_feeds_failing",
        "newsmon_watchlists_loaded",
        "newsmon_cycle_seconds",
        "newsmon_build_info",
    ):
        assert f"# HELP {name} " in text
    assert "_created" not in text  # no creation-timestamp series
    assert "feed=" not in text  # never labelled by feed


def _caused(outer: Exception, cause: Exception) -> Exception:
    outer.__cause__ = cause
    return outer


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (FetchError("HTTP 404", status=404), "http_4xx"),
        (FetchError("HTTP 410", status=410, permanent=True), "http_4xx"),
        (FetchError("HTTP 429", status=429, retry_after=60), "rate_limited"),
        (FetchError("HTTP 503", status=503), "http_5xx"),
        (_caused(FetchError("timed out"), httpx.ReadTimeout("read")), "timeout"),
        (_caused(FetchError("refused"), httpx.ConnectError("refused")), "network"),
        (_caused(FetchError("dns"), OSError("no such host")), "network"),
        (FetchError("not a feed"), "other"),
        (ValueError("boom"), "other"),
    ],
)
def test_fetch_error_kind(error: Exception, kind: str) -> None:
    assert fetch_error_kind(error) == kind
