"""Retention: closed tips are purged after N days (files overwritten), codenames expire."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from core import attachments, codenames, retention, site_settings
from core.config import Settings
from core.crypto import seal
from core.db import utcnow
from core.enums import Kind, Status, TipMessageKind, Verdict
from core.models import (
    Attachment,
    AuditEvent,
    CheckResult,
    Submission,
    TipDetails,
    TipLabel,
    TipMessage,
)

MARKER = "retención-marcador-7f3a"


@dataclass
class Tip:
    """A stored tip and what it has on disk."""

    id: int
    ref: str
    files: list[Path]


def _tip(
    session: Session,
    settings: Settings,
    *,
    status: Status = Status.closed,
    closed_days_ago: float = 100,
    keep: bool = False,
    files: int = 2,
) -> Tip:
    """A tip with a follow-up, a reply, labels, a check result and encrypted files on disk."""
    content = {"text": f"{MARKER} texto", "contact": "fuente@example.org", "name": ""}
    submission = Submission(
        kind=Kind.tip,
        status=status,
        sealed=seal(settings.tip_public_key, content),
        check_copy=seal(settings.worker_public_key, content),
    )
    details = TipDetails(
        submission=submission,
        keep=keep,
        closed_at=utcnow() - timedelta(days=closed_days_ago),
        codename_hash=os.urandom(16).hex(),
        reply_public_key=os.urandom(32),
        codename_expires_at=utcnow() + timedelta(days=10),
    )
    session.add_all([submission, details])
    session.flush()
    followup = TipMessage(
        submission_id=submission.id,
        kind=TipMessageKind.followup,
        sealed=seal(settings.tip_public_key, {"text": MARKER}),
    )
    reply = TipMessage(
        submission_id=submission.id,
        kind=TipMessageKind.reply,
        author_label="editor@example.org",
        sealed=seal(settings.tip_public_key, {"text": "gracias"}),
        sealed_for_source=b"sealed for the source",
    )
    session.add_all([followup, reply])
    session.add_all(
        [
            TipLabel(submission_id=submission.id, label="elecciones"),
            TipLabel(submission_id=submission.id, label="abogado"),
            CheckResult(
                submission_id=submission.id,
                name="words",
                version="1",
                verdict=Verdict.suspect,
                score=0.5,
                reason="matched suspect word '%(word)s'",
                reason_params={"word": MARKER},
            ),
        ]
    )
    session.flush()
    paths = []
    folder = attachments.folder(settings.instance_path)
    for i in range(files):
        name = os.urandom(16).hex()
        path = folder / name
        path.write_bytes(MARKER.encode() * (1000 + i))
        paths.append(path)
        session.add(
            Attachment(
                submission_id=submission.id,
                message_id=followup.id if i else None,
                stored_name=name,
                sealed_meta=seal(settings.tip_public_key, {"name": f"{MARKER}.pdf"}),
                size=path.stat().st_size,
            )
        )
    session.commit()
    return Tip(submission.id, submission.ref, paths)


Counted = type[TipMessage] | type[TipLabel] | type[Attachment] | type[CheckResult]


def _count(session: Session, model: Counted, tip: Tip) -> int:
    n = session.scalar(select(func.count()).select_from(model).where(model.submission_id == tip.id))
    session.commit()
    return n or 0


def _state(session: Session, tip: Tip) -> tuple[Status, bytes | None, str | None]:
    session.expire_all()
    row = session.execute(
        select(Submission.status, Submission.sealed, TipDetails.codename_hash)
        .join(TipDetails, TipDetails.submission_id == Submission.id)
        .where(Submission.id == tip.id)
    ).one()
    session.commit()
    return row.status, row.sealed, row.codename_hash


def _purges(session: Session) -> list[AuditEvent]:
    rows = list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.action == "purge").order_by(AuditEvent.id)
        )
    )
    session.commit()
    return rows


def test_a_closed_tip_past_the_retention_is_purged_with_its_files(
    session: Session, settings: Settings
) -> None:
    old = _tip(session, settings, closed_days_ago=91)
    # Opened before the purge: after it, this handle still reaches the file's old blocks.
    handles = [path.open("rb") for path in old.files]
    try:
        assert retention.purge_closed_tips(session, settings) == [old.ref]
        for path, handle in zip(old.files, handles, strict=True):
            assert not path.exists()
            handle.seek(0)
            left = handle.read()
            assert len(left) == len(MARKER.encode()) * (1000 + old.files.index(path))
            assert MARKER.encode() not in left  # overwritten before it was unlinked
    finally:
        for handle in handles:
            handle.close()

    status, sealed, codename = _state(session, old)
    assert (status, sealed, codename) == (Status.purged, None, None)
    for model in (TipMessage, TipLabel, Attachment, CheckResult):
        assert _count(session, model, old) == 0, model.__name__
    check_copy = session.scalar(select(Submission.check_copy).where(Submission.id == old.id))
    session.commit()
    assert check_copy is None


def test_kept_recent_and_open_tips_stay(session: Session, settings: Settings) -> None:
    kept = _tip(session, settings, closed_days_ago=400, keep=True)
    recent = _tip(session, settings, closed_days_ago=89)
    open_tip = _tip(session, settings, status=Status.in_progress, closed_days_ago=400)

    assert retention.purge_closed_tips(session, settings) == []

    for tip, status in (
        (kept, Status.closed),
        (recent, Status.closed),
        (open_tip, Status.in_progress),
    ):
        assert _state(session, tip)[0] is status
        assert _state(session, tip)[1] is not None
        assert all(path.exists() for path in tip.files)
        assert _count(session, TipMessage, tip) == 2
    assert _purges(session) == []


def test_the_admins_setting_decides_and_zero_never_purges(
    session: Session, settings: Settings
) -> None:
    tip = _tip(session, settings, closed_days_ago=20)
    site_settings.save(session, None, "test", tip_retention_days=0)
    assert retention.purge_closed_tips(session, settings) == []
    site_settings.save(session, None, "test", tip_retention_days=30)
    assert retention.purge_closed_tips(session, settings) == []
    site_settings.save(session, None, "test", tip_retention_days=10)
    assert retention.purge_closed_tips(session, settings) == [tip.ref]


def test_the_audit_log_records_the_purge_and_no_content(
    session: Session, settings: Settings
) -> None:
    tip = _tip(session, settings)
    retention.purge_closed_tips(session, settings)

    [event] = _purges(session)
    assert (event.actor_label, event.from_status, event.to_status) == ("system", "closed", "purged")
    assert event.submission_id == tip.id
    assert event.reason == f"{tip.ref}: closed over 90 days; removed 2 messages, 2 files, 2 labels"
    assert MARKER not in event.reason and "elecciones" not in event.reason
    # A second run finds nothing to do and writes nothing.
    assert retention.purge_closed_tips(session, settings) == []
    assert len(_purges(session)) == 1


def test_two_runs_at_once_purge_each_tip_once(
    session: Session, settings: Settings, engine: Engine
) -> None:
    tips = [_tip(session, settings, files=1) for _ in range(6)]
    results: list[list[str]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def purge() -> None:
        try:
            with Session(engine) as own:
                start.wait()
                results.append(retention.purge_closed_tips(own, settings))
        except BaseException as exc:  # reported below: a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=purge) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(results[0] + results[1]) == sorted(tip.ref for tip in tips)
    assert len(_purges(session)) == len(tips)
    assert not any(path.exists() for tip in tips for path in tip.files)


def test_a_tip_reopened_since_it_was_listed_is_not_purged(
    session: Session, settings: Settings, engine: Engine
) -> None:
    tip = _tip(session, settings)
    cutoff = utcnow() - timedelta(days=90)
    # An editor reopens it between the listing and the purge.
    with Session(engine) as editor:
        editor.execute(
            update(Submission).where(Submission.id == tip.id).values(status=Status.in_progress)
        )
        editor.commit()
    assert retention._purge_one(session, settings, tip.id, cutoff, 90) is None
    assert _state(session, tip)[0] is Status.in_progress
    assert all(path.exists() for path in tip.files)


def _expire(session: Session, tip: Tip, days_ago: float) -> None:
    session.execute(
        update(TipDetails)
        .where(TipDetails.submission_id == tip.id)
        .values(codename_expires_at=utcnow() - timedelta(days=days_ago))
    )
    session.commit()


def _give_codename(session: Session, settings: Settings, tip: Tip) -> str:
    details = session.get(TipDetails, tip.id)
    assert details is not None
    codename = codenames.issue(session, settings, details, "es")
    session.commit()
    return codename


def _works(session: Session, settings: Settings, codename: str) -> bool:
    # As the source's page asks, but on a day before the expiry date: only the stored hash
    # can make it fail.
    before = utcnow() - timedelta(days=2)
    found = codenames.recognise(session, settings.hash_key, codename, now=before)
    session.commit()
    return found is not None


def test_a_codename_past_its_date_without_a_reply_stops_working(
    session: Session, settings: Settings
) -> None:
    unanswered = _tip(session, settings, status=Status.new, files=0)
    session.execute(
        delete(TipMessage).where(
            TipMessage.submission_id == unanswered.id, TipMessage.kind == TipMessageKind.reply
        )
    )
    answered = _tip(session, settings, status=Status.new, files=0)
    not_yet = _tip(session, settings, status=Status.new, files=0)
    session.execute(delete(TipMessage).where(TipMessage.submission_id == not_yet.id))
    session.commit()
    names = {
        tip.id: _give_codename(session, settings, tip) for tip in (unanswered, answered, not_yet)
    }
    _expire(session, unanswered, 1)
    _expire(session, answered, 1)  # past its date, but the newsroom replied

    assert retention.expire_codenames(session) == 1

    assert not _works(session, settings, names[unanswered.id])
    row = session.execute(
        select(TipDetails.codename_hash, TipDetails.reply_public_key).where(
            TipDetails.submission_id == unanswered.id
        )
    ).one()
    session.commit()
    assert tuple(row) == (None, None)
    assert _works(session, settings, names[answered.id])
    assert _works(session, settings, names[not_yet.id])
    # The tip itself is untouched, and the expiry is in the audit log.
    assert _state(session, unanswered)[0] is Status.new
    events = session.execute(
        select(AuditEvent.submission_id, AuditEvent.reason).where(
            AuditEvent.action == "codename_expired"
        )
    ).all()
    session.commit()
    assert [tuple(e) for e in events] == [(unanswered.id, "codename expired without a reply")]
    assert retention.expire_codenames(session) == 0  # idempotent
