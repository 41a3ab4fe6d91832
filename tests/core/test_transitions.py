"""The one status-changing function: allowed moves, optimistic locking and the audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.enums import Kind, Role, Status
from core.models import Article, AuditEvent, StaffUser, Submission
from core.staff import create_staff_user
from core.transitions import StaleVersion, TransitionError, allowed_targets, change_status


def _comment(session: Session, status: Status = Status.pending) -> Submission:
    article = Article(slug="a", title="A")
    submission = Submission(
        kind=Kind.comment, status=status, article=article, author_name="Ana", body="Hola"
    )
    session.add(submission)
    session.commit()
    return submission


def _moderator(session: Session, email: str) -> StaffUser:
    user = create_staff_user(session, email, "correct horse battery", Role.moderator)
    session.commit()
    return user


def test_decision_changes_status_bumps_version_and_audits(session: Session) -> None:
    submission = _comment(session)
    ana = _moderator(session, "ana@example.org")

    change_status(
        session, submission, Status.published, expected_version=1, actor=ana, reason="fine"
    )

    assert submission.status == Status.published
    assert submission.version == 2
    assert submission.decided_by_id == ana.id
    event = session.scalars(select(AuditEvent)).one()
    assert (event.actor_label, event.from_status, event.to_status, event.reason) == (
        "ana@example.org",
        "pending",
        "published",
        "fine",
    )


def test_second_decision_on_the_same_version_is_refused_and_names_the_winner(
    session: Session, engine: object
) -> None:
    submission = _comment(session)
    ana = _moderator(session, "ana@example.org")
    luis = _moderator(session, "luis@example.org")
    # Luis loaded the submission (version 1) before Ana decided, in his own session.
    with Session(session.get_bind()) as other:
        stale_copy = other.get(Submission, submission.id)
        assert stale_copy is not None
        other.commit()  # his page load ended; the decision comes in a later request
        change_status(session, submission, Status.published, expected_version=1, actor=ana)

        with pytest.raises(StaleVersion) as info:
            change_status(
                other, stale_copy, Status.rejected, expected_version=1, actor=other.merge(luis)
            )

    assert info.value.decided_by == "ana@example.org"
    assert info.value.status == Status.published
    assert "ana@example.org" in str(info.value)
    session.expire_all()
    assert session.get(Submission, submission.id).status == Status.published  # type: ignore[union-attr]
    assert len(session.scalars(select(AuditEvent)).all()) == 1


def test_disallowed_moves_are_refused(session: Session) -> None:
    submission = _comment(session, Status.pending)
    ana = _moderator(session, "ana@example.org")
    with pytest.raises(TransitionError):
        change_status(session, submission, Status.new, expected_version=1, actor=ana)
    # The checks (no actor) may not make a moderator's decision.
    with pytest.raises(TransitionError):
        change_status(session, submission, Status.published, expected_version=1, actor=None)


def test_every_decided_comment_state_can_be_undone_by_staff() -> None:
    for state in (Status.published, Status.rejected, Status.spam):
        assert allowed_targets(Kind.comment, state), state
    assert allowed_targets(Kind.comment, Status.received) == []
    assert set(allowed_targets(Kind.comment, Status.pending)) == {
        Status.published,
        Status.rejected,
        Status.spam,
    }
