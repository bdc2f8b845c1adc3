"""Email notifier against a local aiosmtpd server (tests/support/smtp_server.py)."""

from __future__ import annotations

import logging
import socket
import ssl
from pathlib import Path

import pytest

from monitor.domain.errors import NotifyError
from monitor.domain.model import Alert, Delivery
from monitor.domain.notifier_config import EmailConfig, NotifiersConfig
from notifiers import build_notifiers
from notifiers.email import EmailNotifier
from tests.notifiers.test_notify_render import load_alert as load_fixture
from tests.support.smtp_server import SmtpServer, Tls, make_tls


def load_alert(name: str) -> Alert:
    """A fixture alert routed to email: ``channel`` is the route's ``to`` (None: config.to)."""
    alert = load_fixture(name)
    if alert.notifier != "email":
        alert.notifier, alert.channel = "email", None
    return alert


# AUTH over plain text is what the AUTH tests exercise on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return make_tls(tmp_path_factory.mktemp("tls"))


def config(server: SmtpServer, **kwargs: object) -> EmailConfig:
    values: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "from": "News Monitor <newsmon@alerts.example.org>",
        "to": ["team@example.org", "oncall@example.org"],
        "timeout": 5,
        **kwargs,
    }
    return EmailConfig.model_validate(values)


def test_sends_multipart_to_config_recipients(smtp: SmtpServer) -> None:
    alert = load_alert("figure_change")
    delivery = EmailNotifier(config(smtp)).send(alert)
    [got] = smtp.messages
    assert got.rcpt_tos == ["team@example.org", "oncall@example.org"]
    assert got.mail_from == "newsmon@alerts.example.org"
    msg = got.message
    assert msg["Message-ID"] == delivery.remote_id == "<newsmon-alert-202@alerts.example.org>"
    assert msg.get_content_type() == "multipart/alternative"
    html = msg.get_body(("html",))
    assert html is not None and "nk_casualties" in html.get_content()
    assert msg["Date"] is not None and msg["Auto-Submitted"] == "auto-generated"


def test_resend_keeps_the_message_id(smtp: SmtpServer) -> None:
    notifier = EmailNotifier(config(smtp))
    notifier.send(load_alert("new_item"))
    notifier.send(load_alert("new_item"))
    assert len({got.message["Message-ID"] for got in smtp.messages}) == 1
    assert notifier.already_sent(load_alert("new_item")) is None


def test_route_recipients_from_alert_channel(smtp: SmtpServer) -> None:
    EmailNotifier(config(smtp)).send(load_alert("hostile"))
    [got] = smtp.messages
    assert got.rcpt_tos == ["desk@example.org", "night@example.org"]
    assert got.message["To"] == "desk@example.org, Night Desk <night@example.org>"


def test_crlf_in_title_cannot_add_headers_or_recipients(smtp: SmtpServer) -> None:
    EmailNotifier(config(smtp)).send(load_alert("hostile"))
    [got] = smtp.messages
    assert "victim@example.com" not in got.rcpt_tos
    assert got.message["Bcc"] is None
    assert b"\nBcc:" not in got.data
    subject = got.message["Subject"]
    assert "\n" not in subject and subject.endswith("@here Bcc: victim@example.com")


@pytest.mark.parametrize(
    "channel", ["a@example.org\r\nBcc: x@example.org", "not an address", " , "]
)
def test_bad_route_recipients_are_permanent(smtp: SmtpServer, channel: str) -> None:
    alert = load_alert("new_item")
    alert.channel = channel
    with pytest.raises(NotifyError) as caught:
        EmailNotifier(config(smtp)).send(alert)
    assert caught.value.permanent
    assert smtp.messages == []


def test_auth_with_password_from_environment() -> None:
    with SmtpServer(auth=("newsmon", "s3cret")) as server:
        cfg = config(server, username="newsmon", password_env="SMTP_PW")
        notifier = build_notifiers(NotifiersConfig(email=cfg), environ={"SMTP_PW": "s3cret"})
        notifier["email"].send(load_alert("new_item"))
        assert [got.authenticated_as for got in server.messages] == ["newsmon"]
        wrong = EmailNotifier(cfg, password="wrong")
        with pytest.raises(NotifyError) as caught:
            wrong.send(load_alert("new_item"))
        assert caught.value.permanent and "535" in str(caught.value)
        assert "wrong" not in str(caught.value)


