"""Email notifier: SMTP (plain, STARTTLS or implicit TLS), multipart text + HTML.

Recipients: the alert's route ``to`` when it has one — the outbox passes it in
``Alert.channel`` as a comma-separated address list — else ``EmailConfig.to``.

The message is built by the pure :func:`render_email`. Its ``Message-ID`` is derived from
the alert id (``<newsmon-alert-{id}@{sender domain}>``), so a resend after a crash keeps
the same id and mail clients can fold the duplicate.
"""

from __future__ import annotations

import html
import logging
import re
import smtplib
import ssl
from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, getaddresses, parseaddr

from monitor.domain.errors import NotifyError
from monitor.domain.model import Alert, AlertContent, Delivery, FigureChange
from monitor.domain.notifier_config import EmailConfig
from notifiers.format import (
    change_source,
    digest_heading,
    format_time,
    kind_label,
    known_source,
    known_value,
    observation_value,
    one_line,
    quote_in_language,
    range_summary,
    safe_url,
    truncate,
)

log = logging.getLogger(__name__)

SUBJECT_LIMIT = 200
SUMMARY_LIMIT = 2000
DIGEST_SUMMARY_LIMIT = 300  # a digest lists many stories: a taste of each, not the article


# --- rendering ------------------------------------------------------------------------------


def message_id(alert: Alert, sender: str) -> str:
    """``<newsmon-alert-{id}@{domain of sender}>``: the same for every attempt."""
    domain = parseaddr(sender)[1].rpartition("@")[2]
    domain = re.sub(r"[^A-Za-z0-9.-]", "", domain) or "localhost"
    return f"<newsmon-alert-{alert.id}@{domain}>"


def header_text(text: str) -> str:
    """Feed text made safe for a mail header: one line (no CR/LF, control or bidi
    characters) in which nothing reads as an RFC 2047 encoded word.

    ``email`` decodes an ``=?charset?q?...?=`` it is handed as a header value; one that
    decodes to CR LF became a header of its own (``Reply-To:``, a MIME part) on Python
    before 3.11.10 / 3.12.5 (CVE-2024-6923). Breaking every ``=?`` apart ("= ?") keeps the
    text readable and gives the parser nothing to decode, on every Python."""
    return one_line(text).replace("=?", "= ?")


def subject(alert: Alert) -> str:
    """One line, no CR/LF or control characters, at most ``SUBJECT_LIMIT`` characters.

    A digest's subject is composed from its members' kinds and watchlists only
    (``[newsmon] Digest · nk-deployment: 7 new stories``): no article text, whatever the
    members' titles hold; a dashboard's names the figure and its current range."""
    content = alert.content
    if alert.kind == "digest":
        return truncate(header_text(f"[newsmon] {digest_heading(content)}"), SUBJECT_LIMIT)
    if alert.kind == "dashboard" and content.changes:
        change = content.changes[0]
        lead = f"[newsmon] {kind_label(content.kind)} · {', '.join(content.watchlists)}"
        text = f"{lead}: {change.observation.figure} {range_summary(change)}"
        return truncate(header_text(text), SUBJECT_LIMIT)
    lead = f"[newsmon] {kind_label(content.kind)} · {', '.join(content.watchlists)}"
    if content.changes:
        first = content.changes[0].observation
        lead += f": {first.figure} {observation_value(first)}"
        if len(content.changes) > 1:
            lead += f" (+{len(content.changes) - 1} more)"
        return truncate(header_text(f"{lead} — {content.title}"), SUBJECT_LIMIT)
    return truncate(header_text(f"{lead}: {content.title}"), SUBJECT_LIMIT)


def _change_lines(change: FigureChange, content: AlertContent) -> list[str]:
    obs = change.observation
    before = known_value(change.previous[0], obs.unit) if change.previous else "first value"
    lines = [f"{obs.figure}: {before} → {observation_value(obs)}"]
    source = change_source(change, content)
    if source:
        lines.append(f"  stated by {one_line(source)}")
    if quote := quote_in_language(obs):
        lines.append(f"  quote: {quote}")
    for known in change.previous:
        lines.append(f"  before: {known_value(known, obs.unit)} — {one_line(known_source(known))}")
    if change.spread:
        lines.append(f"  sources disagree: {one_line(change.spread)}")
    return lines


