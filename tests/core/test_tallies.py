"""The queues' counts kept by database triggers: every way a row changes is counted, exactly."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.orm import Session

from core import tallies
from core.enums import Kind, Role, Status
from core.models import Article, StatusTally, Submission
from core.staff import create_staff_user
from core.transitions import change_status


def _comment(session: Session, status: Status, body: str = "Un comentario") -> Submission:
    submission = Submission(kind=Kind.comment, status=status, body=body)
    session.add(submission)
    session.commit()
    return submission


def _true_counts(session: Session, kind: Kind) -> dict[Status, int]:
    rows = session.execute(
        select(Submission.status, func.count())
        .where(Submission.kind == kind, Submission.status != Status.received)
        .group_by(Submission.status)
    ).all()
    return {Status(status): count for status, count in rows}


def _nonzero(counts: dict[Status, int]) -> dict[Status, int]:
    return {status: n for status, n in counts.items() if n}


def test_inserts_changes_and_deletes_are_all_counted(session: Session) -> None:
    received = _comment(session, Status.received)
    pending = _comment(session, Status.pending)
    _comment(session, Status.published)
    # Still being checked: no tab shows it, so it is not counted.
    assert _nonzero(tallies.counts(session, Kind.comment)) == {
        Status.pending: 1,
        Status.published: 1,
    }

    # A change made by a script, not through the app, is counted all the same.
    session.execute(
        update(Submission).where(Submission.id == received.id).values(status=Status.spam)
    )
    moderator = create_staff_user(session, "tally@example.org", "correct horse", Role.moderator)
    session.commit()
    change_status(session, pending, Status.rejected, expected_version=1, actor=moderator)
    session.execute(delete(Submission).where(Submission.status == Status.published))
    session.commit()
    assert _nonzero(tallies.counts(session, Kind.comment)) == {
        Status.spam: 1,
        Status.rejected: 1,
    }
    assert _nonzero(tallies.counts(session, Kind.comment)) == _true_counts(session, Kind.comment)


def test_a_status_written_again_unchanged_is_not_counted_twice(session: Session) -> None:
    comment = _comment(session, Status.pending)
    session.execute(
        update(Submission).where(Submission.id == comment.id).values(status=Status.pending)
    )
    session.commit()
    assert tallies.counts(session, Kind.comment) == {Status.pending: 1}


def test_deleting_an_article_counts_its_comments_out(session: Session) -> None:
    article = Article(slug="cascada", title="Cascada")
    session.add(article)
    session.commit()
    session.execute(
        insert(Submission),
        [
            {
                "kind": Kind.comment,
                "status": Status.published,
                "body": "x",
                "article_id": article.id,
            }
            for _ in range(3)
        ],
    )
    session.commit()
    assert tallies.counts(session, Kind.comment) == {Status.published: 3}
    session.delete(article)
    session.commit()
    assert _nonzero(tallies.counts(session, Kind.comment)) == {}


def test_compacting_keeps_the_counts_and_leaves_one_row_per_status(session: Session) -> None:
    for status in [Status.pending] * 5 + [Status.spam] * 3:
        _comment(session, status)
    session.execute(
        update(Submission).where(Submission.status == Status.pending).values(status=Status.spam)
    )
    session.commit()
    before = tallies.counts(session, Kind.comment)
    assert _nonzero(before) == {Status.spam: 8}
    removed = tallies.compact(session)
    assert removed > 0
    assert tallies.counts(session, Kind.comment) == before
    rows = session.scalars(select(StatusTally)).all()
    assert len(rows) == len({(row.kind, row.status) for row in rows})
    # Compacting again changes nothing.
    assert tallies.compact(session) == 0
    assert tallies.counts(session, Kind.comment) == before


def test_counts_stay_exact_while_decisions_and_compaction_run_at_once(
    engine: Engine, session: Session
) -> None:
    ids = [_comment(session, Status.pending).id for _ in range(40)]
    errors: list[BaseException] = []

    def flip(chunk: list[int]) -> None:
        try:
            with Session(engine) as own:
                for submission_id in chunk:
                    own.execute(
                        update(Submission)
                        .where(Submission.id == submission_id)
                        .values(status=Status.published)
                    )
                    own.commit()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    def compact() -> None:
        try:
            with Session(engine) as own:
                for _ in range(10):
                    tallies.compact(own)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=flip, args=(ids[i::2],)) for i in range(2)]
    threads.append(threading.Thread(target=compact))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    tallies.compact(session)
    assert tallies.counts(session, Kind.comment) == {Status.pending: 0, Status.published: 40}
