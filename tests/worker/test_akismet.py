"""Akismet: the check, the client and the feedback, against a local server playing Akismet's API.

Nothing of our code is mocked: the client talks HTTP to tests.worker.akismet_fake, the pipeline
runs in a real Celery worker, and moderators decide through the staff site's own form.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.config import Settings
from core.crypto import seal
from core.db import utcnow
from core.enums import Kind, ModerationMode, Role, Status, Verdict
from core.models import Article, CheckResult, StaffUser, Submission
from core.queue import enqueue_checks
from core.staff import create_staff_user
from tests.intake.helpers import post_comment
from tests.moderation.conftest import PASSWORD, login, new_client, token_from
from tests.support import Process, new_queue_name, start_worker, wait_for
from tests.worker.akismet_fake import KEY, SLOW_SECONDS, FakeAkismet, start_fake_akismet
from tests.worker.conftest import celery_client, logs, wait_checked
from worker import akismet_feedback
from worker.akismet import Akismet, AkismetRefused, AkismetUnavailable, Comment
from worker.checks.akismet import FAILURE_PAUSE_SECONDS, AkismetCheck
from worker.checks.base import Content, Env

IP = "203.0.113.7"
AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
REFERRER = "https://periodico.example/2025/la-zafra"
SENDER = {
    "user_ip": IP,
    "user_agent": AGENT,
    "referrer": REFERRER,
    "permalink": "http://127.0.0.1:5000/articles/la-zafra",
}
RECEIVED = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)
MODERATOR = "mod@example.org"


@pytest.fixture
def fake() -> Iterator[FakeAkismet]:
    """A fake Akismet on a local port."""
    server = start_fake_akismet()
    yield server
    server.stop()


def plain_settings(tmp_path: Path, fake: FakeAkismet, **overrides: object) -> Settings:
    """Settings for the check and the client alone (no database involved)."""
    base = Settings(
        instance_path=tmp_path,
        database_url="sqlite://",
        broker_url="memory://",
        ratelimit_storage_url="memory://",
        akismet_key=KEY,
        akismet_url=fake.url,
        akismet_timeout_seconds=1.0,
    )
    return base.with_overrides(**overrides)


def comment(
    text: str, sender: dict[str, str] | None = SENDER, kind: Kind = Kind.comment
) -> Content:
    """A submission's content as worker.checking reads it."""
    return Content(
        kind=kind,
        text=text,
        name="Ana",
        locale="es",
        submission_id=7,
        received_at=RECEIVED,
        sender=sender,
    )


# --- The check and the client ------------------------------------------------------------


def test_akismet_is_told_what_its_api_documents_and_its_answers_become_verdicts(
    tmp_path: Path, fake: FakeAkismet
) -> None:
    settings = plain_settings(tmp_path, fake, intake_url="https://comentarios.example")
    check, env = AkismetCheck(), Env.of(settings)

    clean = check.run(comment("Gracias por el reportaje sobre la zafra."), env)
    spam = check.run(comment("[spam] Recargas baratas, escribe al WhatsApp"), env)
    blatant = check.run(comment("[discard] c1alis c1alis c1alis"), env)

    assert (clean.verdict, clean.score, clean.reason) == (Verdict.ok, 0.0, "Akismet: not spam")
    assert (spam.verdict, spam.score, spam.reason) == (Verdict.spam, 0.9, "Akismet: spam")
    assert (blatant.verdict, blatant.score, blatant.reason) == (
        Verdict.spam,
        1.0,
        "Akismet: blatant spam (discard)",
    )
    first = fake.calls_to("comment-check")[0].params
    assert first == {
        "api_key": KEY,
        "blog": "https://comentarios.example",
        "user_ip": IP,
        "user_agent": AGENT,
        "referrer": REFERRER,
        "permalink": SENDER["permalink"],
        "comment_type": "comment",
        "comment_author": "Ana",
        "comment_content": "Gracias por el reportaje sobre la zafra.",
        "comment_date_gmt": "2025-03-01T12:30:00+00:00",
        "blog_lang": "es",
        "blog_charset": "UTF-8",
    }


