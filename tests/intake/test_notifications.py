"""Leaving reply notifications from the e-mail's link: confirm on GET, one click on POST."""

from __future__ import annotations

import os
from datetime import timedelta

import time_machine
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.config import Settings
from core.db import utcnow
from core.enums import ModerationMode
from core.models import Article, ReplySubscription
from core.reply_links import unsubscribe_token
from intake.submissions import record_comment


def subscribe(session: Session, settings: Settings, title: str = "La zafra") -> int:
    """A comment whose writer asked to hear of replies; the subscription's id."""
    slug = f"a-{os.urandom(4).hex()}"
    session.add(Article(slug=slug, title=title, mode=ModerationMode.post))
    session.commit()
    recorded = record_comment(
        session,
        settings,
        slug,
        name="Lucía",
        email="lucia@example.org",
        text="¿Y el azúcar?",
        address="203.0.113.7",
        locale="es",
        notify_replies=True,
    )
    assert recorded is not None
    found = session.scalar(
        select(ReplySubscription.id).where(ReplySubscription.submission_id == recorded.id)
    )
    session.commit()
    assert found is not None
    return found


def row(session: Session, subscription_id: int) -> ReplySubscription:
    """The subscription as the database has it now."""
    session.expire_all()
    found = session.get(ReplySubscription, subscription_id)
    session.commit()  # on SQLite an open transaction would hold the write lock
    assert found is not None
    return found


def path(settings: Settings, subscription_id: int) -> str:
    """The unsubscribe link's path on the public site."""
    return f"/notifications/unsubscribe/{unsubscribe_token(settings, subscription_id)}"


def test_get_asks_to_confirm_and_changes_nothing(
    session: Session, settings: Settings, intake_client: FlaskClient
) -> None:
    subscription_id = subscribe(session, settings, title="Precios del pan")
    page = intake_client.get(path(settings, subscription_id), headers={"Accept-Language": "en"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Precios del pan" in html
    assert '<form method="post">' in html
    assert "Stop the e-mails" in html
    kept = row(session, subscription_id)
    assert kept.unsubscribed_at is None and kept.email_sealed is not None


def test_post_unsubscribes_and_deletes_the_address_without_a_csrf_token(
    session: Session, settings: Settings, intake_client: FlaskClient
) -> None:
    subscription_id = subscribe(session, settings)
    link = path(settings, subscription_id)
    answer = intake_client.post(link, headers={"Accept-Language": "en"})
    assert answer.status_code == 200
    assert "we have deleted your e-mail address" in answer.get_data(as_text=True)
    ended = row(session, subscription_id)
    assert ended.unsubscribed_at is not None
    assert ended.email_sealed is None
    first = ended.unsubscribed_at

    # Again (a second click, a mail client retrying): the same answer, nothing changes.
    assert intake_client.post(link).status_code == 200
    assert row(session, subscription_id).unsubscribed_at == first
    # And the confirmation page now says it is done.
    page = intake_client.get(link, headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "<form" not in page.get_data(as_text=True).split("<main", 1)[1]
    # Only that subscription ended.
    other = subscribe(session, settings)
    assert row(session, other).email_sealed is not None


def test_a_damaged_token_is_refused_with_a_clear_page(
    session: Session, settings: Settings, intake_client: FlaskClient
) -> None:
    subscription_id = subscribe(session, settings)
    token = unsubscribe_token(settings, subscription_id)
    damaged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for method in (intake_client.get, intake_client.post):
        answer = method(f"/notifications/unsubscribe/{damaged}", headers={"Accept-Language": "en"})
        assert answer.status_code == 400
        assert "damaged or has expired" in answer.get_data(as_text=True)
    # A token of another kind (another key or salt) names nothing here.
    assert intake_client.post("/notifications/unsubscribe/not-a-token").status_code == 400
    kept = row(session, subscription_id)
    assert kept.unsubscribed_at is None and kept.email_sealed is not None


def test_an_expired_token_is_refused(
    session: Session, settings: Settings, intake_client: FlaskClient
) -> None:
    subscription_id = subscribe(session, settings)
    link = path(settings, subscription_id)
    with time_machine.travel(utcnow() + timedelta(days=181), tick=False):
        answer = intake_client.post(link)
    assert answer.status_code == 400
    assert row(session, subscription_id).email_sealed is not None
    with time_machine.travel(utcnow() + timedelta(days=179), tick=False):
        assert intake_client.post(link).status_code == 200
    assert row(session, subscription_id).email_sealed is None


def test_a_token_for_a_subscription_that_is_gone_says_done(
    session: Session, settings: Settings, intake_client: FlaskClient
) -> None:
    subscription_id = subscribe(session, settings)
    missing = subscription_id + 1000
    assert intake_client.get(path(settings, missing)).status_code == 200
    assert intake_client.post(path(settings, missing)).status_code == 200
    count = session.scalar(select(func.count()).select_from(ReplySubscription))
    session.commit()
    assert count == 1
