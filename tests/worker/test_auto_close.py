"""Auto-close: articles older than the admins' setting stop taking comments, audited by system."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.config import Settings
from core.db import utcnow
from core.enums import ModerationMode
from core.models import Article, AuditEvent
from core.site_settings import save
from tests.support import Process, settings_env, wait_for
from tests.worker.conftest import celery_client
from worker.articles import close_old_articles
from worker.tasks import AUTO_CLOSE_TASK


def _articles(session: Session) -> None:
    now = utcnow()
    for slug, days, mode in (
        ("vieja", 40, ModerationMode.post),
        ("vieja-pre", 31, ModerationMode.pre),
        ("ya-cerrada", 90, ModerationMode.closed),
        ("nueva", 2, ModerationMode.post),
    ):
        session.add(
            Article(slug=slug, title=slug, mode=mode, created_at=now - timedelta(days=days))
        )
    session.commit()


def _modes(session: Session) -> dict[str, ModerationMode]:
    session.expire_all()
    found = dict(session.execute(select(Article.slug, Article.mode)).tuples().all())
    session.commit()
    return found


def _closings(session: Session) -> list[tuple[str, str]]:
    rows = session.execute(
        select(AuditEvent.actor_label, AuditEvent.reason)
        .where(AuditEvent.action == "article_mode")
        .order_by(AuditEvent.id)
    ).all()
    session.commit()
    return [(label, reason) for label, reason in rows]


def test_zero_days_closes_nothing(session: Session) -> None:
    _articles(session)
    assert close_old_articles(session) == []
    assert _modes(session)["vieja"] is ModerationMode.post
    assert _closings(session) == []


def test_articles_older_than_the_setting_are_closed_and_audited(session: Session) -> None:
    _articles(session)
    save(session, None, auto_close_days=30)

    assert sorted(close_old_articles(session)) == ["vieja", "vieja-pre"]
    assert _modes(session) == {
        "vieja": ModerationMode.closed,
        "vieja-pre": ModerationMode.closed,
        "ya-cerrada": ModerationMode.closed,
        "nueva": ModerationMode.post,
    }
    assert sorted(_closings(session)) == [
        ("system", "vieja-pre: pre → closed (auto-close after 30 days)"),
        ("system", "vieja: post → closed (auto-close after 30 days)"),
    ]
    # A second run finds nothing more to do.
    assert close_old_articles(session) == []
    assert len(_closings(session)) == 2


def test_the_worker_runs_the_task(
    session: Session, engine: Engine, settings: Settings, worker: Process
) -> None:
    _articles(session)
    save(session, None, auto_close_days=30)
    celery_client(settings).send_task(AUTO_CLOSE_TASK)
    wait_for(
        lambda: _modes(session)["vieja"] is ModerationMode.closed,
        timeout=30,
        what="the worker closed the old article",
    )
    assert _modes(session)["nueva"] is ModerationMode.post


def test_beat_schedules_it_hourly(settings: Settings) -> None:
    script = (
        "import json, worker.celery_app as c;"
        "e = c.celery.conf.beat_schedule['auto-close'];"
        "print(json.dumps([e['task'], e['schedule']]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**settings_env(settings), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [AUTO_CLOSE_TASK, 3600.0]
