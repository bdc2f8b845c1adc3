"""A local SMTP server for tests: aiosmtpd on 127.0.0.1, on a free port, collecting mail.

Usage::

    from tests.support.smtp_server import SmtpServer  # or use the ``smtp`` fixture

    with SmtpServer() as smtp:                         # plain, no AUTH
        config = EmailConfig(host=smtp.host, port=smtp.port)
    with SmtpServer(auth=("user", "secret")) as smtp:  # AUTH required (over plain text)
    with SmtpServer(tls=make_tls(tmp_path)) as smtp:   # STARTTLS required
    with SmtpServer(tls=..., implicit_tls=True)        # SMTPS
        smtp.messages                                  # list[Received], oldest first

``make_tls`` makes a self-signed certificate for 127.0.0.1 with the ``openssl`` command
and returns the server context and the CA file a client should trust.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Self

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    """One message as the server got it: envelope and parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    message: EmailMessage
    authenticated_as: str | None = None


@dataclass(frozen=True)
class Tls:
    server_context: ssl.SSLContext
    ca_file: Path


def make_tls(directory: Path) -> Tls:
    """A self-signed certificate for 127.0.0.1/localhost (skips the test without openssl)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return Tls(context, cert)


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        data = bytes(envelope.content)
        message = message_from_bytes(data, policy=policy.default)
        assert isinstance(message, EmailMessage)
        login = session.auth_data.login.decode() if session.authenticated else None
        with self.server.lock:
            self.server.messages.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), data, message, login)
            )
        return "250 OK"


class _Controller(Controller):
    def _trigger_server(self) -> None:
        server: Any = self.server
        self.port = server.sockets[0].getsockname()[1]  # we bound port 0
        super()._trigger_server()  # type: ignore[no-untyped-call]  # aiosmtpd is untyped


@dataclass
class SmtpServer:
    auth: tuple[str, str] | None = None
    tls: Tls | None = None
    implicit_tls: bool = False
    host: str = "127.0.0.1"
    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: _Controller | None = None

    @property
    def port(self) -> int:
        assert self._controller is not None, "server not started"
        return int(self._controller.port)

    def start(self) -> Self:
        kwargs: dict[str, Any] = {}
        if self.auth is not None:
            kwargs.update(
                authenticator=self._authenticate,
                auth_required=True,
                auth_require_tls=False,
            )
        if self.tls is not None and not self.implicit_tls:
            kwargs.update(tls_context=self.tls.server_context, require_starttls=True)
        self._controller = _Controller(
            _Handler(self),
            hostname=self.host,
            port=0,
            ssl_context=self.tls.server_context if self.tls and self.implicit_tls else None,
            **kwargs,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert self.auth is not None
        ok = (
            isinstance(auth_data, LoginPassword)
            and (
                auth_data.login.decode(),
                auth_data.password.decode(),
            )
            == self.auth
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)