def test_tips_never_leave_the_newsroom(tmp_path: Path, fake: FakeAkismet) -> None:
    outcome = AkismetCheck().run(
        comment("El director desvía el combustible a su finca.", kind=Kind.tip),
        Env.of(plain_settings(tmp_path, fake)),
    )
    assert (outcome.verdict, outcome.reason) == (Verdict.ok, "not sent: tips stay in the newsroom")
    assert fake.calls == []


def test_a_comment_without_the_senders_details_is_not_sent(
    tmp_path: Path, fake: FakeAkismet
) -> None:
    env = Env.of(plain_settings(tmp_path, fake))
    for sender in (None, {}, {**SENDER, "user_ip": ""}):
        outcome = AkismetCheck().run(comment("Gracias", sender=sender), env)
        assert outcome.verdict is Verdict.ok
        assert outcome.reason == "Akismet not asked: the sender's details were not kept"
    assert fake.calls == []


def test_a_slow_akismet_is_given_up_on_and_then_left_alone_for_a_while(
    tmp_path: Path, fake: FakeAkismet, caplog: pytest.LogCaptureFixture
) -> None:
    check = AkismetCheck()
    env = Env.of(plain_settings(tmp_path, fake, akismet_timeout_seconds=0.5))

    started = time.monotonic()
    slow = check.run(comment("[slow] Muy buen artículo"), env)
    assert time.monotonic() - started < SLOW_SECONDS
    assert (slow.verdict, slow.score) == (Verdict.ok, 0.0)
    assert (slow.reason, slow.params) == ("Akismet unavailable (%(error)s)", {"error": "timeout"})

    # The next comments are not held up by another timeout each: Akismet is not asked.
    started = time.monotonic()
    skipped = check.run(comment("Otro comentario"), env)
    assert time.monotonic() - started < 0.2
    assert skipped.verdict is Verdict.ok
    assert skipped.reason == "Akismet not asked: it failed %(seconds)d seconds ago"
    assert len(fake.calls_to("comment-check")) == 1

    # Once the pause is over, it is asked again.
    assert check.failed_at is not None
    check.failed_at -= FAILURE_PAUSE_SECONDS
    assert check.run(comment("Otro comentario"), env).reason == "Akismet: not spam"
    assert len(fake.calls_to("comment-check")) == 2
    # The log says what failed, never what the comment said or where it came from.
    assert "timeout" in caplog.text
    assert "Muy buen" not in caplog.text and IP not in caplog.text


@pytest.mark.parametrize(
    ("text", "overrides", "error"),
    [
        ("[500] Muy buen artículo", {}, "HTTP 500"),
        ("Muy buen artículo", {"akismet_key": "not-the-key"}, "invalid key"),
        ("Muy buen artículo", {"akismet_url": "http://127.0.0.1:9/1.1"}, "unreachable"),
    ],
)
def test_when_akismet_fails_the_comment_is_left_to_the_other_checks(
    tmp_path: Path,
    fake: FakeAkismet,
    caplog: pytest.LogCaptureFixture,
    text: str,
    overrides: dict[str, object],
    error: str,
) -> None:
    caplog.set_level(logging.INFO)
    env = Env.of(plain_settings(tmp_path, fake, **overrides))
    outcome = AkismetCheck().run(comment(text), env)
    assert (outcome.verdict, outcome.score) == (Verdict.ok, 0.0)
    assert (outcome.reason, outcome.params) == ("Akismet unavailable (%(error)s)", {"error": error})
    assert error in caplog.text
    assert "Muy buen" not in caplog.text and IP not in caplog.text


def test_the_client_reports_and_says_clearly_what_went_wrong(
    tmp_path: Path, fake: FakeAkismet
) -> None:
    settings = plain_settings(tmp_path, fake)
    sent = Comment.of(SENDER, content="Gracias", author="Ana", lang="es", received_at=RECEIVED)
    Akismet.from_settings(settings).submit_spam(sent)
    Akismet.from_settings(settings).submit_ham(sent)
    assert [c.params["user_ip"] for c in fake.calls_to("submit-spam")] == [IP]
    assert [c.params["user_agent"] for c in fake.calls_to("submit-ham")] == [AGENT]

    wrong_key = Akismet.from_settings(settings.with_overrides(akismet_key="nope"))
    with pytest.raises(AkismetRefused, match="invalid key: We were unable to verify your key"):
        wrong_key.comment_check(sent)
    with pytest.raises(AkismetRefused, match="invalid key"):
        wrong_key.submit_ham(sent)
    no_address = Comment(content="Gracias", author="Ana", user_ip="")
    with pytest.raises(AkismetRefused, match="invalid call: Empty 'user_ip' value"):
        Akismet.from_settings(settings).comment_check(no_address)
    fake.fail_with = 503
    with pytest.raises(AkismetUnavailable, match="HTTP 503"):
        Akismet.from_settings(settings).submit_spam(sent)


