"""The outlet's webhook endpoints, as admins manage them in the staff site.

An endpoint is a URL told of every comment published or removed (core.comment_events writes
the deliveries, the worker sends them signed with the endpoint's secret). The secret is made
here, shown once to the admin who added the endpoint, and never written to the audit log: each
change's audit row (action "webhook") names the URL only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import limits
from core.db import utcnow
from core.models import AuditEvent, StaffUser, WebhookDelivery, WebhookEndpoint

# The audit log's action for changes to webhook endpoints.
WEBHOOK_ACTION = "webhook"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
URL_MAX = 2000
# Hosts where plain http is expected (an outlet testing on its own machine).
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
RECENT_DELIVERIES = 50


class BadWebhookUrl(ValueError):
    """The URL cannot be an endpoint; the message says why, in English."""


@dataclass(frozen=True)
class DeliveryRow:
    """One recent delivery with the URL of the endpoint it was for."""

    delivery: WebhookDelivery
    url: str


def check_url(url: str) -> str:
    """`url` trimmed if it can be an endpoint (http or https, a host); BadWebhookUrl if not."""
    text = url.strip()
    if not text:
        raise BadWebhookUrl("Enter the endpoint's URL.")
    if len(text) > URL_MAX:
        raise BadWebhookUrl(f"A URL can be at most {URL_MAX} characters long.")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise BadWebhookUrl("This is not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadWebhookUrl("The URL must start with https:// (or http://) and name a host.")
    # The URL goes into the audit log and onto the page: credentials in it would leak there.
    # The signature is what proves a delivery came from us.
    if parts.username or parts.password:
        raise BadWebhookUrl("The URL must not contain a user name or password.")
    return text


def is_insecure(url: str) -> bool:
    """Whether deliveries to `url` would travel unencrypted over a network (http, not local)."""
    parts = urlsplit(url)
    return parts.scheme == "http" and (parts.hostname or "") not in LOCAL_HOSTS


def new_secret() -> str:
    """A fresh signing secret."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def list_endpoints(session: Session) -> list[WebhookEndpoint]:
    """Every endpoint, newest first."""
    query = select(WebhookEndpoint).order_by(
        WebhookEndpoint.created_at.desc(), WebhookEndpoint.id.desc()
    )
    return list(session.scalars(query))


def add_endpoint(session: Session, url: str, actor: StaffUser) -> tuple[WebhookEndpoint, str]:
    """Add an active endpoint (audited, committed); it and its secret, to be shown once."""
    secret = new_secret()
    endpoint = WebhookEndpoint(
        url=check_url(url), secret=secret, active=True, created_by_id=actor.id
    )
    session.add(endpoint)
    _audit(session, actor, f"added {endpoint.url}")
    session.commit()
    return endpoint, secret


def set_active(session: Session, endpoint_id: int, active: bool, actor: StaffUser) -> bool:
    """Enable or disable an endpoint (audited, committed); False if unknown or unchanged."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.active is active:
        return False
    endpoint.active = active
    _audit(session, actor, f"{'enabled' if active else 'disabled'} {endpoint.url}")
    session.commit()
    return True


def delete_endpoint(session: Session, endpoint_id: int, actor: StaffUser) -> bool:
    """Delete an endpoint and its deliveries (audited, committed); False if unknown."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        return False
    _audit(session, actor, f"deleted {endpoint.url}")
    # Its deliveries go with it (ON DELETE CASCADE; core.db turns foreign keys on in SQLite).
    session.delete(endpoint)
    session.commit()
    return True


def recent_deliveries(session: Session, limit: int = RECENT_DELIVERIES) -> list[DeliveryRow]:
    """The latest deliveries, newest first, each with its endpoint's URL."""
    query = (
        select(WebhookDelivery, WebhookEndpoint.url)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    return [DeliveryRow(delivery, url) for delivery, url in session.execute(query)]


def _audit(session: Session, actor: StaffUser, reason: str) -> None:
    session.add(
        AuditEvent(
            at=utcnow(),
            actor_id=actor.id,
            actor_label=actor.email,
            action=WEBHOOK_ACTION,
            reason=reason[: limits.REASON_MAX],
        )
    )
