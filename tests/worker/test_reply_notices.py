"""Reply notifications against a real SMTP server (aiosmtpd), on both databases.

A reader who asked to hear of replies gets one e-mail per reply readers can see, none for a
held or spam reply or their own, none after unsubscribing (one click, from the e-mail), and
one, not two, when the relay was down for a while or two runs race. Old addresses go.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from core import retention
from core.config import Settings
from core.crypto import unseal
from core.db import utcnow
from core.enums import DeliveryStatus, ModerationMode, Role, Status
from core.models import Article, ReplyNotice, ReplySubscription, Submission
from core.reply_links import read_unsubscribe_token
from core.staff import create_staff_user
from core.transitions import change_status
from intake.submissions import record_comment
from tests.support_mail import Inbox, html_of, mail_settings, text_of
from tests.worker.conftest import free_port
from worker.digest_delivery import MAX_ATTEMPTS
from worker.reply_notices import run_due

READER = "lucia@example.org"


def add_article(session: Session, title: str = "La zafra") -> str:
    """A committed article taking comments; its slug."""
    slug = f"a-{os.urandom(4).hex()}"
    session.add(Article(slug=slug, title=title, mode=ModerationMode.post))
    session.commit()
    return slug


def comment(
    session: Session,
    settings: Settings,
    slug: str,
    text: str,
    *,
    name: str = "Lucía",
    email: str | None = None,
    parent_id: int | None = None,
    notify: bool = False,
    to: Status = Status.published,
) -> int:
    """A comment stored as the public site stores it, then moved by the checks to `to`."""
    recorded = record_comment(
        session,
        settings,
        slug,
        name=name,
        email=email,
        text=text,
        address="203.0.113.7",
        locale="en",
        parent_id=parent_id,
        notify_replies=notify,
    )
    assert recorded is not None
    submission = session.get(Submission, recorded.id)
    assert submission is not None
    change_status(session, submission, to, expected_version=submission.version, actor=None)
    return recorded.id


def subscribed(session: Session, settings: Settings) -> tuple[str, int]:
    """An article and a published comment whose writer asked to hear of replies."""
    slug = add_article(session)
    parent = comment(
        session, settings, slug, "¿Y el azúcar?", email=READER, notify=True, name="Lucía"
    )
    return slug, parent


def subscription(session: Session) -> ReplySubscription:
    """The one subscription, read afresh."""
    session.expire_all()
    found = session.scalars(select(ReplySubscription)).one()
    session.commit()  # on SQLite an open transaction would hold the write lock
    return found


def notices(session: Session) -> list[ReplyNotice]:
    """Every notice row, read afresh."""
    session.expire_all()
    rows = list(session.scalars(select(ReplyNotice).order_by(ReplyNotice.id)))
    session.commit()
    return rows


def test_a_published_reply_sends_one_e_mail_with_the_reply_and_the_links(
    session: Session, settings: Settings, inbox: Inbox, intake_client: FlaskClient
) -> None:
    config = mail_settings(settings, inbox.port)
    slug, parent = subscribed(session, settings)
    assert subscription(session).email_sealed is not None
    reply = comment(
        session, settings, slug, "Llega en marzo, según el central.", name="Luis", parent_id=parent
    )

    assert run_due(session, config) == 1
    assert run_due(session, config) == 0
    [message] = inbox.to(READER)
    assert len(inbox.messages) == 1
    assert message["Subject"] == "Luis replied to your comment on “La zafra”"
    text, html = text_of(message), html_of(message)
    assert "Llega en marzo, según el central." in text
    assert "Llega en marzo, según el central." in html
    thread = f"{settings.intake_url}/articles/{slug}#comment-{reply}"
    assert thread in text and thread in html
    link = message["List-Unsubscribe"].strip("<>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Signed for this subscription (the token carries its time, so compare what it names).
    assert link.startswith(f"{settings.intake_url}/notifications/unsubscribe/")
    assert read_unsubscribe_token(settings, link.rsplit("/", 1)[1]) == subscription(session).id
    assert link in text
    # The address is nowhere but in the envelope and the To header.
    assert READER not in text and READER not in html
    [notice] = notices(session)
    assert notice.status is DeliveryStatus.sent

    # One click in the mail client: a POST with no form and no CSRF token.
    path = urlsplit(link).path
    answer = intake_client.post(path, headers={"Accept-Language": "en"})
    assert answer.status_code == 200
    assert "no more e-mails" in answer.get_data(as_text=True)
    gone = subscription(session)
    assert gone.unsubscribed_at is not None and gone.email_sealed is None
    comment(session, settings, slug, "Otra respuesta.", name="Pedro", parent_id=parent)
    assert run_due(session, config) == 0
    assert len(inbox.messages) == 1


def test_no_e_mail_for_a_held_or_spam_reply_or_ones_own_reply(
    session: Session, settings: Settings, inbox: Inbox
) -> None:
    config = mail_settings(settings, inbox.port)
    slug, parent = subscribed(session, settings)
    comment(
        session, settings, slug, "En revisión.", name="Luis", parent_id=parent, to=Status.pending
    )
    comment(session, settings, slug, "Compre ya.", name="Spam", parent_id=parent, to=Status.spam)
    # The subscriber answering in their own thread (the address as typed differs in case).
    comment(
        session, settings, slug, "Gracias a todos.", email="Lucia@Example.org", parent_id=parent
    )
    # A reply to another comment on the same article.
    other = comment(session, settings, slug, "Otro tema.", name="Pedro")
    comment(session, settings, slug, "Sí.", name="Luis", parent_id=other)

    assert run_due(session, config) == 0
    assert inbox.messages == []
    assert notices(session) == []


def test_a_reply_published_by_a_moderator_later_is_told(
    session: Session, settings: Settings, inbox: Inbox
) -> None:
    config = mail_settings(settings, inbox.port)
    slug, parent = subscribed(session, settings)
    held = comment(
        session, settings, slug, "Revisado.", name="Luis", parent_id=parent, to=Status.pending
    )
    assert run_due(session, config) == 0
    staff = create_staff_user(session, "mod@example.org", "correct horse battery", Role.moderator)
    session.commit()
    submission = session.get(Submission, held, populate_existing=True)
    assert submission is not None
    change_status(
        session, submission, Status.published, expected_version=submission.version, actor=staff
    )
    assert run_due(session, config) == 1
    assert len(inbox.to(READER)) == 1


def test_replies_older_than_two_days_are_not_told(
    session: Session, settings: Settings, inbox: Inbox
) -> None:
    config = mail_settings(settings, inbox.port)
    slug, parent = subscribed(session, settings)
    reply = comment(session, settings, slug, "Hace tiempo.", name="Luis", parent_id=parent)
    session.execute(
        update(Submission)
        .where(Submission.id == reply)
        .values(updated_at=utcnow() - timedelta(days=3))
    )
    session.commit()
    assert run_due(session, config) == 0
    assert inbox.messages == []


def test_smtp_down_then_up_sends_once(session: Session, settings: Settings) -> None:
    port = free_port()
    config = mail_settings(settings, port)
    slug, parent = subscribed(session, settings)
    comment(session, settings, slug, "Respuesta.", name="Luis", parent_id=parent)
    now = utcnow()
    assert run_due(session, config, now) == 0
    [notice] = notices(session)
    assert notice.status is DeliveryStatus.pending and notice.attempts == 1
    assert notice.last_error
    assert READER not in notice.last_error

    inbox = Inbox(port)
    inbox.start()
    try:
        assert run_due(session, config, now + timedelta(seconds=30)) == 0  # still waiting
        assert run_due(session, config, now + timedelta(minutes=2)) == 1
        assert run_due(session, config, now + timedelta(hours=1)) == 0
        assert len(inbox.to(READER)) == 1
    finally:
        inbox.stop()
    [notice] = notices(session)
    assert notice.status is DeliveryStatus.sent


def test_a_relay_that_never_answers_marks_the_notice_failed(
    session: Session, settings: Settings
) -> None:
    config = mail_settings(settings, free_port())
    slug, parent = subscribed(session, settings)
    comment(session, settings, slug, "Respuesta.", name="Luis", parent_id=parent)
    now = utcnow()
    for _ in range(MAX_ATTEMPTS):
        assert run_due(session, config, now) == 0
        now += timedelta(hours=4)
    [notice] = notices(session)
    assert notice.status is DeliveryStatus.failed
    assert notice.attempts == MAX_ATTEMPTS


def test_two_concurrent_runs_send_once(
    session: Session, engine: Engine, settings: Settings, inbox: Inbox
) -> None:
    config = mail_settings(settings, inbox.port)
    slug, parent = subscribed(session, settings)
    for n in range(3):
        comment(session, settings, slug, f"Respuesta {n}.", name="Luis", parent_id=parent)
    barrier = threading.Barrier(2)
    sent: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with Session(engine) as own:
                barrier.wait()
                sent.append(run_due(own, config))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert sum(sent) == 3
    assert len(inbox.to(READER)) == 3
    assert len({m["Subject"] for m in inbox.messages}) == 1
    assert len(notices(session)) == 3


def test_addresses_of_old_subscriptions_are_deleted_by_retention(
    session: Session, settings: Settings
) -> None:
    slug, parent = subscribed(session, settings)
    fresh = comment(session, settings, slug, "Nuevo.", email="pedro@example.org", notify=True)
    old = subscription_for(session, parent)
    session.execute(
        update(ReplySubscription)
        .where(ReplySubscription.id == old)
        .values(created_at=utcnow() - timedelta(days=91))
    )
    session.commit()

    outcome = retention.run(session, settings)
    assert outcome.addresses_deleted == 1
    session.expire_all()
    rows = {row.submission_id: row for row in session.scalars(select(ReplySubscription))}
    session.commit()
    assert rows[parent].email_sealed is None
    kept = rows[fresh].email_sealed
    assert kept is not None
    assert unseal(settings.worker_private_key, kept) == {"email": "pedro@example.org"}
    assert retention.run(session, settings).addresses_deleted == 0


def subscription_for(session: Session, comment_id: int) -> int:
    """The id of the subscription on `comment_id`."""
    found = session.scalar(
        select(ReplySubscription.id).where(ReplySubscription.submission_id == comment_id)
    )
    session.commit()
    assert found is not None
    return found


class Refusing(Inbox):
    """An SMTP server that refuses every recipient, quoting the address back."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        """Refuse the recipient (aiosmtpd's handler hook)."""
        return f"550 <{address}>: Recipient address rejected"


def test_a_refusal_quoting_the_address_is_kept_and_logged_without_it(
    session: Session, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    relay = Refusing()
    relay.start()
    try:
        config = mail_settings(settings, relay.port)
        slug, parent = subscribed(session, settings)
        comment(session, settings, slug, "Respuesta.", name="Luis", parent_id=parent)
        with caplog.at_level(logging.INFO):
            assert run_due(session, config) == 0
    finally:
        relay.stop()
    [notice] = notices(session)
    assert "550" in notice.last_error
    assert "[address]" in notice.last_error
    assert READER not in notice.last_error.lower()
    # What Tipline logged (the test relay's own log is not ours).
    ours = [r.getMessage().lower() for r in caplog.records if not r.name.startswith("mail")]
    assert any("not sent" in line for line in ours)
    assert not any(READER in line for line in ours)
