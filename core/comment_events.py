"""What the outlet's webhooks hear of: a comment published, a comment removed (an outbox).

A status change that publishes or removes a comment writes one delivery row per active
endpoint in the same transaction as the change, so an event is never lost and never sent for a
change that rolled back. The worker (worker.webhooks) sends them, signed, and retries.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, literal, select
from sqlalchemy.orm import Session

from core.enums import DeliveryStatus, Status
from core.models import WebhookDelivery, WebhookEndpoint

PUBLISHED = "comment.published"
REMOVED = "comment.removed"
EVENTS = (PUBLISHED, REMOVED)

# What readers see of a thread (intake.submissions.VISIBLE says the same for the public site).
VISIBLE = frozenset({Status.published, Status.reported})


def event_for(frm: Status, to: Status) -> str | None:
    """The event a move from `frm` to `to` makes: readers start or stop seeing the comment."""
    if to in VISIBLE and frm not in VISIBLE:
        return PUBLISHED
    if frm in VISIBLE and to not in VISIBLE:
        return REMOVED
    return None


def record(session: Session, submission_id: int, frm: Status, to: Status, at: datetime) -> None:
    """Queue the event of this change (if any) for every active endpoint; the caller commits."""
    event = event_for(frm, to)
    if event is None:
        return
    # One INSERT ... SELECT: no endpoint, no row, and no extra round trip to find out.
    source = select(
        WebhookEndpoint.id,
        literal(event),
        literal(submission_id),
        literal(DeliveryStatus.pending.value),
        literal(0),
        literal(""),
        literal(at, WebhookDelivery.__table__.c.created_at.type),
        literal(at, WebhookDelivery.__table__.c.next_attempt_at.type),
    ).where(WebhookEndpoint.active.is_(True))
    columns = [
        "endpoint_id",
        "event",
        "submission_id",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "next_attempt_at",
    ]
    session.execute(insert(WebhookDelivery).from_select(columns, source))
