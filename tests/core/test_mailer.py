"""Sending e-mail through a real SMTP server (aiosmtpd): parts, headers, clear errors."""

from __future__ import annotations

import email
import email.policy
import socket
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