def render_text(alert: Alert) -> str:
    """The text/plain part."""
    if alert.kind == "digest":
        return render_digest_text(alert)
    content = alert.content
    lines = [
        f"{kind_label(content.kind)} · {', '.join(content.watchlists)}",
        "",
        one_line(content.title),
    ]
    if content.url:
        lines.append(one_line(content.url))
    published = format_time(content.published_at) if content.published_at else None
    meta = [one_line(part) for part in (content.outlet, published) if part]
    if meta:
        lines.append(" · ".join(meta))
    if content.summary:
        lines += ["", truncate(one_line(content.summary), SUMMARY_LIMIT)]
    if content.matched_terms:
        lines += ["", "Matched: " + ", ".join(one_line(t) for t in content.matched_terms)]
    for change in content.changes:
        lines += ["", *_change_lines(change, content)]
    if content.also_reported_by:
        also = ", ".join(one_line(outlet) for outlet in content.also_reported_by)
        lines += ["", f"Also reported by: {also}"]
    lines += ["", "-- ", "Sent by newsmon."]
    return "\n".join(lines) + "\n"


def _h(text: str) -> str:
    return html.escape(one_line(text), quote=True)


_CELL = "padding:6px 8px;border-top:1px solid #e3e6ea;vertical-align:top"
_MUTED = "color:#5f6b7a;font-size:13px"


def _html_change(change: FigureChange, content: AlertContent) -> str:
    obs = change.observation
    before = known_value(change.previous[0], obs.unit) if change.previous else "first value"
    history = "".join(
        f'<li>{_h(known_value(known, obs.unit))} — <span style="{_MUTED}">'
        f"{_h(known_source(known))}</span></li>"
        for known in change.previous
    )
    spread = (
        f'<div style="color:#9a5b00;font-size:13px">⚠ Sources disagree: {_h(change.spread)}</div>'
        if change.spread
        else ""
    )
    history_html = (
        f'<ul style="margin:4px 0 0 0;padding-left:18px;{_MUTED}">{history}</ul>' if history else ""
    )
    quote = quote_in_language(obs)
    quote_html = f'<div style="{_MUTED}">{_h(quote)}</div>' if quote else ""
    return (
        f'<tr><td style="{_CELL};font-family:monospace">{_h(obs.figure)}</td>'
        f'<td style="{_CELL};color:#5f6b7a">{_h(before)}</td>'
        f'<td style="{_CELL}"><strong>{_h(observation_value(obs))}</strong>'
        f'<div style="{_MUTED}">{_h(change_source(change, content))}</div>'
        f"{quote_html}{history_html}{spread}</td></tr>"
    )


def render_html(alert: Alert) -> str:
    """The text/html part: one inline-styled table, no external resources."""
    if alert.kind == "digest":
        return render_digest_html(alert)
    content = alert.content
    headline = _headline(content)
    published = format_time(content.published_at) if content.published_at else None
    meta = " · ".join(_h(part) for part in (content.outlet, published) if part)
    rows = [
        _banner(f"{kind_label(content.kind)} · {', '.join(content.watchlists)}"),
        f'<tr><td style="padding:16px 16px 4px 16px;font-size:18px;font-weight:bold">'
        f"{headline}</td></tr>",
    ]
    if meta:
        rows.append(f'<tr><td style="padding:0 16px;{_MUTED}">{meta}</td></tr>')
    if content.summary:
        summary = _h(truncate(content.summary, SUMMARY_LIMIT))
        rows.append(f'<tr><td style="padding:12px 16px 0 16px">{summary}</td></tr>')
    if content.matched_terms:
        terms = ", ".join(_h(term) for term in content.matched_terms)
        rows.append(f'<tr><td style="padding:12px 16px 0 16px;{_MUTED}">Matched: {terms}</td></tr>')
    if content.changes:
        rows.append(f'<tr><td style="padding:12px 16px 0 16px">{_changes_table(content)}</td></tr>')
    if content.also_reported_by:
        also = ", ".join(_h(outlet) for outlet in content.also_reported_by)
        rows.append(
            f'<tr><td style="padding:12px 16px 0 16px;{_MUTED}">Also reported by: {also}</td></tr>'
        )
    return _document(rows)


def _document(rows: list[str]) -> str:
    """The page around the rows: one centred, inline-styled table (what mail clients
    render alike), the "Sent by newsmon." footer last."""
    rows = [*rows, f'<tr><td style="padding:16px;{_MUTED}">Sent by newsmon.</td></tr>']
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>'
        '<body style="margin:0;padding:16px;background:#f4f5f7;'
        'font-family:Arial,Helvetica,sans-serif;color:#1d2430;font-size:15px;line-height:1.4">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        'style="max-width:680px;margin:0 auto;background:#ffffff;border:1px solid #dde1e6;'
        'border-collapse:collapse">\n' + "\n".join(rows) + "\n</table></body></html>\n"
    )


def _banner(text: str) -> str:
    return (
        f'<tr><td style="padding:10px 16px;background:#1f3a5f;color:#ffffff;font-size:13px">'
        f"{_h(text)}</td></tr>"
    )


