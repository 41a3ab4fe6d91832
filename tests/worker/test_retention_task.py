"""The retention task on a real worker, and beat's daily schedule for it."""

from __future__ import annotations

import json
import subprocess
import sys

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.config import Settings
from core.enums import Status
from core.models import Submission
from tests.core.test_retention import _tip
from tests.support import Process, settings_env, wait_for
from tests.worker.conftest import celery_client
from worker.tasks import RETENTION_TASK


def _status(engine: Engine, submission_id: int) -> Status | None:
    with Session(engine) as session:
        return session.scalar(select(Submission.status).where(Submission.id == submission_id))


def test_the_worker_purges_due_tips(
    session: Session, engine: Engine, settings: Settings, worker: Process
) -> None:
    due = _tip(session, settings, closed_days_ago=120)
    recent = _tip(session, settings, closed_days_ago=5)
    celery_client(settings).send_task(RETENTION_TASK)
    wait_for(
        lambda: _status(engine, due.id) is Status.purged,
        timeout=30,
        what="the worker purged the old tip",
    )
    assert not any(path.exists() for path in due.files)
    assert _status(engine, recent.id) is Status.closed
    assert all(path.exists() for path in recent.files)


def test_beat_schedules_it_daily(settings: Settings) -> None:
    script = (
        "import json, worker.celery_app as c;"
        "e = c.celery.conf.beat_schedule['retention'];"
        "s = e['schedule'];"
        "print(json.dumps([e['task'], sorted(s.hour), sorted(s.minute)]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**settings_env(settings), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [RETENTION_TASK, [3], [30]]
