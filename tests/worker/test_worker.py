"""The real worker and beat: submissions get checked, and nothing is lost on the way.

Each test runs real Celery processes (prefork pool, one child) against real Redis servers and
the real test databases. Tests that start their own worker use a private Redis server, so that
stray messages (a killed worker's unacknowledged task) die with it.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.config import Settings
from core.enums import ModerationMode, Status
from core.models import Article, CheckResult, Submission
from core.queue import enqueue_checks
from tests.support import (
    Process,
    csrf_token,
    new_queue_name,
    start_beat,
    start_worker,
    wait_for,
)
from tests.worker.conftest import (
    PrivateRedis,
    add_comment,
    add_tip,
    celery_client,
    inspect,
    logs,
    wait_checked,
)
from tests.worker.sample_checks import SLOW_LOG_ENV
from worker.sweeper import sweep

pytestmark = pytest.mark.worker

ALL = [
    "length",
    "links",
    "words",
    "repetition",
    "flood",
    "reputation",
    "classifier",
    "premoderation",
]
SLOW = "tests.worker.sample_checks:SlowCheck"


def test_the_worker_checks_what_is_enqueued(
    session: Session, engine: Engine, settings: Settings, worker: Process
) -> None:
    comment = add_comment(session)
    held = add_comment(session, mode=ModerationMode.pre)
    spam = add_comment(session, body="Las mejores APUESTAS ONLINE, gana ya")
    tip = add_tip(session, settings)

    assert enqueue_checks(celery_client(settings), [comment, held, spam, tip])

    assert wait_checked(engine, comment, [worker]).status is Status.published
    assert wait_checked(engine, held, [worker]).status is Status.pending
    assert wait_checked(engine, spam, [worker]).status is Status.spam
    checked_tip = wait_checked(engine, tip, [worker])
    assert checked_tip.status is Status.new
    assert checked_tip.check_copy is None
    assert checked_tip.results == [(name, "ok") for name in ALL]
    # The worker logged ids and statuses, never a tip's text or its sender's contact.
    assert "Santa Clara" not in worker.log() and "123 4567" not in worker.log()


def test_broker_down_when_readers_submit_they_get_receipts_and_the_sweeper_catches_up(
    session: Session,
    engine: Engine,
    settings: Settings,
    log_dir: Path,
    private_redis: PrivateRedis,
    processes: list[Process],
) -> None:
    from intake import create_app

    # The broker is a Redis server that is not running yet.
    mine = settings.with_overrides(
        broker_url=private_redis.url,
        task_queue=new_queue_name(),
        sweep_after_seconds=2,
        sweep_interval_seconds=1.0,
    )
    article = Article(slug="apagones", title="Apagones en Camagüey", mode=ModerationMode.post)
    session.add(article)
    session.commit()
    client = create_app(mine).test_client()

    page = client.get("/articles/apagones")
    comment = client.post(
        "/articles/apagones",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "author_name": "Yoandra",
            "email": "",
            "body": "En mi barrio llevamos tres días sin corriente.",
        },
    )
    page = client.get("/tip")
    tip = client.post(
        "/tip",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "text": "Los apagones en Florida los deciden en la empresa eléctrica por amiguismo.",
            "contact": "",
            "name": "",
        },
    )

    # Each reader got their receipt, and both submissions are stored, unchecked.
    # (A tip's receipt is the page that shows its reference and codename once.)
    for response, receipt in ((comment, "/receipts/"), (tip, "/tip/codename")):
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        assert receipt in response.headers["Location"]
        assert client.get(response.headers["Location"]).status_code == 200
    with Session(engine) as fresh:  # closed at once: on SQLite it would hold the write lock
        ids = list(fresh.scalars(select(Submission.id).order_by(Submission.id)))
    assert len(ids) == 2
    assert [inspect(engine, i).status for i in ids] == [Status.received, Status.received]

    # The broker comes back; the sweeper relays both to the worker.
    private_redis.start()
    processes.append(start_worker(mine, log_dir))
    processes.append(start_beat(mine, log_dir))

    assert wait_checked(engine, ids[0], processes).status is Status.published
    assert wait_checked(engine, ids[1], processes).status is Status.new


def _slow_worker(
    settings: Settings, tmp_path: Path, redis: PrivateRedis
) -> tuple[Settings, dict[str, str], Path]:
    """Settings, environment and SlowCheck log for a worker whose checks include SlowCheck."""
    redis.start()
    mine = settings.with_overrides(
        broker_url=redis.url,
        task_queue=new_queue_name(),
        checks=(*settings.checks, SLOW),
        sweep_after_seconds=2,
        sweep_interval_seconds=1.0,
    )
    slow_log = tmp_path / "slow-check.log"
    return mine, {SLOW_LOG_ENV: str(slow_log)}, slow_log


def _slow_check_starts(slow_log: Path) -> list[int]:
    """The process ids SlowCheck ran in, one per start."""
    if not slow_log.exists():
        return []
    return [int(line) for line in slow_log.read_text().split()]


def _wait_for_slow_start(slow_log: Path, processes: list[Process]) -> int:
    """The process id SlowCheck first ran in, once it has started."""
    try:
        starts = wait_for(
            lambda: _slow_check_starts(slow_log), timeout=40, what="SlowCheck to start"
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{logs(processes)}") from None
    return starts[0]


def test_a_pool_child_killed_mid_check_gets_the_task_again_and_it_counts_once(
    session: Session,
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    log_dir: Path,
    private_redis: PrivateRedis,
    processes: list[Process],
) -> None:
    mine, env, slow_log = _slow_worker(settings, tmp_path, private_redis)
    worker = start_worker(mine, log_dir, env)
    processes.append(worker)
    submission = add_comment(session)
    assert enqueue_checks(celery_client(mine), [submission])

    child = _wait_for_slow_start(slow_log, processes)
    assert child in [p.pid for p in psutil.Process(worker.popen.pid).children()], logs(processes)
    os.kill(child, signal.SIGKILL)

    checked = wait_checked(engine, submission, processes)
    second = _slow_check_starts(slow_log)[1]
    assert second != child  # a new pool child ran the redelivered task
    assert worker.popen.poll() is None  # the worker itself lived on
    assert checked.status is Status.published
    assert checked.results == [(name, "ok") for name in [*ALL, "slow"]]
    assert checked.audit == [("system", "received", "published")]


def test_a_worker_killed_whole_mid_check_is_replaced_and_the_sweeper_recovers_the_task(
    session: Session,
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    log_dir: Path,
    private_redis: PrivateRedis,
    processes: list[Process],
) -> None:
    mine, env, slow_log = _slow_worker(settings, tmp_path, private_redis)
    first = start_worker(mine, log_dir, env)
    processes.append(first)
    submission = add_comment(session)
    assert sweep(session, celery_client(mine), mine) == 1  # relayed: enqueued_at is set
    _wait_for_slow_start(slow_log, processes)

    # SIGKILL the main process and its pool child at once, as when a machine or container dies:
    # nothing gets to acknowledge, reject or requeue the task, which stays with the broker
    # unacknowledged until its visibility timeout (10 minutes). The queue itself is empty, so
    # the sweeper takes the task for lost sweep_after_seconds after its enqueue.
    pids = [first.popen.pid, *(p.pid for p in psutil.Process(first.popen.pid).children())]
    os.killpg(first.popen.pid, signal.SIGKILL)
    first.popen.wait(timeout=10)
    wait_for(lambda: not any(psutil.pid_exists(pid) for pid in pids), what="the kill")
    assert inspect(engine, submission).status is Status.received

    processes.append(start_worker(mine, log_dir, env))
    processes.append(start_beat(mine, log_dir))

    checked = wait_checked(engine, submission, processes)
    assert len(_slow_check_starts(slow_log)) == 2
    assert checked.status is Status.published
    assert checked.results == [(name, "ok") for name in [*ALL, "slow"]]
    assert checked.audit == [("system", "received", "published")]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_check_over_its_time_budget_in_the_worker_holds_the_comment(
    session: Session,
    engine: Engine,
    settings: Settings,
    log_dir: Path,
    private_redis: PrivateRedis,
    processes: list[Process],
) -> None:
    private_redis.start()
    mine = settings.with_overrides(
        broker_url=private_redis.url,
        task_queue=new_queue_name(),
        checks=(*settings.checks, "tests.worker.sample_checks:HangingCheck"),
    )
    processes.append(start_worker(mine, log_dir))
    submission = add_comment(session)
    assert enqueue_checks(celery_client(mine), [submission])

    checked = wait_checked(engine, submission, processes, timeout=30)

    assert checked.status is Status.pending
    assert checked.results[-1] == ("hanging", "error")
    with Session(engine) as fresh:
        row = fresh.scalars(select(CheckResult).where(CheckResult.name == "hanging")).one()
        assert row.reason % row.reason_params == "check hanging took longer than 1.0 seconds"