def _headline(content: AlertContent) -> str:
    """The title as a link to the article (a safe http(s) URL only), HTML-escaped."""
    url = safe_url(content.url)
    title = _h(content.title) or "(untitled)"
    if not url:
        return title
    return (
        f'<a href="{html.escape(url, quote=True)}" style="color:#1a4d8f;text-decoration:none">'
        f"{title}</a>"
    )


def _changes_table(content: AlertContent) -> str:
    changes = "\n".join(_html_change(change, content) for change in content.changes)
    return (
        '<table role="presentation" width="100%" '
        'cellpadding="0" cellspacing="0" style="border-collapse:collapse;font-size:14px">'
        f'<tr><th align="left" style="padding:6px 8px">Figure</th>'
        f'<th align="left" style="padding:6px 8px">Before</th>'
        f'<th align="left" style="padding:6px 8px">Now</th></tr>\n{changes}\n</table>'
    )


# --- digests --------------------------------------------------------------------------------


def _published(content: AlertContent) -> str | None:
    return format_time(content.published_at) if content.published_at else None


def render_digest_text(alert: Alert) -> str:
    """The text/plain part of a digest: the heading, why the alerts were held, then each
    member numbered, oldest first, with its link, source, terms and figure changes."""
    content = alert.content
    lines = [digest_heading(content)]
    if content.note:
        lines.append(one_line(content.note))
    for number, member in enumerate(content.digest, 1):
        lines += ["", f"{number}. {one_line(member.title) or '(untitled)'}"]
        if url := safe_url(member.url):  # the same links as the HTML part, no others
            lines.append(f"   {url}")
        meta = [one_line(part) for part in (member.outlet, _published(member)) if part]
        if member.kind != "new_item":
            meta.insert(0, kind_label(member.kind))
        if meta:
            lines.append("   " + " · ".join(meta))
        if member.matched_terms:
            lines.append("   Matched: " + ", ".join(one_line(t) for t in member.matched_terms))
        if member.summary:
            lines.append("   " + truncate(one_line(member.summary), DIGEST_SUMMARY_LIMIT))
        for change in member.changes:
            lines += ["   " + line for line in _change_lines(change, member)]
    lines += ["", "-- ", "Sent by newsmon."]
    return "\n".join(lines) + "\n"


def _html_member(member: AlertContent) -> str:
    meta = [_h(part) for part in (member.outlet, _published(member)) if part]
    if member.kind != "new_item":
        meta.insert(0, _h(kind_label(member.kind)))
    parts = [f'<div style="font-size:16px;font-weight:bold">{_headline(member)}</div>']
    if meta:
        parts.append(f'<div style="{_MUTED}">{" · ".join(meta)}</div>')
    if member.matched_terms:
        terms = ", ".join(_h(term) for term in member.matched_terms)
        parts.append(f'<div style="{_MUTED}">Matched: {terms}</div>')
    if member.summary:
        summary = _h(truncate(one_line(member.summary), DIGEST_SUMMARY_LIMIT))
        parts.append(f'<div style="padding-top:4px">{summary}</div>')
    if member.changes:
        parts.append(f'<div style="padding-top:6px">{_changes_table(member)}</div>')
    return (
        f'<tr><td style="padding:12px 16px;border-top:1px solid #e3e6ea">{"".join(parts)}</td></tr>'
    )


def render_digest_html(alert: Alert) -> str:
    """The text/html part of a digest: a banner, why the alerts were held, then a row per
    member (title as link, outlet, time, terms, figure changes with previous values)."""
    content = alert.content
    rows = [_banner(digest_heading(content))]
    if content.note:
        rows.append(f'<tr><td style="padding:12px 16px;{_MUTED}">{_h(content.note)}</td></tr>')
    rows += [_html_member(member) for member in content.digest]
    if not content.digest:
        rows.append('<tr><td style="padding:12px 16px">Nothing was held.</td></tr>')
    return _document(rows)


def render_email(alert: Alert, *, sender: str, recipients: list[str]) -> EmailMessage:
    """The complete message for an alert: headers, text part, HTML part."""
    msg = EmailMessage()
    msg["Subject"] = subject(alert)
    msg["From"] = one_line(sender)
    msg["To"] = ", ".join(one_line(r) for r in recipients)
    msg["Message-ID"] = message_id(alert, sender)
    if alert.created_at is not None:
        msg["Date"] = format_datetime(alert.created_at)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Newsmon-Alert-Id"] = str(alert.id)
    for name, value in msg.items():  # what the parser made of each value, decoded
        if _CONTROL.search(str(value)):
            problem = f"email: header {name} would carry a control character"
            raise NotifyError(problem, permanent=True)
    msg.set_content(render_text(alert))
    msg.add_alternative(render_html(alert), subtype="html")
    return msg


