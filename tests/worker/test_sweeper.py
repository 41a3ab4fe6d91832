"""The sweeper on the real databases and the real Redis: what it enqueues, and when not."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from core.config import Settings
from core.db import utcnow
from core.enums import Status
from core.models import Submission
from core.queue import CHECK_TASK
from tests.support import new_queue_name
from tests.worker.conftest import add_comment, add_tip, celery_client, free_port
from worker.sweeper import RESWEEP_AFTER, sweep


@pytest.fixture
def own_queue(settings: Settings) -> Iterator[Settings]:
    """The settings with a queue no worker consumes, emptied afterwards."""
    mine = settings.with_overrides(task_queue=new_queue_name())
    yield mine
    redis.Redis.from_url(settings.broker_url).delete(mine.task_queue)


def queued_ids(settings: Settings) -> list[int]:
    """The submission ids waiting in the settings' queue, oldest first."""
    client = redis.Redis.from_url(settings.broker_url)
    ids = []
    # Kombu pushes to the head of the list; each message's body is base64 JSON
    # [args, kwargs, embed].
    raw_messages: list[bytes] = client.lrange(settings.task_queue, 0, -1)  # type: ignore[assignment]
    for raw in reversed(raw_messages):
        message = json.loads(raw)
        assert message["headers"]["task"] == CHECK_TASK
        args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
        assert kwargs == {}
        ids.append(args[0])
    return ids


def set_swept(engine: Engine, submission_id: int, ago: timedelta) -> None:
    with Session(engine) as session:
        session.execute(
            update(Submission).where(Submission.id == submission_id).values(swept_at=utcnow() - ago)
        )
        session.commit()


def swept_at_is_set(engine: Engine, submission_id: int) -> bool:
    with Session(engine) as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        return submission.swept_at is not None


def test_the_sweeper_enqueues_old_unchecked_submissions_once(
    session: Session, engine: Engine, own_queue: Settings
) -> None:
    old = utcnow() - timedelta(seconds=own_queue.sweep_after_seconds + 30)
    stuck_comment = add_comment(session, created_at=old)
    stuck_tip = add_tip(session, own_queue, created_at=old)
    add_comment(session)  # just arrived: its own task is surely on its way
    checked = add_comment(session, created_at=old)
    with Session(engine) as other:
        other.execute(
            update(Submission).where(Submission.id == checked).values(status=Status.published)
        )
        other.commit()
    swept_recently = add_comment(session, created_at=old)
    set_swept(engine, swept_recently, timedelta(minutes=1))
    swept_long_ago = add_comment(session, created_at=old - timedelta(seconds=1))
    set_swept(engine, swept_long_ago, RESWEEP_AFTER + timedelta(minutes=1))
    celery = celery_client(own_queue)

    assert sweep(session, celery, own_queue) == 3

    assert queued_ids(own_queue) == [swept_long_ago, stuck_comment, stuck_tip]
    assert swept_at_is_set(engine, stuck_comment) and swept_at_is_set(engine, stuck_tip)
    # The next tick does not enqueue the same backlog again.
    assert sweep(session, celery, own_queue) == 0
    assert len(queued_ids(own_queue)) == 3


def test_each_run_is_bounded_and_takes_the_oldest_first(
    session: Session, own_queue: Settings
) -> None:
    start = utcnow() - timedelta(minutes=10)
    ids = [add_comment(session, created_at=start + timedelta(seconds=i)) for i in range(5)]
    celery = celery_client(own_queue)

    assert [sweep(session, celery, own_queue, batch=2) for _ in range(4)] == [2, 2, 1, 0]
    assert queued_ids(own_queue) == ids


def test_with_the_broker_down_nothing_is_marked_and_the_next_run_retries(
    session: Session, engine: Engine, own_queue: Settings
) -> None:
    stuck = add_comment(session, created_at=utcnow() - timedelta(minutes=5))
    dead = own_queue.with_overrides(broker_url=f"redis://127.0.0.1:{free_port()}/0")

    assert sweep(session, celery_client(dead), dead) == 0
    assert not swept_at_is_set(engine, stuck)

    assert sweep(session, celery_client(own_queue), own_queue) == 1
    assert queued_ids(own_queue) == [stuck]
