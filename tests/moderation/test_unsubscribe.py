"""The unsubscribe link in a digest works without logging in; admins see failed deliveries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.db import utcnow
from core.enums import DeliveryKind, DeliveryStatus, DigestFrequency, Role, TipAlerts
from core.models import AuditEvent, DigestDelivery, DigestPreference, StaffUser
from tests.moderation.conftest import login, new_client
from tests.worker.test_digest_delivery import Inbox, mail_settings
from worker.digest_delivery import run_due, unsubscribe_token


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    """A running SMTP server collecting messages."""
    server = Inbox()
    server.start()
    yield server
    server.stop()


def _link_from_a_real_digest(
    session: Session, engine: Engine, settings: Settings, inbox: Inbox, staff: StaffUser
) -> str:
    session.add(
        DigestPreference(
            staff_id=staff.id,
            frequency=DigestFrequency.hourly,
            tip_alerts=TipAlerts.each,
            always=True,
        )
    )
    session.commit()
    run_due(sessionmaker(engine), mail_settings(settings, inbox.port))
    (message,) = inbox.messages
    url: str = message["List-Unsubscribe"][1:-1]
    assert url.startswith(settings.moderation_url)
    return url.removeprefix(settings.moderation_url)


def _pref(session: Session, staff: StaffUser) -> DigestPreference:
    session.expire_all()
    pref = session.get(DigestPreference, staff.id)
    assert pref is not None
    session.commit()
    return pref


def test_the_link_in_a_digest_unsubscribes_without_logging_in(
    moderation_app: Flask,
    session: Session,
    engine: Engine,
    settings: Settings,
    inbox: Inbox,
    make_staff: Callable[..., StaffUser],
) -> None:
    staff = make_staff("ana@example.org", Role.editor)
    path = _link_from_a_real_digest(session, engine, settings, inbox, staff)
    client = new_client(moderation_app)  # never logged in
    page = client.get(path)
    assert page.status_code == 200
    assert "ana@example.org" in page.text and "<form" in page.text
    # Only the POST unsubscribes (link scanners fetch links).
    assert _pref(session, staff).frequency is DigestFrequency.hourly
    # Mail clients' one-click POST: no CSRF token, no cookie.
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert 'id="unsubscribed"' in done.text
    pref = _pref(session, staff)
    assert pref.frequency is DigestFrequency.off and pref.tip_alerts is TipAlerts.off
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == staff.id))
    assert "digest_unsubscribe" in list(actions)
    session.commit()
    # Nothing more is sent to them.
    run_due(
        sessionmaker(engine), mail_settings(settings, inbox.port), utcnow() + timedelta(hours=2)
    )
    assert len(inbox.messages) == 1


def test_a_tampered_or_expired_link_is_refused(
    moderation_app: Flask,
    session: Session,
    settings: Settings,
    make_staff: Callable[..., StaffUser],
) -> None:
    staff = make_staff("ana@example.org")
    session.add(DigestPreference(staff_id=staff.id, frequency=DigestFrequency.daily))
    session.commit()
    token = unsubscribe_token(settings, staff.id)
    client = new_client(moderation_app)
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for method in (client.get, client.post):
        response = method(f"/unsubscribe/{tampered}")
        assert response.status_code == 400
        assert "This link does not work" in response.text
    with time_machine.travel(utcnow() + timedelta(days=61), tick=False):
        assert client.post(f"/unsubscribe/{token}").status_code == 400
    assert _pref(session, staff).frequency is DigestFrequency.daily


def test_admins_see_failed_and_retrying_deliveries(
    moderation_app: Flask,
    session: Session,
    make_staff: Callable[..., StaffUser],
) -> None:
    admin = make_staff("admin@example.org", Role.admin)
    ana = make_staff("ana@example.org")
    now = utcnow()
    session.add_all(
        [
            DigestDelivery(
                staff_id=ana.id,
                kind=DeliveryKind.digest,
                status=DeliveryStatus.failed,
                period_start=now - timedelta(days=2),
                period_end=now - timedelta(days=1),
                attempts=6,
                last_error="SMTP 550: mailbox unavailable",
            ),
            DigestDelivery(
                staff_id=ana.id,
                kind=DeliveryKind.digest,
                status=DeliveryStatus.sent,
                period_start=now - timedelta(days=1),
                period_end=now,
                last_error="SENT-ROW-NOT-SHOWN",
            ),
        ]
    )
    session.commit()
    client = new_client(moderation_app)
    login(client, admin.email)
    page = client.get("/settings/deliveries")
    assert page.status_code == 200
    assert "ana@example.org" in page.text and "SMTP 550: mailbox unavailable" in page.text
    assert "SENT-ROW-NOT-SHOWN" not in page.text
    assert 'href="/settings/deliveries"' in client.get("/settings").text