def test_the_feedback_task_runs_every_minute_with_a_key_and_hourly_without(
    tmp_path: Path, fake: FakeAkismet
) -> None:
    with_key = plain_settings(tmp_path, fake)
    assert akismet_feedback.interval_seconds(with_key) == 60
    assert akismet_feedback.interval_seconds(with_key.with_overrides(akismet_key="")) == 3600


# --- In the pipeline, with a real worker -------------------------------------------------


@pytest.fixture
def akismet_settings(settings: Settings, fake: FakeAkismet) -> Iterator[Settings]:
    """The test settings with Akismet turned on (checks: length and akismet), on a new queue."""
    on = settings.with_overrides(
        akismet_key=KEY,
        akismet_url=fake.url,
        akismet_timeout_seconds=1.0,
        checks=("length", "akismet"),
        task_queue=new_queue_name(),
    )
    yield on
    redis.Redis.from_url(on.broker_url).delete(on.task_queue)


@pytest.fixture
def akismet_worker(akismet_settings: Settings, log_dir: Path) -> Iterator[Process]:
    """A real worker of its own (the Akismet check remembers failures) with Akismet on."""
    process = start_worker(
        akismet_settings,
        log_dir,
        extra_env={
            "TIPLINE_AKISMET_KEY": akismet_settings.akismet_key,
            "TIPLINE_AKISMET_URL": akismet_settings.akismet_url,
            "TIPLINE_AKISMET_TIMEOUT_SECONDS": str(akismet_settings.akismet_timeout_seconds),
        },
    )
    yield process
    process.stop()


def _reader(akismet_settings: Settings) -> FlaskClient:
    from intake import create_app

    client = create_app(akismet_settings).test_client()
    client.environ_base["REMOTE_ADDR"] = IP
    return client


def _post(client: FlaskClient, session: Session, body: str) -> int:
    response = post_comment(client, body=body, headers={"User-Agent": AGENT, "Referer": REFERRER})
    assert response.status_code == 303, response.status_code
    submission_id = session.scalar(select(Submission.id).order_by(Submission.id.desc()))
    session.commit()
    assert submission_id is not None
    return submission_id


def _article(session: Session) -> None:
    session.add(Article(slug="la-zafra", title="La zafra que no fue", mode=ModerationMode.post))
    session.commit()


def _akismet_result(session: Session, submission_id: int) -> tuple[Verdict, str]:
    row = session.execute(
        select(CheckResult.verdict, CheckResult.reason).where(
            CheckResult.submission_id == submission_id, CheckResult.name == "akismet"
        )
    ).one()
    session.commit()
    return row.verdict, row.reason


def _row(session: Session, submission_id: int) -> tuple[bytes | None, str | None]:
    row = session.execute(
        select(Submission.sender_copy, Submission.akismet_reported).where(
            Submission.id == submission_id
        )
    ).one()
    session.commit()
    return row.sender_copy, row.akismet_reported


