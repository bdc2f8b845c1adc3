"""Noise-control decisions (pure): quiet windows, digest times, which hold applies, and how
due held alerts are rolled up; plus the watchlist keys that configure them."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from monitor.alerting.noise import hold_for, next_digest, quiet_until, roll_up
from monitor.analysis.watchlist import load_watchlist_text
from monitor.domain.errors import ConfigError
from monitor.domain.model import AlertContent, AlertKind, HeldAlert, Noise, QuietHours, Route
from tests.support.paths import REPO

KYIV_NIGHT = QuietHours(time(22, 0), time(7, 0), "Europe/Kyiv")
LUNCH = QuietHours(time(12, 0), time(13, 30), "UTC", kinds=(AlertKind.NEW_ITEM,))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "until"),
    [
        (utc(2026, 11, 20, 21, 30), utc(2026, 11, 21, 5, 0)),  # 23:30 Kyiv → 07:00 next day
        (utc(2026, 11, 21, 4, 59), utc(2026, 11, 21, 5, 0)),  # 06:59 Kyiv, same night
        (utc(2026, 11, 21, 5, 0), None),  # 07:00 Kyiv: over
        (utc(2026, 11, 20, 19, 59), None),  # 21:59 Kyiv: not yet
        (utc(2026, 7, 1, 19, 0), utc(2026, 7, 2, 4, 0)),  # summer time: UTC+3
    ],
)
def test_quiet_window_spanning_midnight_ends_at_the_local_end_time(
    now: datetime, until: datetime | None
) -> None:
    assert quiet_until(KYIV_NIGHT, now) == until


def test_quiet_window_within_a_day() -> None:
    assert quiet_until(LUNCH, utc(2026, 1, 5, 12, 45)) == utc(2026, 1, 5, 13, 30)
    assert quiet_until(LUNCH, utc(2026, 1, 5, 13, 30)) is None
    assert quiet_until(LUNCH, utc(2026, 1, 5, 23, 0)) is None


def test_quiet_window_on_the_night_clocks_go_forward() -> None:
    # Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST; the window ends at 07:00 CEST
    berlin = QuietHours(time(22, 0), time(7, 0), "Europe/Berlin")
    assert quiet_until(berlin, utc(2026, 3, 29, 1, 30)) == utc(2026, 3, 29, 5, 0)


def test_digest_times_hourly_and_daily_in_the_routes_zone() -> None:
    hourly = Route("email", digest="hourly")
    assert next_digest(hourly, utc(2026, 11, 20, 9, 10)) == utc(2026, 11, 20, 10, 0)
    assert next_digest(hourly, utc(2026, 11, 20, 10, 0)) == utc(2026, 11, 20, 11, 0)
    daily = Route("email", digest="daily", digest_at=time(8, 0), timezone="Europe/Kyiv")
    assert next_digest(daily, utc(2026, 11, 20, 5, 59)) == utc(2026, 11, 20, 6, 0)
    assert next_digest(daily, utc(2026, 11, 20, 6, 0)) == utc(2026, 11, 21, 6, 0)


def test_quiet_hours_hold_only_when_every_watchlist_of_the_alert_is_quiet() -> None:
    night = utc(2026, 11, 20, 21, 30)
    quiet, loud = Noise(quiet_hours=KYIV_NIGHT), Noise()
    hold = hold_for(AlertKind.NEW_ITEM, [quiet], None, night)
    assert hold is not None and hold.reason == "quiet_hours" and hold.until.hour == 5
    assert hold_for(AlertKind.NEW_ITEM, [quiet, loud], None, night) is None
    assert hold_for(AlertKind.FOLLOW_UP, [quiet], None, night) is not None  # a reply pings too
    assert hold_for(AlertKind.DASHBOARD, [quiet], None, night) is None  # an edit pings no one
    lunch = Noise(quiet_hours=LUNCH)
    assert hold_for(AlertKind.FIGURE_CHANGE, [lunch], None, utc(2026, 1, 5, 12, 45)) is None


def test_a_digest_falling_in_quiet_hours_waits_for_their_end() -> None:
    route = Route("email", digest="hourly")
    hold = hold_for(
        AlertKind.NEW_ITEM, [Noise(quiet_hours=KYIV_NIGHT)], route, utc(2026, 11, 20, 19, 30)
    )
    # the 20:00 UTC digest is at 22:00 Kyiv, inside the window: it goes at 07:00 Kyiv
    assert hold is not None and hold.reason == "digest" and hold.until == utc(2026, 11, 21, 5)
    assert "quiet hours" in hold.note
    assert hold_for(AlertKind.FIGURE_CHANGE, [Noise()], route, utc(2026, 11, 20, 19, 30)) is None


@pytest.mark.parametrize(
    ("caps", "sent", "held"),
    [
        ([3], {0: 2}, False),
        ([3], {0: 3}, True),
        ([3, None], {0: 9, 1: 9}, False),  # a watchlist without a cap lets it through
        ([3, 5], {0: 3, 1: 4}, False),
        ([3, 5], {0: 3, 1: 5}, True),
    ],
)
def test_the_hourly_cap_holds_only_when_every_watchlist_reached_it(
    caps: list[int | None], sent: dict[int, int], held: bool
) -> None:
    noises = [Noise(max_per_hour=cap) for cap in caps]
    hold = hold_for(AlertKind.NEW_ITEM, noises, None, utc(2026, 11, 20, 9, 10), sent)
    assert (hold is not None) == held
    if hold is not None:
        assert hold.reason == "cooldown" and hold.until == utc(2026, 11, 20, 10)
    assert hold_for(AlertKind.FIGURE_CHANGE, noises, None, utc(2026, 11, 20, 9, 10), sent) is None


def _held(
    alert_id: int, kind: AlertKind, notifier: str = "slack", reason: str = "quiet_hours"
) -> HeldAlert:
    content = AlertContent(kind, ["noisy"], f"title {alert_id}", None, None, None)
    return HeldAlert(alert_id, kind, notifier, "#c", reason, "held", utc(2026, 1, 1, 7), content)


def test_roll_up_merges_new_stories_and_releases_the_rest() -> None:
    held = [
        _held(1, AlertKind.NEW_ITEM),
        _held(2, AlertKind.FIGURE_CHANGE),
        _held(3, AlertKind.NEW_ITEM),
        _held(4, AlertKind.FOLLOW_UP),
        _held(5, AlertKind.NEW_ITEM, reason="cooldown"),
    ]
    groups = {(g.notifier, g.members and g.members[0].reason): g for g in roll_up(held, {"slack"})}
    night = groups[("slack", "quiet_hours")]
    assert [a.id for a in night.members] == [1, 3]
    assert [a.id for a in night.released] == [2, 4]  # Slack figure threads, replies
    assert night.digest is not None and night.digest.title == "Digest: 2 new stories"
    lone = next(g for g in roll_up(held, {"slack"}) if not g.members)
    assert [a.id for a in lone.released] == [5]  # one alone goes as itself


def test_roll_up_puts_figure_changes_in_an_email_digest() -> None:
    held = [_held(1, AlertKind.NEW_ITEM, "email"), _held(2, AlertKind.FIGURE_CHANGE, "email")]
    [group] = roll_up(held, {"slack"})
    assert group.digest is not None
    assert group.digest.title == "Digest: 1 new story and 1 figure change"


BASE = (REPO / "tests" / "data" / "noise" / "noisy.yaml").read_text(encoding="utf-8")


def test_noise_and_digest_keys_load_from_yaml() -> None:
    text = BASE + (
        "routes: [{notifier: email, to: [desk@example.org], digest: daily, digest_at: '06:30',"
        " timezone: Europe/Kyiv, digest_kinds: [new_item, figure_change]}]\n"
        "noise: {max_per_hour: 4, min_outlets: 2,"
        " quiet_hours: {start: 22:00, end: '07:00', timezone: Europe/Kyiv}}\n"
    )
    watchlist = load_watchlist_text(text, "noisy.yaml")
    assert watchlist.noise == Noise(4, QuietHours(time(22), time(7), "Europe/Kyiv"), 2)
    [route] = watchlist.routes
    assert (route.digest, route.digest_at, route.timezone) == ("daily", time(6, 30), "Europe/Kyiv")
    assert route.digest_kinds == ("new_item", "figure_change")


def test_bad_noise_settings_are_reported_with_their_line() -> None:
    text = BASE + (
        "routes: [{notifier: email, digest: weekly}]\n"
        "noise:\n"
        "  max_per_hour: 0\n"
        "  quiet_hours: {start: '25:00', end: '07:00', timezone: Mars/Olympus, kinds: [pings]}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_watchlist_text(text, "noisy.yaml")
    report = str(caught.value)
    first = BASE.count("\n") + 1
    assert f"noisy.yaml:{first}: routes.0.digest" in report
    assert f"noisy.yaml:{first + 2}: noise.max_per_hour" in report
    assert "expected a time of day as HH:MM" in report
    assert "unknown time zone 'Mars/Olympus'" in report