def test_missing_password_names_the_variable() -> None:
    cfg = EmailConfig.model_validate({"username": "u", "password_env": "MY_SMTP_PW"})
    with pytest.raises(NotifyError, match=r"\$MY_SMTP_PW"):
        build_notifiers(NotifiersConfig(email=cfg), environ={})


def test_server_requiring_auth_refuses_anonymous_permanently() -> None:
    with SmtpServer(auth=("newsmon", "s3cret")) as server:
        with pytest.raises(NotifyError) as caught:
            EmailNotifier(config(server)).send(load_alert("new_item"))
        assert caught.value.permanent


def test_starttls(tls: Tls) -> None:
    with SmtpServer(tls=tls) as server:
        cfg = config(server, starttls=True, ca_file=str(tls.ca_file))
        EmailNotifier(cfg).send(load_alert("new_item"))
        assert len(server.messages) == 1
        with pytest.raises(NotifyError) as caught:  # the server insists on STARTTLS
            EmailNotifier(config(server)).send(load_alert("new_item"))
        assert caught.value.permanent


def test_implicit_tls(tls: Tls) -> None:
    with SmtpServer(tls=tls, implicit_tls=True) as server:
        context = ssl.create_default_context(cafile=tls.ca_file)
        EmailNotifier(config(server, tls=True), ssl_context=context).send(load_alert("new_item"))
        assert len(server.messages) == 1


def test_untrusted_certificate_is_permanent(tls: Tls) -> None:
    with SmtpServer(tls=tls) as server:
        with pytest.raises(NotifyError) as caught:
            EmailNotifier(config(server, starttls=True)).send(load_alert("new_item"))
        assert caught.value.permanent and "TLS" in str(caught.value)


def test_connection_refused_is_temporary() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cfg = EmailConfig.model_validate({"host": "127.0.0.1", "port": port})
    with pytest.raises(NotifyError) as caught:
        EmailNotifier(cfg).send(load_alert("new_item"))
    assert not caught.value.permanent


def test_tls_and_starttls_together_are_rejected() -> None:
    with pytest.raises(ValueError, match="either tls"):
        EmailConfig.model_validate({"tls": True, "starttls": True})


def test_ca_file_config_is_used(tls: Tls, tmp_path: Path) -> None:
    with SmtpServer(tls=tls, implicit_tls=True) as server:
        EmailNotifier(config(server, tls=True, ca_file=str(tls.ca_file))).send(
            load_alert("new_item")
        )
        assert len(server.messages) == 1


# --- digests and dashboards -----------------------------------------------------------------


def test_digest_email_is_multipart_with_every_member_in_both_parts(smtp: SmtpServer) -> None:
    alert = load_alert("digest_email")
    delivery = EmailNotifier(config(smtp)).send(alert)
    [got] = smtp.messages
    assert got.rcpt_tos == ["desk@example.org"]
    msg = got.message
    assert msg["Subject"] == "[newsmon] Digest · nk-deployment, casualty-figures: 4 alerts"
    assert msg["Message-ID"] == delivery.remote_id == "<newsmon-alert-606@alerts.example.org>"
    assert msg.get_content_type() == "multipart/alternative"
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None
    for member in alert.content.digest:
        assert member.url is not None
        assert member.title in text.get_content() and member.url in text.get_content()
        assert member.title in html.get_content()
        assert f'href="{member.url.replace("&", "&amp;")}"' in html.get_content()


def test_digest_subject_has_no_line_break_whatever_the_titles(smtp: SmtpServer) -> None:
    EmailNotifier(config(smtp)).send(load_alert("digest_hostile"))
    [got] = smtp.messages
    assert got.rcpt_tos == ["team@example.org", "oncall@example.org"]  # config.to
    assert got.message["Subject"] == "[newsmon] Digest · kn-23: 2 new stories"
    assert got.message["Bcc"] is None and got.message["X-Injected"] is None
    headers = got.data.split(b"\r\n\r\n", 1)[0]
    assert b"victim@example.com" not in headers and b"hijack" not in headers


def test_dashboard_sends_no_email(smtp: SmtpServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="notifiers.email")
    assert EmailNotifier(config(smtp)).send(load_alert("dashboard")) == Delivery()
    assert smtp.messages == []
    assert "dashboards are Slack-only" in caplog.text