@pytest.mark.worker
def test_the_worker_asks_akismet_and_an_outage_never_holds_comments_back(
    session: Session,
    engine: Engine,
    akismet_settings: Settings,
    akismet_worker: Process,
    fake: FakeAkismet,
) -> None:
    _article(session)
    reader = _reader(akismet_settings)
    clean = _post(reader, session, "Gracias por el reportaje, en Camagüey pasa igual.")
    spam = _post(reader, session, "[spam] Recargas dobles hoy, escribe al WhatsApp")
    blatant = _post(reader, session, "[discard] c1alis c1alis c1alis")
    slow = _post(reader, session, "[slow] Muy buen artículo, gracias")

    assert enqueue_checks(celery_client(akismet_settings), [clean, spam, blatant, slow])

    assert wait_checked(engine, clean, [akismet_worker]).status is Status.published
    assert wait_checked(engine, spam, [akismet_worker]).status is Status.spam
    assert wait_checked(engine, blatant, [akismet_worker]).status is Status.spam
    # Akismet did not answer in time: the comment is published all the same (the other
    # checks found nothing), neither held for a person nor lost.
    assert wait_checked(engine, slow, [akismet_worker]).status is Status.published

    assert _akismet_result(session, clean) == (Verdict.ok, "Akismet: not spam")
    assert _akismet_result(session, spam) == (Verdict.spam, "Akismet: spam")
    assert _akismet_result(session, blatant) == (Verdict.spam, "Akismet: blatant spam (discard)")
    assert _akismet_result(session, slow) == (Verdict.ok, "Akismet unavailable (%(error)s)")
    # Each was sent with the reader's own address and browser, opened from the sealed copy.
    checked = fake.calls_to("comment-check")
    assert {(c.params["user_ip"], c.params["user_agent"]) for c in checked} == {(IP, AGENT)}
    # The copies are kept for moderators' feedback.
    assert all(_row(session, s)[0] is not None for s in (clean, spam, blatant, slow))
    worker_log = akismet_worker.log()
    assert IP not in worker_log and "Camagüey" not in worker_log, logs([akismet_worker])


@pytest.mark.worker
def test_moderators_decisions_are_reported_with_the_senders_details_then_forgotten(
    session: Session,
    engine: Engine,
    akismet_settings: Settings,
    akismet_worker: Process,
    fake: FakeAkismet,
) -> None:
    from moderation import create_app

    _article(session)
    reader = _reader(akismet_settings)
    missed = _post(reader, session, "Buen artículo. Visita mi tienda de recargas baratas")
    wrongly_caught = _post(reader, session, "[spam] Mi hermana me manda recargas cada mes")
    left_alone = _post(reader, session, "Gracias por informar, en Santiago igual")
    ids = [missed, wrongly_caught, left_alone]
    assert enqueue_checks(celery_client(akismet_settings), ids)
    for submission_id in ids:
        wait_checked(engine, submission_id, [akismet_worker])

    create_staff_user(session, MODERATOR, PASSWORD, Role.moderator)
    session.commit()
    staff = new_client(create_app(akismet_settings))
    login(staff, MODERATOR)
    for submission_id, to in ((missed, "spam"), (wrongly_caught, "published")):
        token = token_from(staff, f"/submissions/{submission_id}")
        response = staff.post(
            f"/submissions/{submission_id}/status",
            data={"csrf_token": token, "to": to, "version": "2"},
        )
        assert response.status_code == 303, response.text

    celery_client(akismet_settings).send_task(akismet_feedback.FEEDBACK_TASK)

    def reported() -> bool:
        return _row(session, missed)[0] is None and _row(session, wrongly_caught)[0] is None

    try:
        wait_for(reported, timeout=30, what="the reports to Akismet")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{logs([akismet_worker])}") from None

    assert _row(session, missed) == (None, "spam")
    assert _row(session, wrongly_caught) == (None, "ham")
    # Nothing to report on a comment Akismet and the moderators agree on: its copy waits out
    # the keep days (a moderator could still change their mind).
    copy, label = _row(session, left_alone)
    assert copy is not None and label is None

    # Each report carries what the comment-check was told: same sender, same comment.
    checks = {c.params["comment_content"]: c.params for c in fake.calls_to("comment-check")}
    (spam_report,) = fake.calls_to("submit-spam")
    (ham_report,) = fake.calls_to("submit-ham")
    for report in (spam_report, ham_report):
        original = checks[report.params["comment_content"]]
        assert report.params == original
        assert (report.params["user_ip"], report.params["user_agent"]) == (IP, AGENT)
    assert spam_report.params["comment_content"].startswith("Buen artículo")
    assert ham_report.params["comment_content"].startswith("[spam] Mi hermana")

    # Reported once: another run sends nothing.
    assert akismet_feedback.run(session, akismet_settings) == 0
    assert len(fake.calls_to("submit-spam")) == len(fake.calls_to("submit-ham")) == 1


# --- The feedback's rules, on arranged rows ----------------------------------------------


