"""Signed webhooks against a real HTTP receiver (http.server in a thread), on both databases.

A moderator's decision writes the outbox row (core.comment_events); `run_due` sends it signed
with the endpoint's secret, retries with backoff, gives up after the last attempt, and sends
each delivery once even when two runs race.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.config import Settings
from core.db import utcnow
from core.enums import DeliveryStatus, Role, Status
from core.models import StaffUser, Submission, WebhookDelivery, WebhookEndpoint
from core.staff import create_staff_user
from core.transitions import change_status
from core.webhook_signing import verify
from tests.support import Process, settings_env, wait_for
from tests.worker.conftest import add_comment, celery_client, free_port
from worker.digest_delivery import BACKOFF_MINUTES, MAX_ATTEMPTS
from worker.reply_notices import NOTICES_TASK
from worker.webhooks import USER_AGENT, WEBHOOKS_TASK, run_due


@dataclass(frozen=True)
class Received:
    """One POST the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        """The body, parsed."""
        return json.loads(self.body)


class Receiver:
    """The outlet's endpoint: answers each POST with the next status of `answers` (then 200)."""

    def __init__(self, answers: list[int] | None = None, delay: float = 0.0) -> None:
        self.answers = list(answers or [])
        self.delay = delay
        self.requests: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests.append(Received(self.path, dict(self.headers), body))
                    status = receiver.answers.pop(0) if receiver.answers else 200
                if receiver.delay:
                    threading.Event().wait(receiver.delay)
                self.send_response(status)
                if status in (301, 302, 307, 308):
                    self.send_header("Location", "/elsewhere")
                payload = b"x" * 1000 if status >= 400 else b"ok"
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Where the endpoint listens."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/tipline"

    def start(self) -> None:
        """Serve in a thread."""
        self.thread.start()

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running endpoint answering 200."""
    server = Receiver()
    server.start()
    yield server
    server.stop()


def add_endpoint(session: Session, url: str, active: bool = True) -> WebhookEndpoint:
    """A committed endpoint with a fresh secret."""
    endpoint = WebhookEndpoint(url=url, secret=f"whsec_{secrets.token_hex(16)}", active=active)
    session.add(endpoint)
    session.commit()
    return endpoint


def moderator(session: Session) -> StaffUser:
    """A committed moderator."""
    staff = create_staff_user(session, "mod@example.org", "correct horse battery", Role.moderator)
    session.commit()
    return staff


def decide(session: Session, comment_id: int, to: Status, actor: StaffUser | None) -> None:
    """Move the comment to `to` the way the staff site (or the checks) do."""
    submission = session.get(Submission, comment_id, populate_existing=True)
    assert submission is not None
    change_status(session, submission, to, expected_version=submission.version, actor=actor)


def publish(session: Session, staff: StaffUser, body: str = "Muy buen artículo.") -> int:
    """A comment held by the checks, then approved by a moderator; its id."""
    comment_id = add_comment(session, body=body)
    decide(session, comment_id, Status.pending, None)
    decide(session, comment_id, Status.published, staff)
    return comment_id


def deliveries(session: Session) -> list[WebhookDelivery]:
    """Every delivery row, oldest first, read afresh."""
    session.expire_all()
    rows = list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
    session.commit()  # on SQLite an open transaction would hold the write lock
    return rows


def test_publishing_and_rejecting_send_signed_events(
    session: Session, settings: Settings, receiver: Receiver
) -> None:
    endpoint = add_endpoint(session, receiver.url)
    staff = moderator(session)
    comment_id = publish(session, staff, body="La zafra empieza tarde este año.")

    assert run_due(session, settings) == 1
    [published] = receiver.requests
    assert published.path == "/hooks/tipline"
    assert published.headers["Content-Type"] == "application/json"
    assert published.headers["User-Agent"] == USER_AGENT
    assert published.headers["Tipline-Event"] == "comment.published"
    assert verify(endpoint.secret, published.headers["Tipline-Signature"], published.body)
    assert not verify("another secret", published.headers["Tipline-Signature"], published.body)
    [row] = deliveries(session)
    assert published.headers["Tipline-Delivery"] == str(row.id)
    assert row.status is DeliveryStatus.sent and row.sent_at is not None
    event = published.json
    assert event["id"] == row.id
    assert event["event"] == "comment.published"
    datetime.fromisoformat(event["occurred_at"])
    comment = event["comment"]
    assert comment["id"] == comment_id
    assert comment["body"] == "La zafra empieza tarde este año."
    assert comment["author"] == "Ana"
    assert comment["status"] == "published"
    assert comment["parent_id"] is None
    assert comment["article_key"].startswith("a-")
    assert comment["thread_url"] == (
        f"{settings.intake_url}/articles/{comment['article_key']}#comment-{comment_id}"
    )

    decide(session, comment_id, Status.rejected, staff)
    assert run_due(session, settings) == 1
    removed = receiver.requests[1]
    assert removed.headers["Tipline-Event"] == "comment.removed"
    assert verify(endpoint.secret, removed.headers["Tipline-Signature"], removed.body)
    assert removed.json["comment"]["status"] == "rejected"
    # What a moderator took down is not handed on.
    assert removed.json["comment"]["body"] is None
    assert removed.json["comment"]["author"] is None
    # Nothing more to send.
    assert run_due(session, settings) == 0
    assert len(receiver.requests) == 2


def test_a_published_event_sent_after_the_removal_carries_no_text(
    session: Session, settings: Settings, receiver: Receiver
) -> None:
    add_endpoint(session, receiver.url)
    staff = moderator(session)
    comment_id = publish(session, staff, body="Algo que no debió publicarse.")
    decide(session, comment_id, Status.rejected, staff)

    assert run_due(session, settings) == 2
    events = [r.json for r in receiver.requests]
    assert [e["event"] for e in events] == ["comment.published", "comment.removed"]
    assert all(e["comment"]["body"] is None for e in events)
    assert b"no debi" not in b"".join(r.body for r in receiver.requests)


def test_an_error_answer_is_retried_after_the_backoff_and_sent_once(
    session: Session, settings: Settings
) -> None:
    receiver = Receiver(answers=[500])
    receiver.start()
    try:
        add_endpoint(session, receiver.url)
        publish(session, moderator(session))
        now = utcnow()
        assert run_due(session, settings, now) == 0
        [row] = deliveries(session)
        assert row.status is DeliveryStatus.pending
        assert row.attempts == 1
        # The status and at most 200 characters of what the endpoint said.
        assert row.last_error == "HTTP 500: " + "x" * 200
        assert row.next_attempt_at is not None
        assert abs(row.next_attempt_at - (now + timedelta(minutes=BACKOFF_MINUTES[0]))) < (
            timedelta(seconds=1)
        )

        assert run_due(session, settings, now + timedelta(seconds=30)) == 0  # not due yet
        assert len(receiver.requests) == 1
        assert run_due(session, settings, now + timedelta(minutes=1, seconds=1)) == 1
        assert run_due(session, settings, now + timedelta(hours=5)) == 0
        assert len(receiver.requests) == 2
        first, second = receiver.requests
        assert first.headers["Tipline-Delivery"] == second.headers["Tipline-Delivery"]
        [row] = deliveries(session)
        assert row.status is DeliveryStatus.sent
        assert row.attempts == 2
        assert row.last_error == ""
    finally:
        receiver.stop()


def test_an_unreachable_endpoint_backs_off_then_fails(session: Session, settings: Settings) -> None:
    add_endpoint(session, f"http://127.0.0.1:{free_port()}/hook")
    publish(session, moderator(session))
    now = utcnow()
    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert run_due(session, settings, now) == 0
        [row] = deliveries(session)
        assert row.attempts == attempt
        assert "cannot reach the endpoint" in row.last_error
        if attempt < MAX_ATTEMPTS:
            assert row.status is DeliveryStatus.pending
            assert row.next_attempt_at is not None
            waits.append(round((row.next_attempt_at - now).total_seconds() / 60))
            # Nothing happens before the wait is over.
            assert run_due(session, settings, row.next_attempt_at - timedelta(seconds=1)) == 0
            assert deliveries(session)[0].attempts == attempt
            now = row.next_attempt_at
    assert waits == list(BACKOFF_MINUTES)
    [row] = deliveries(session)
    assert row.status is DeliveryStatus.failed
    assert row.next_attempt_at is None
    assert run_due(session, settings, now + timedelta(days=1)) == 0
    assert deliveries(session)[0].attempts == MAX_ATTEMPTS


def test_a_redirect_is_not_followed(session: Session, settings: Settings) -> None:
    receiver = Receiver(answers=[302])
    receiver.start()
    try:
        add_endpoint(session, receiver.url)
        publish(session, moderator(session))
        assert run_due(session, settings) == 0
        assert [r.path for r in receiver.requests] == ["/hooks/tipline"]
        [row] = deliveries(session)
        assert row.status is DeliveryStatus.pending
        assert row.last_error.startswith("HTTP 302")
    finally:
        receiver.stop()


def test_deliveries_of_a_switched_off_endpoint_are_dropped(
    session: Session, settings: Settings, receiver: Receiver
) -> None:
    endpoint = add_endpoint(session, receiver.url)
    off = add_endpoint(session, receiver.url)
    publish(session, moderator(session))
    off.active = False
    session.commit()
    assert run_due(session, settings) == 1
    rows = {row.endpoint_id: row for row in deliveries(session)}
    assert rows[endpoint.id].status is DeliveryStatus.sent
    assert rows[off.id].status is DeliveryStatus.failed
    assert rows[off.id].last_error == "the endpoint is off"
    assert len(receiver.requests) == 1


def test_two_concurrent_runs_send_each_delivery_once(
    session: Session, engine: Engine, settings: Settings
) -> None:
    receiver = Receiver(delay=0.2)
    receiver.start()
    try:
        add_endpoint(session, receiver.url)
        staff = moderator(session)
        for n in range(4):
            publish(session, staff, body=f"Comentario número {n}.")
        session.commit()
        barrier = threading.Barrier(2)
        sent: list[int] = []
        errors: list[BaseException] = []

        def run() -> None:
            try:
                with Session(engine) as own:
                    barrier.wait()
                    sent.append(run_due(own, settings))
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors
        assert sum(sent) == 4
        ids = [r.headers["Tipline-Delivery"] for r in receiver.requests]
        assert len(ids) == 4 and len(set(ids)) == 4
        assert all(row.status is DeliveryStatus.sent for row in deliveries(session))
    finally:
        receiver.stop()


def test_a_real_worker_runs_the_task(
    session: Session, settings: Settings, receiver: Receiver, worker: Process
) -> None:
    endpoint = add_endpoint(session, receiver.url)
    publish(session, moderator(session))
    celery_client(settings).send_task(WEBHOOKS_TASK)
    wait_for(lambda: receiver.requests, timeout=30, what="the worker sent the webhook")
    [received] = receiver.requests
    assert verify(endpoint.secret, received.headers["Tipline-Signature"], received.body)
    wait_for(
        lambda: deliveries(session)[0].status is DeliveryStatus.sent,
        timeout=10,
        what="the delivery marked sent",
    )


def test_beat_schedules_webhooks_and_reply_notices(settings: Settings) -> None:
    script = (
        "import json, worker.celery_app as c;"
        "s = c.celery.conf.beat_schedule;"
        "print(json.dumps([[s[n]['task'], s[n]['schedule'], s[n]['options']['expires']]"
        " for n in ('webhooks', 'reply-notices')]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**settings_env(settings), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [
        [WEBHOOKS_TASK, 10.0, 10.0],
        [NOTICES_TASK, 60.0, 60.0],
    ]