# --- delivery -------------------------------------------------------------------------------


def parse_recipients(value: str | list[str]) -> list[str]:
    """Addresses (``Name <a@b>`` kept) from a comma-separated string or a list;
    ``NotifyError`` (permanent) when malformed or empty."""
    raw = [value] if isinstance(value, str) else value
    if any(_CONTROL.search(item) for item in raw):
        raise NotifyError("email: recipient contains a line break", permanent=True)
    pairs = [(name, addr) for name, addr in getaddresses(raw) if addr]
    if not pairs or any("@" not in addr or " " in addr for _, addr in pairs):
        raise NotifyError(f"email: bad recipient list {', '.join(raw)!r}", permanent=True)
    return [formataddr(pair) for pair in pairs]


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _smtp_error(err: Exception) -> NotifyError:
    """An SMTP failure as a ``NotifyError``: 5xx replies and TLS/config problems are
    permanent; 4xx replies, disconnects, timeouts and network errors are temporary."""
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in err.recipients.values()]
        permanent = bool(codes) and all(code >= 500 for code in codes)
        return NotifyError(
            f"email: recipients refused: {sorted(err.recipients)}", permanent=permanent
        )
    if isinstance(err, smtplib.SMTPResponseException):
        text = (
            err.smtp_error.decode(errors="replace")
            if isinstance(err.smtp_error, bytes)
            else str(err.smtp_error)
        )
        return NotifyError(
            f"email: SMTP {err.smtp_code} {one_line(text)}", permanent=err.smtp_code >= 500
        )
    if isinstance(err, smtplib.SMTPNotSupportedError):
        return NotifyError(f"email: server does not support {err}", permanent=True)
    if isinstance(err, ssl.SSLError):
        return NotifyError(f"email: TLS failed: {err}", permanent=True)
    return NotifyError(f"email: cannot reach the SMTP server: {err}")


class EmailNotifier:
    """Sends alerts by SMTP, one connection per alert."""

    name = "email"
    min_interval = 0.0

    def __init__(
        self,
        config: EmailConfig,
        *,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if config.username and not password:
            raise NotifyError(
                f"email: username is set but ${config.password_env} (SMTP password) is not",
                permanent=True,
            )
        self._config = config
        self._password = password
        self._recipients = parse_recipients(config.to) if config.to else []
        self._ssl = ssl_context or ssl.create_default_context(cafile=config.ca_file)

    @classmethod
    def from_env(cls, config: EmailConfig, environ: Mapping[str, str]) -> EmailNotifier:
        password = environ.get(config.password_env) if config.username else None
        return cls(config, password=password or None)

    def recipients_for(self, alert: Alert) -> list[str]:
        """The route's ``to`` (``Alert.channel``, comma-separated) or else ``config.to``."""
        if alert.channel:
            return parse_recipients(alert.channel)
        if not self._recipients:
            raise NotifyError("email: no recipients (set notifiers.email.to)", permanent=True)
        return self._recipients

    def send(self, alert: Alert) -> Delivery:
        if alert.kind == "dashboard":
            # A dashboard edits a Slack message in place; mail cannot be edited once sent,
            # and a mail per edit would be the noise dashboards exist to avoid.
            log.info("alert %s: dashboards are Slack-only; no email sent", alert.id)
            return Delivery()
        recipients = self.recipients_for(alert)
        msg = render_email(alert, sender=self._config.from_, recipients=recipients)
        if "Date" not in msg:
            msg["Date"] = format_datetime(datetime.now().astimezone())
        try:
            with self._connect() as smtp:
                envelope = [parseaddr(recipient)[1] for recipient in recipients]
                refused = smtp.send_message(msg, to_addrs=envelope)
        except (smtplib.SMTPException, OSError) as err:
            raise _smtp_error(err) from err
        if refused:
            log.warning("alert %s: some recipients refused: %s", alert.id, sorted(refused))
        return Delivery(remote_id=msg["Message-ID"], thread_id=msg["Message-ID"])

    def already_sent(self, alert: Alert) -> str | None:
        return None  # SMTP cannot tell; a resend keeps the same Message-ID

    def _connect(self) -> smtplib.SMTP:
        config = self._config
        smtp: smtplib.SMTP
        if config.tls:
            smtp = smtplib.SMTP_SSL(
                config.host, config.port, timeout=config.timeout, context=self._ssl
            )
        else:
            smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        try:
            if config.starttls:
                smtp.starttls(context=self._ssl)
            if config.username and self._password:
                smtp.login(config.username, self._password)
        except BaseException:
            smtp.close()
            raise
        return smtp
