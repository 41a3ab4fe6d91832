"""Sending e-mail through a real SMTP server (aiosmtpd): parts, headers, clear errors."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import subprocess
from collections.abc import Iterator
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from core.config import Settings
from core.mailer import Mail, MailError, send


class Collect:
    """An SMTP handler that keeps what it receives, or refuses every message."""

    def __init__(self, refuse: bool = False) -> None:
        self.messages: list[Message] = []
        self.refuse = refuse

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "550 mailbox unavailable"
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def relay() -> Iterator[tuple[Controller, Collect]]:
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def _settings(port: int, host: str = "127.0.0.1") -> Settings:
    return Settings(
        instance_path=Path("/nonexistent"),
        database_url="sqlite://",
        broker_url="memory://",
        ratelimit_storage_url="memory://",
        site_name="La Redacción",
        smtp_host=host,
        smtp_port=port,
        smtp_security="none",
        mail_from="avisos@redaccion.example",
    )


def test_a_message_arrives_with_both_parts_and_its_headers(
    relay: tuple[Controller, Collect],
) -> None:
    controller, handler = relay
    send(
        _settings(controller.port),
        Mail(
            to="editora@redaccion.example",
            subject="Resumen del día",
            text="Tres avisos nuevos.",
            html="<p>Tres avisos <strong>nuevos</strong>.</p>",
            headers={"List-Unsubscribe": "<https://staff.example/unsubscribe/t>"},
        ),
    )
    [message] = handler.messages
    assert message["To"] == "editora@redaccion.example"
    assert message["Subject"] == "Resumen del día"
    assert "avisos@redaccion.example" in message["From"]
    assert message["List-Unsubscribe"] == "<https://staff.example/unsubscribe/t>"
    assert message.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part for part in message.walk()}
    assert isinstance(message, EmailMessage)
    assert "Tres avisos nuevos." in str(parts["text/plain"].get_content())  # type: ignore[attr-defined]
    assert "<strong>nuevos</strong>" in str(parts["text/html"].get_content())  # type: ignore[attr-defined]


def test_without_a_relay_or_with_one_down_or_refusing_the_error_says_why() -> None:
    nowhere = _settings(_free_port())
    with pytest.raises(MailError, match="no SMTP relay is configured"):
        send(_settings(0, host=""), Mail(to="a@example.org", subject="s", text="t"))
    with pytest.raises(MailError, match="ConnectionRefusedError"):
        send(nowhere, Mail(to="a@example.org", subject="s", text="t"))

    handler = Collect(refuse=True)
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        with pytest.raises(MailError, match="SMTP 550: mailbox unavailable"):
            send(
                _settings(controller.port),
                Mail(to="a@example.org", subject="s", text="secret words"),
            )
    finally:
        controller.stop()


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl), and its key."""
    cert, key = tmp_path / "relay.pem", tmp_path / "relay.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class Accept:
    """An aiosmtpd authenticator that knows one login."""

    def __init__(self) -> None:
        self.logins: list[str] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = isinstance(auth, LoginPassword) and (auth.login, auth.password) == (
            b"tipline",
            b"relay-password",
        )
        if ok:
            self.logins.append(auth.login.decode())
        return AuthResult(success=ok)


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_the_relay_is_reached_over_tls_with_a_login(
    security: str, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = certificate
    # The client trusts this relay's certificate as it would a real one (no verification off).
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    handler, accept = Collect(), Accept()
    options: dict[str, Any] = {"authenticator": accept, "auth_required": True}
    if security == "starttls":
        options |= {"tls_context": server_tls, "require_starttls": True}
    else:
        # Implicit TLS: the whole connection is encrypted (aiosmtpd only tracks STARTTLS).
        options |= {"ssl_context": server_tls, "auth_require_tls": False}
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port(), **options)
    controller.start()
    try:
        settings = _settings(controller.port).with_overrides(
            smtp_security=security, smtp_user="tipline", smtp_password="relay-password"
        )
        send(settings, Mail(to="a@example.org", subject="s", text="por TLS"))
        assert accept.logins == ["tipline"] and len(handler.messages) == 1
    finally:
        controller.stop()
