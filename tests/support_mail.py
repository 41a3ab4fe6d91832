"""Test helpers for e-mail: a real SMTP server (aiosmtpd) that keeps what it is given."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from core.config import Settings
from tests.worker.conftest import free_port


class Inbox:
    """An SMTP server on 127.0.0.1 that keeps every message it is given."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self.controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Keep the message (aiosmtpd's handler hook)."""
        data = bytes(envelope.original_content or envelope.content)
        self.raw.append(data)
        message = message_from_bytes(data, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def start(self) -> None:
        """Start listening on the port."""
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        """Stop listening."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, email: str) -> list[EmailMessage]:
        """The messages for `email`."""
        return [m for m in self.messages if m["To"] == email]


def text_of(message: EmailMessage) -> str:
    """The plain-text part."""
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    """The HTML part."""
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def mail_settings(settings: Settings, port: int) -> Settings:
    """`settings` sending through the plain SMTP server on `port`, in English by default."""
    return settings.with_overrides(
        smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", default_locale="en"
    )
