"""Sending the outlet's webhooks: the outbox rows core.comment_events writes, signed and retried.

Beat runs `run_due` every 10 seconds. Each due row (pending, next_attempt_at reached) is claimed
with a compare-and-set on next_attempt_at, which also pushes it a lease ahead, before anything
is sent: of two workers that saw the same row one sends it, and a worker that dies mid-send
leaves the row to be tried again once the lease is over.

The payload is built from the database as it is at sending time, not as it was when the event
happened: a comment removed since its "published" event carries no author or text. A failure
(no answer within 5 s, a redirect, anything but 2xx) is recorded with the HTTP status or the
error, and retried after the digests' backoff (1, 5, 15, 60, 180 minutes), then `failed`.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.comment_events import PUBLISHED, VISIBLE
from core.config import Settings
from core.db import utcnow
from core.enums import DeliveryStatus
from core.models import Article, Submission, WebhookDelivery, WebhookEndpoint
from core.webhook_signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign
from worker.digest_delivery import record_failure

log = logging.getLogger(__name__)

WEBHOOKS_TASK = "worker.tasks.send_webhooks"
INTERVAL_SECONDS = 10.0
TIMEOUT_SECONDS = 5.0
USER_AGENT = "Tipline-Webhooks/1"
# A claimed row is the claimer's for this long (a send takes 5 s at most); after that another
# run may take it over, so a worker killed mid-send does not leave it pending for ever.
LEASE = timedelta(minutes=2)
# Rows looked at per run; the rest wait for the next run, 10 s later.
BATCH = 100
# Of an endpoint's error answer, only this much is kept (it could be anything).
ERROR_BODY_CHARS = 200


@dataclass(frozen=True)
class Attempt:
    """How one POST went: whether the endpoint took it, and what went wrong if not."""

    ok: bool
    error: str = ""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # An endpoint that redirects is misconfigured; following it would send the signed body
    # somewhere no admin chose.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects())


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat()


def payload(session: Session, settings: Settings, delivery: WebhookDelivery) -> dict[str, Any]:
    """The JSON body of `delivery`, from the comment as the database has it now."""
    comment = (
        session.get(Submission, delivery.submission_id, populate_existing=True)
        if delivery.submission_id
        else None
    )
    return {
        "id": delivery.id,
        "event": delivery.event,
        "occurred_at": _iso(delivery.created_at),
        "comment": _comment(session, settings, delivery.event, comment) if comment else None,
    }


def _comment(
    session: Session, settings: Settings, event: str, comment: Submission
) -> dict[str, Any]:
    article = (
        session.get(Article, comment.article_id, populate_existing=True)
        if comment.article_id
        else None
    )
    key = article.slug if article else None
    # Who wrote it and what it says only while readers can see it: a removed comment's
    # event must not hand the outlet what a moderator took down.
    shown = event == PUBLISHED and comment.status in VISIBLE
    return {
        "id": comment.id,
        "article_key": key,
        "article_url": article.url if article else None,
        "parent_id": comment.parent_id,
        "author": comment.author_name if shown else None,
        "body": comment.body if shown else None,
        "status": comment.status.value,
        "created_at": _iso(comment.created_at),
        "thread_url": (
            f"{settings.intake_url.rstrip('/')}/articles/{key}#comment-{comment.id}"
            if key
            else None
        ),
    }


def post(url: str, secret: str, delivery_id: int, event: str, body: bytes) -> Attempt:
    """POST `body` to `url`, signed with `secret`; whether it answered 2xx, and why not."""
    if urlsplit(url).scheme not in ("http", "https"):
        return Attempt(False, "the endpoint's address is not http(s)")
    # The scheme was checked just above: http(s) only, never file: and the like.
    request = urllib.request.Request(  # noqa: S310
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(secret, int(time.time()), body),
            EVENT_HEADER: event,
            DELIVERY_HEADER: str(delivery_id),
        },
    )
    try:
        with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        return Attempt(False, _http_error(exc))
    except urllib.error.URLError as exc:
        return Attempt(False, f"cannot reach the endpoint: {exc.reason}")
    except (OSError, ValueError, http.client.HTTPException) as exc:  # timeouts, resets, garbage
        return Attempt(False, f"{type(exc).__name__}: {exc}")
    if 200 <= status < 300:
        return Attempt(True)
    return Attempt(False, f"HTTP {status}")


def _http_error(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read(ERROR_BODY_CHARS * 4).decode(errors="replace")[:ERROR_BODY_CHARS]
    except OSError:
        text = ""
    finally:
        exc.close()
    text = " ".join(text.split())
    return f"HTTP {exc.code}: {text}" if text else f"HTTP {exc.code}"


def _drop(row: WebhookDelivery, reason: str) -> None:
    row.status = DeliveryStatus.failed
    row.next_attempt_at = None
    row.last_error = reason


def _claim(session: Session, row_id: int, seen: datetime | None, now: datetime) -> bool:
    # Compare-and-set on next_attempt_at: of two runs that saw the same due row, one wins.
    result = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == row_id,
            WebhookDelivery.status == DeliveryStatus.pending,
            WebhookDelivery.next_attempt_at == seen,
        )
        .values(next_attempt_at=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(getattr(result, "rowcount", 0) == 1)


def _deliver(session: Session, settings: Settings, row_id: int, now: datetime) -> str:
    row = session.get(WebhookDelivery, row_id, populate_existing=True)
    if row is None:
        session.commit()
        return "gone"
    endpoint = session.get(WebhookEndpoint, row.endpoint_id, populate_existing=True)
    if endpoint is None or not endpoint.active:
        _drop(row, "the endpoint was deleted" if endpoint is None else "the endpoint is off")
        session.commit()
        return "dropped"
    body = json.dumps(
        payload(session, settings, row), ensure_ascii=False, separators=(",", ":")
    ).encode()
    url, secret, event = endpoint.url, endpoint.secret, row.event
    # No transaction (SQLite's write lock) is held while the endpoint takes its time.
    session.commit()
    attempt = post(url, secret, row.id, event, body)
    if attempt.ok:
        row.status = DeliveryStatus.sent
        row.sent_at = utcnow()
        row.attempts += 1
        row.next_attempt_at = None
        row.last_error = ""
        session.commit()
        return "sent"
    row.attempts += 1
    gave_up = record_failure(row, attempt.error, now)
    session.commit()
    return "failed" if gave_up else "retrying"


def run_due(session: Session, settings: Settings, now: datetime | None = None) -> int:
    """Send the due webhook deliveries (new ones and retries); how many were sent."""
    now = now or utcnow()
    due = session.execute(
        select(WebhookDelivery.id, WebhookDelivery.next_attempt_at, WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == DeliveryStatus.pending,
            WebhookDelivery.next_attempt_at <= now,
        )
        .order_by(WebhookDelivery.id)
        .limit(BATCH)
    ).all()
    session.commit()
    outcomes: list[str] = []
    failing: set[int] = set()
    for row_id, seen, endpoint_id in due:
        # An endpoint that just failed is not tried again in this run: its other rows stay
        # due for the next one instead of each waiting out its own timeout now.
        if endpoint_id in failing or not _claim(session, row_id, seen, now):
            continue
        outcome = _deliver(session, settings, row_id, now)
        if outcome in ("retrying", "failed"):
            failing.add(endpoint_id)
        outcomes.append(outcome)
    sent = outcomes.count("sent")
    if outcomes:
        log.info(
            "webhooks: %d sent, %d retrying, %d failed, %d dropped",
            sent,
            outcomes.count("retrying"),
            outcomes.count("failed"),
            outcomes.count("dropped"),
        )
    return sent
