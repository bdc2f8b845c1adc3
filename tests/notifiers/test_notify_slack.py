"""Slack notifier against the local Slack-compatible server (tests/support/slack_server.py)."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime, timedelta

import pytest

from monitor.domain.errors import NotifyError
from monitor.domain.model import Alert, Delivery
from monitor.domain.notifier_config import NotifiersConfig, SlackConfig
from notifiers import build_notifiers
from notifiers.slack import SlackError, SlackNotifier
from tests.notifiers.test_notify_render import HOSTILE, _dashboard, _digest, _huge, load_alert
from tests.support.slack_server import SlackServer, find_mentions


def bot(server: SlackServer, **config: object) -> SlackNotifier:
    return SlackNotifier(SlackConfig(base_url=server.base_url, **config), token=server.token)


def hook(server: SlackServer) -> SlackNotifier:
    return SlackNotifier(SlackConfig(), webhook_url=server.webhook_url)


def test_posts_to_config_channel_with_metadata(slack: SlackServer) -> None:
    delivery = bot(slack).send(load_alert("figure_change"))  # channel None → config
    [message] = slack.messages_in("#news-alerts")
    assert delivery.remote_id == message["ts"] == delivery.thread_id
    assert message["metadata"] == {
        "event_type": "newsmon_alert",
        "event_payload": {"alert_id": 202, "kind": "figure_change"},
    }
    assert message["blocks"][0]["text"]["text"] == "📈 Figure change · casualty-figures"


def test_route_channel_overrides_config(slack: SlackServer) -> None:
    alert = load_alert("new_item")
    alert.channel = "C0OTHER001"
    bot(slack).send(alert)
    assert len(slack.messages_in("other")) == 1
    assert slack.messages_in("news-alerts") == []


def test_hostile_article_cannot_mention_anyone(slack: SlackServer) -> None:
    alert = load_alert("hostile")
    alert.channel = None
    bot(slack).send(alert)
    [message] = slack.messages
    texts = [message["text"], *(str(b) for b in message["blocks"])]
    assert [find_mentions(t) for t in texts] == [[] for _ in texts]


@pytest.mark.parametrize("changes", [0, 30, 80])
def test_huge_alert_is_accepted(slack: SlackServer, changes: int) -> None:
    bot(slack).send(_huge(changes))
    assert [call.error for call in slack.calls] == [None]


def test_429_gives_retry_after(slack: SlackServer) -> None:
    slack.fail_next("ratelimited", retry_after=17)
    with pytest.raises(NotifyError) as caught:
        bot(slack).send(load_alert("new_item"))
    assert caught.value.retry_after == 17 and not caught.value.permanent
    assert len(slack.calls) == 1  # no retry of its own
    bot(slack).send(load_alert("new_item"))
    assert len(slack.messages) == 1


def test_5xx_is_temporary(slack: SlackServer) -> None:
    slack.fail_next("internal_error")
    with pytest.raises(NotifyError) as caught:
        bot(slack).send(load_alert("new_item"))
    assert not caught.value.permanent and caught.value.retry_after is None
    assert len(slack.calls) == 1


@pytest.mark.parametrize(
    "error",
    ["channel_not_found", "invalid_auth", "not_in_channel", "account_inactive", "token_revoked"],
)
def test_permanent_errors(slack: SlackServer, error: str) -> None:
    slack.fail_next(error)
    with pytest.raises(SlackError) as caught:
        bot(slack).send(load_alert("new_item"))
    assert caught.value.permanent and caught.value.code == error
    assert error in str(caught.value)


def test_unknown_channel_and_wrong_token_are_permanent(slack: SlackServer) -> None:
    alert = load_alert("new_item")
    alert.channel = "#nowhere"
    with pytest.raises(NotifyError) as caught:
        bot(slack).send(alert)
    assert caught.value.permanent
    wrong = SlackNotifier(SlackConfig(base_url=slack.base_url), token="xoxb-wrong")
    with pytest.raises(NotifyError) as caught:
        wrong.send(load_alert("new_item"))
    assert caught.value.permanent and "invalid_auth" in str(caught.value)
    assert "xoxb-wrong" not in str(caught.value)


def test_unknown_error_code_is_temporary(slack: SlackServer) -> None:
    slack.fail_next("something_new")
    with pytest.raises(NotifyError) as caught:
        bot(slack).send(load_alert("new_item"))
    assert not caught.value.permanent


def test_rejected_blocks_fall_back_to_text_once(slack: SlackServer) -> None:
    slack.fail_next("invalid_blocks")
    delivery = bot(slack).send(load_alert("new_item"))
    [message] = slack.messages
    assert delivery.remote_id == message["ts"]
    assert message["blocks"] is None and message["text"].startswith("New story")
    assert message["metadata"]["event_payload"] == {"alert_id": 101, "kind": "new_item"}


def test_connection_refused_is_temporary() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    notifier = SlackNotifier(SlackConfig(base_url=f"http://127.0.0.1:{port}/api"), token="xoxb-x")
    with pytest.raises(NotifyError) as caught:
        notifier.send(load_alert("new_item"))
    assert not caught.value.permanent


def test_timeout_is_temporary() -> None:
    with socket.socket() as sock:  # accepts, never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        notifier = SlackNotifier(
            SlackConfig(base_url=f"http://127.0.0.1:{port}/api/", timeout=0.2), token="xoxb-x"
        )
        assert notifier._client is not None
        # SlackConfig rounds up to 1s; WebClient types its timeout int, but takes a float
        notifier._client.timeout = 0.2  # type: ignore[assignment]
        with pytest.raises(NotifyError) as caught:
            notifier.send(load_alert("new_item"))
    assert not caught.value.permanent


def test_webhook_posts(slack: SlackServer) -> None:
    delivery = hook(slack).send(load_alert("new_item"))
    [message] = slack.messages
    assert delivery.remote_id is None
    assert message["channel"] == slack.webhook_channel
    assert message["blocks"][0]["type"] == "header"
    assert [c.method for c in slack.calls] == ["webhook"]


@pytest.mark.parametrize(
    ("error", "permanent", "retry_after"),
    [
        ("ratelimited", False, 3.0),
        ("internal_error", False, None),
        ("channel_not_found", True, None),
        ("invalid_auth", True, None),
    ],
)
def test_webhook_failures(
    slack: SlackServer, error: str, permanent: bool, retry_after: float | None
) -> None:
    slack.fail_next(error, retry_after=3 if retry_after else None)
    with pytest.raises(NotifyError) as caught:
        hook(slack).send(load_alert("new_item"))
    assert (caught.value.permanent, caught.value.retry_after) == (permanent, retry_after)


def test_webhook_rejected_blocks_fall_back_to_text(slack: SlackServer) -> None:
    slack.fail_next("invalid_blocks")
    hook(slack).send(load_alert("new_item"))
    [message] = slack.messages
    assert message["blocks"] is None


def test_already_sent_finds_the_alert_by_metadata(slack: SlackServer) -> None:
    notifier = bot(slack)
    alert = load_alert("new_item")
    alert.created_at = datetime.now(UTC)
    other = load_alert("figure_change")
    other.channel = "#news-alerts"
    assert notifier.already_sent(alert) is None
    notifier.send(other)
    delivery = notifier.send(alert)
    notifier.send(other)
    assert notifier.already_sent(alert) == delivery.remote_id
    history = [c for c in slack.calls if c.method == "conversations.history"]
    assert history[-1].params["channel"] == "C0NEWS0001"  # resolved from "#news-alerts"


def test_already_sent_ignores_messages_before_the_alert_existed(slack: SlackServer) -> None:
    notifier = bot(slack)
    alert = load_alert("new_item")
    notifier.send(alert)  # an old message with the same id (e.g. before a database reset)
    alert.created_at = datetime.now(UTC) + timedelta(hours=1)
    assert notifier.already_sent(alert) is None


def test_already_sent_pages_through_history(slack: SlackServer) -> None:
    notifier = SlackNotifier(
        SlackConfig(base_url=slack.base_url, history_pages=3), token=slack.token
    )
    alert = load_alert("new_item")
    alert.created_at = None
    first = notifier.send(alert)
    for i in range(450):
        slack.messages.append(
            {"type": "message", "channel": "C0NEWS0001", "ts": f"{2e9 + i:.6f}", "text": "x"}
        )
    assert notifier.already_sent(alert) == first.remote_id
    assert sum(c.method == "conversations.history" for c in slack.calls) == 3


def test_already_sent_with_webhook_cannot_tell(slack: SlackServer) -> None:
    assert hook(slack).already_sent(load_alert("new_item")) is None
    assert slack.calls == []


def test_already_sent_raises_temporary_on_outage(slack: SlackServer) -> None:
    slack.fail_next("ratelimited", retry_after=5, method="conversations.list")
    with pytest.raises(NotifyError) as caught:
        bot(slack).already_sent(load_alert("new_item"))
    assert caught.value.retry_after == 5


def test_already_sent_without_permission_says_none(slack: SlackServer) -> None:
    slack.fail_next("missing_scope", method="conversations.history")
    alert = load_alert("new_item")
    alert.channel = "C0NEWS0001"
    assert bot(slack).already_sent(alert) is None


def test_build_notifiers_prefers_token_then_webhook(slack: SlackServer) -> None:
    config = SlackConfig(base_url=slack.base_url.rstrip("/"))
    env = {"SLACK_BOT_TOKEN": slack.token, "SLACK_WEBHOOK_URL": slack.webhook_url}
    notifiers = build_notifiers(NotifiersConfig(slack=config), environ=env)
    notifiers["slack"].send(load_alert("new_item"))
    only_hook = {"SLACK_WEBHOOK_URL": slack.webhook_url}
    build_notifiers(NotifiersConfig(slack=config), environ=only_hook)["slack"].send(
        load_alert("new_item")
    )
    assert [c.method for c in slack.calls] == ["chat.postMessage", "webhook"]


def test_build_notifiers_names_missing_secret_variables() -> None:
    config = SlackConfig(token_env="MY_TOKEN", webhook_url_env="MY_HOOK")
    with pytest.raises(NotifyError, match=r"\$MY_TOKEN .*\$MY_HOOK"):
        build_notifiers(NotifiersConfig(slack=config), environ={})


# --- dashboards: chat.update of a figure's thread parent ------------------------------------


def start_thread(slack: SlackServer, notifier: SlackNotifier) -> Alert:
    """Post the figure's first alert (the thread parent) as the core would, and return the
    dashboard fixture pointed at it, with the channel id the post reported."""
    parent = load_alert("figure_change")
    delivery = notifier.send(parent)
    dashboard = load_alert("dashboard")
    assert delivery.remote_id is not None
    dashboard.thread_id, dashboard.thread_channel = delivery.remote_id, delivery.remote_channel
    return dashboard


def test_post_reports_the_channel_id_slack_returned(slack: SlackServer) -> None:
    delivery = bot(slack).send(load_alert("new_item"))  # routed to "#news-alerts"
    assert delivery.remote_channel == "C0NEWS0001"
    assert hook(slack).send(load_alert("new_item")).remote_channel is None


def test_dashboard_edits_the_thread_parent_to_show_the_current_range(slack: SlackServer) -> None:
    notifier = bot(slack)
    dashboard = start_thread(slack, notifier)
    delivery = notifier.send(dashboard)
    assert [c.method for c in slack.calls] == ["chat.postMessage", "chat.update"]
    [update] = slack.updates
    assert (update.channel, update.ts) == ("C0NEWS0001", dashboard.thread_id)
    assert delivery == Delivery(
        remote_id=dashboard.thread_id, thread_id=dashboard.thread_id, remote_channel="C0NEWS0001"
    )
    [parent] = slack.messages  # edited in place: no new message
    assert parent["text"].startswith("📊 nk_casualties — current estimates: 100–4,000 people")
    assert parent["blocks"][0]["text"]["text"] == "📊 nk_casualties — current estimates"
    assert parent["blocks"][1]["text"]["text"] == "*100–4,000 people across 4 estimates*"
    # the parent still names the alert that posted it: history shows every alert once
    assert parent["metadata"]["event_payload"] == {"alert_id": 202, "kind": "figure_change"}
    assert parent["edited"]
    assert update.metadata is None


def test_dashboard_of_an_older_thread_finds_the_channel_id_by_name(slack: SlackServer) -> None:
    notifier = bot(slack)
    dashboard = start_thread(slack, notifier)
    dashboard.thread_channel = None  # a thread started before newsmon kept the id
    notifier.send(dashboard)
    assert [c.method for c in slack.calls] == [
        "chat.postMessage", "conversations.list", "chat.update"
    ]  # fmt: skip
    assert slack.updates[0].channel == "C0NEWS0001"


def test_dashboard_channel_lookup_not_allowed_tries_the_name(slack: SlackServer) -> None:
    notifier = bot(slack)
    dashboard = start_thread(slack, notifier)
    dashboard.thread_channel = None
    slack.fail_next("missing_scope", method="conversations.list")
    with pytest.raises(SlackError) as caught:
        notifier.send(dashboard)
    assert caught.value.permanent and caught.value.code == "channel_not_found"
    assert slack.calls[-1].params["channel"] == "#news-alerts"


def test_dashboard_channel_lookup_outage_is_temporary(slack: SlackServer) -> None:
    notifier = bot(slack)
    dashboard = start_thread(slack, notifier)
    dashboard.thread_channel = None
    slack.fail_next("internal_error", method="conversations.list")
    with pytest.raises(NotifyError) as caught:
        notifier.send(dashboard)
    assert not caught.value.permanent and slack.updates == []


def test_dashboard_with_40_hostile_estimates_is_accepted_and_mentions_nobody(
    slack: SlackServer,
) -> None:
    notifier = bot(slack)
    thread = start_thread(slack, notifier)
    dashboard = _dashboard(40, HOSTILE)
    dashboard.thread_id, dashboard.thread_channel = thread.thread_id, thread.thread_channel
    notifier.send(dashboard)
    assert [c.error for c in slack.calls] == [None, None]
    [parent] = slack.messages
    texts = [parent["text"], *(str(b) for b in parent["blocks"][1:])]
    assert [find_mentions(t) for t in texts] == [[] for _ in texts]


def test_dashboard_429_gives_retry_after(slack: SlackServer) -> None:
    notifier = bot(slack)
    dashboard = start_thread(slack, notifier)
    slack.fail_next("ratelimited", retry_after=12, method="chat.update")
    with pytest.raises(NotifyError) as caught:
        notifier.send(dashboard)
    assert caught.value.retry_after == 12 and not caught.value.permanent
    assert slack.updates == []
    notifier.send(dashboard)
    assert len(slack.updates) == 1


@pytest.mark.parametrize("error", ["internal_error", "update_failed", "something_new"])
def test_dashboard_server_trouble_is_temporary(slack: SlackServer, error: str) -> None:
    notifier = bot(slack)
    dashboard = start_thread(slack, notifier)
    slack.fail_next(error, method="chat.update")
    with pytest.raises(NotifyError) as caught:
        notifier.send(dashboard)
    assert not caught.value.permanent


@pytest.mark.parametrize(
    "error",
    ["message_not_found", "cant_update_message", "edit_window_closed", "channel_not_found",
     "invalid_auth", "is_archived", "not_in_channel"],
)  # fmt: skip
def test_dashboard_edit_refusals_are_permanent(slack: SlackServer, error: str) -> None:
    notifier = bot(slack)
    dashboard = start_thread(slack, notifier)
    slack.fail_next(error, method="chat.update")
    with pytest.raises(SlackError) as caught:
        notifier.send(dashboard)
    assert caught.value.permanent and caught.value.code == error


def test_dashboard_of_a_deleted_parent_is_permanent(slack: SlackServer) -> None:
    dashboard = start_thread(slack, bot(slack))
    slack.messages.clear()  # someone deleted the thread's parent
    with pytest.raises(SlackError) as caught:
        bot(slack).send(dashboard)
    assert caught.value.permanent and caught.value.code == "message_not_found"


def test_dashboard_without_a_thread_is_permanent_and_asks_nothing(slack: SlackServer) -> None:
    dashboard = load_alert("dashboard")
    dashboard.thread_id = None
    with pytest.raises(NotifyError) as caught:
        bot(slack).send(dashboard)
    assert caught.value.permanent and slack.calls == []


def test_dashboard_rejected_blocks_become_a_text_edit(slack: SlackServer) -> None:
    notifier = bot(slack)
    dashboard = start_thread(slack, notifier)
    slack.fail_next("invalid_blocks", method="chat.update")
    notifier.send(dashboard)
    [parent] = slack.messages
    assert parent["blocks"] is None  # the parent's stale figure_change blocks are gone
    assert parent["text"].startswith("📊 nk_casualties — current estimates")


def test_dashboard_via_webhook_sends_nothing(
    slack: SlackServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="notifiers.slack")
    assert hook(slack).send(load_alert("dashboard")) == Delivery()
    assert slack.calls == []
    assert "dashboards need a bot token" in caplog.text


def test_dashboard_already_sent_asks_nothing(slack: SlackServer) -> None:
    assert bot(slack).already_sent(load_alert("dashboard")) is None
    assert slack.calls == []


# --- digests --------------------------------------------------------------------------------


def test_digest_is_posted_with_its_metadata(slack: SlackServer) -> None:
    delivery = bot(slack).send(load_alert("digest"))
    [message] = slack.messages_in("#news-alerts")
    assert delivery.remote_id == message["ts"]
    assert message["blocks"][0]["text"]["text"] == "🗂 Digest · nk-deployment, kn-23: 7 new stories"
    assert message["metadata"]["event_payload"] == {"alert_id": 505, "kind": "digest"}


def test_digest_works_through_a_webhook(slack: SlackServer) -> None:
    hook(slack).send(load_alert("digest"))
    [message] = slack.messages
    assert [c.method for c in slack.calls] == ["webhook"]
    assert len(message["blocks"]) == 9


@pytest.mark.parametrize("members", [120])
def test_digest_of_120_members_is_accepted(slack: SlackServer, members: int) -> None:
    bot(slack).send(_digest(members))
    hook(slack).send(_digest(members))
    assert [c.error for c in slack.calls] == [None, None]
    for message in slack.messages:
        assert len(message["blocks"]) == 50
        assert message["blocks"][-1]["text"]["text"] == "…and 73 more"


def test_hostile_digest_mentions_nobody(slack: SlackServer) -> None:
    alert = load_alert("digest_hostile")
    alert.channel = None
    bot(slack).send(alert)
    [message] = slack.messages
    texts = [message["text"], *(str(b) for b in message["blocks"])]
    assert [find_mentions(t) for t in texts] == [[] for _ in texts]
