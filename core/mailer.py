"""Sending e-mail through the configured SMTP relay: STARTTLS or TLS, optional login.

One function, `send`, used by the digests and tip alerts (worker). It raises MailError with a
message fit for the staff site (never the message's content) when the relay cannot be reached
or refuses; the caller records it and retries later.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from core.config import Settings

TIMEOUT_SECONDS = 30.0


class MailError(RuntimeError):
    """The relay could not take the message; the message says why (no content in it)."""


@dataclass(frozen=True)
class Mail:
    """One message: its recipient, subject, text part, optional HTML part, extra headers."""

    to: str
    subject: str
    text: str
    html: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


def build(settings: Settings, mail: Mail) -> EmailMessage:
    """The MIME message for `mail`: multipart/alternative when there is an HTML part."""
    message = EmailMessage()
    message["From"] = formataddr((settings.site_name, settings.mail_from))
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
    for name, value in mail.headers.items():
        message[name] = value
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    return message


def send(settings: Settings, mail: Mail) -> None:
    """Hand `mail` to the relay; MailError if it is not configured, unreachable or refuses."""
    if not settings.smtp_host:
        raise MailError("no SMTP relay is configured (TIPLINE_SMTP_HOST)")
    message = build(settings, mail)
    try:
        if settings.smtp_security == "tls":
            context = ssl.create_default_context()
            with smtplib.SMTP_SSL(
                settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_SECONDS, context=context
            ) as smtp:
                _deliver(settings, smtp, message)
        else:
            with smtplib.SMTP(
                settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_SECONDS
            ) as smtp:
                if settings.smtp_security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                _deliver(settings, smtp, message)
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(_describe(exc)) from None


def _deliver(settings: Settings, smtp: smtplib.SMTP, message: EmailMessage) -> None:
    if settings.smtp_user:
        smtp.login(settings.smtp_user, settings.smtp_password)
    smtp.send_message(message)


def _describe(exc: Exception) -> str:
    # The relay's own words (its code and text), or the connection error: never the message.
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        text = error.decode(errors="replace") if isinstance(error, bytes) else str(error or "")
        return f"SMTP {exc.smtp_code}: {text}"[:300]
    return f"{type(exc).__name__}: {exc}"[:300]