def _decided(
    session: Session,
    settings: Settings,
    status: Status,
    akismet: Verdict,
    *,
    by: StaffUser | None,
    created_at: datetime | None = None,
) -> int:
    submission = Submission(
        kind=Kind.comment,
        status=status,
        author_name="Ana",
        body="Un comentario cualquiera",
        locale="es",
        sender_copy=seal(settings.worker_public_key, SENDER),
        decided_by_id=by.id if by else None,
        decided_at=utcnow() if by else None,
    )
    if created_at is not None:
        submission.created_at = created_at
    submission.check_results.append(
        CheckResult(name="akismet", version="1", verdict=akismet, score=0.0, reason="")
    )
    session.add(submission)
    session.commit()
    return submission.id


@pytest.fixture
def moderator(session: Session) -> StaffUser:
    """A moderator account (committed)."""
    user = create_staff_user(session, MODERATOR, PASSWORD, Role.moderator)
    session.commit()
    return user


def test_only_akismets_mistakes_are_reported(
    session: Session, akismet_settings: Settings, fake: FakeAkismet, moderator: StaffUser
) -> None:
    s = akismet_settings
    confirmed_spam = _decided(session, s, Status.spam, Verdict.spam, by=moderator)
    confirmed_ham = _decided(session, s, Status.published, Verdict.ok, by=moderator)
    rejected = _decided(session, s, Status.rejected, Verdict.ok, by=moderator)  # not spam
    nobody_decided = _decided(session, s, Status.spam, Verdict.ok, by=None)
    missed = _decided(session, s, Status.spam, Verdict.ok, by=moderator)
    was_down = _decided(session, s, Status.spam, Verdict.error, by=moderator)

    assert akismet_feedback.run(session, s) == 2

    assert [c.name for c in fake.calls] == ["submit-spam", "submit-spam"]
    assert _row(session, missed) == (None, "spam")
    assert _row(session, was_down) == (None, "spam")
    for kept in (confirmed_spam, confirmed_ham, rejected, nobody_decided):
        copy, label = _row(session, kept)
        assert copy is not None and label is None


def test_a_report_that_fails_is_sent_on_a_later_run(
    session: Session, akismet_settings: Settings, fake: FakeAkismet, moderator: StaffUser
) -> None:
    first = _decided(session, akismet_settings, Status.published, Verdict.spam, by=moderator)
    second = _decided(session, akismet_settings, Status.published, Verdict.spam, by=moderator)

    fake.fail_with = 503
    assert akismet_feedback.run(session, akismet_settings) == 0
    # It stopped at the first failure rather than wait on Akismet for each report.
    assert len(fake.calls) == 1
    assert _row(session, first)[0] is not None and _row(session, second)[0] is not None

    fake.fail_with = None
    assert akismet_feedback.run(session, akismet_settings) == 2
    assert _row(session, first) == (None, "ham") and _row(session, second) == (None, "ham")


def test_a_run_sends_batch_after_batch_until_none_is_due(
    session: Session,
    akismet_settings: Settings,
    fake: FakeAkismet,
    moderator: StaffUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(akismet_feedback, "BATCH", 2)
    due = [
        _decided(session, akismet_settings, Status.spam, Verdict.ok, by=moderator) for _ in range(5)
    ]
    assert akismet_feedback.run(session, akismet_settings) == 5
    assert [_row(session, d) for d in due] == [(None, "spam")] * 5


def test_sender_copies_are_deleted_after_the_keep_days_even_with_akismet_off(
    session: Session, akismet_settings: Settings, fake: FakeAkismet, moderator: StaffUser
) -> None:
    keep = timedelta(days=akismet_settings.akismet_keep_days)
    old = _decided(
        session,
        akismet_settings,
        Status.published,
        Verdict.ok,
        by=None,
        created_at=utcnow() - keep - timedelta(hours=1),
    )
    old_report = _decided(
        session,
        akismet_settings,
        Status.spam,
        Verdict.ok,
        by=moderator,
        created_at=utcnow() - keep - timedelta(hours=1),
    )
    recent = _decided(session, akismet_settings, Status.published, Verdict.ok, by=None)

    # Akismet was turned off since: what was kept for it still goes.
    off = akismet_settings.with_overrides(akismet_key="")
    assert akismet_feedback.run(session, off) == 0

    assert _row(session, old) == (None, None)
    assert _row(session, old_report) == (None, None)  # too late to report it
    assert _row(session, recent)[0] is not None
    assert fake.calls == []
