"""The preferences link in every e-mail opens the preferences form without logging in."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.db import utcnow
from core.enums import DigestFrequency, Role, TipAlerts
from core.models import AuditEvent, DigestPreference, StaffUser
from tests.moderation.conftest import new_client
from tests.support import csrf_token
from tests.support_mail import Inbox, mail_settings, text_of
from worker.digest_delivery import preferences_token, run_due, unsubscribe_token


def _link_from_a_real_digest(
    session: Session, engine: Engine, settings: Settings, inbox: Inbox, staff: StaffUser
) -> str:
    session.add(DigestPreference(staff_id=staff.id, frequency=DigestFrequency.hourly, always=True))
    session.commit()
    run_due(sessionmaker(engine), mail_settings(settings, inbox.port))
    (message,) = inbox.to(staff.email)
    site = re.escape(settings.moderation_url)
    found = re.search(rf"{site}(/preferences/[\w.-]+)", text_of(message))
    assert found is not None, "no preferences link in the message"
    return found[1]


def _pref(session: Session, staff: StaffUser) -> DigestPreference:
    session.expire_all()
    pref = session.get(DigestPreference, staff.id)
    assert pref is not None
    session.commit()
    return pref


def _form(client: FlaskClient, path: str, **values: str) -> dict[str, str]:
    data = {
        "csrf_token": csrf_token(client.get(path).text),
        "frequency": "weekly",
        "hour": "7",
        "weekday": "4",
        "timezone": "America/Havana",
        "locale": "en",
        "tip_alerts": "urgent",
    }
    data.update(values)
    return {key: value for key, value in data.items() if value != "-"}


def test_the_link_in_a_digest_changes_preferences_without_logging_in(
    moderation_app: Flask,
    session: Session,
    engine: Engine,
    settings: Settings,
    inbox: Inbox,
    make_staff: Callable[..., StaffUser],
) -> None:
    editor = make_staff("ed@example.org", Role.editor)
    path = _link_from_a_real_digest(session, engine, settings, inbox, editor)
    client = new_client(moderation_app)  # never logged in
    page = client.get(path)
    assert page.status_code == 200
    assert "ed@example.org" in page.text and 'name="tip_alerts"' in page.text
    assert f'action="{path}"' in page.text

    # CSRF stays on: this is a page the person opens, not a one-click POST.
    forged = {k: v for k, v in _form(client, path).items() if k != "csrf_token"}
    assert client.post(path, data=forged).status_code == 400
    assert _pref(session, editor).frequency is DigestFrequency.hourly

    saved = client.post(path, data=_form(client, path))
    assert saved.status_code == 303 and saved.location.endswith(path)
    pref = _pref(session, editor)
    assert (pref.frequency, pref.hour, pref.weekday) == (DigestFrequency.weekly, 7, 4)
    assert pref.timezone == "America/Havana" and pref.tip_alerts is TipAlerts.urgent
    assert "Your e-mail preferences are saved." in client.get(path).text

    events = session.execute(
        select(AuditEvent.actor_id, AuditEvent.actor_label, AuditEvent.reason).where(
            AuditEvent.action == "digest_preferences"
        )
    ).all()
    session.commit()
    assert len(events) == 1
    actor_id, actor_label, reason = events[0]
    assert (actor_id, actor_label) == (editor.id, "ed@example.org")
    assert "frequency: hourly → weekly" in reason and "tip_alerts: off → urgent" in reason


def test_a_moderators_link_offers_no_tip_alerts_and_refuses_forged_ones(
    moderation_app: Flask,
    session: Session,
    engine: Engine,
    settings: Settings,
    inbox: Inbox,
    make_staff: Callable[..., StaffUser],
) -> None:
    moderator = make_staff("mod@example.org", Role.moderator)
    path = _link_from_a_real_digest(session, engine, settings, inbox, moderator)
    client = new_client(moderation_app)
    page = client.get(path)
    assert page.status_code == 200
    assert 'name="tip_alerts"' not in page.text and 'name="timezone"' in page.text

    assert client.post(path, data=_form(client, path, tip_alerts="each")).status_code == 403
    pref = _pref(session, moderator)
    assert pref.tip_alerts is TipAlerts.off and pref.frequency is DigestFrequency.hourly

    saved = client.post(path, data=_form(client, path, tip_alerts="-", frequency="daily"))
    assert saved.status_code == 303
    pref = _pref(session, moderator)
    assert pref.frequency is DigestFrequency.daily and pref.tip_alerts is TipAlerts.off


def test_a_tampered_expired_or_other_kind_of_token_is_refused(
    moderation_app: Flask,
    session: Session,
    settings: Settings,
    make_staff: Callable[..., StaffUser],
) -> None:
    staff = make_staff("ana@example.org", Role.editor)
    session.add(DigestPreference(staff_id=staff.id, frequency=DigestFrequency.daily))
    session.commit()
    token = preferences_token(settings, staff.id)
    client = new_client(moderation_app)
    # A real form's POST: its CSRF token is good, only the link's token is not.
    form = _form(client, f"/preferences/{token}", frequency="off")
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    # The unsubscribe link's token is signed with the same key but another salt.
    unsubscribing = unsubscribe_token(settings, staff.id)
    for bad in (tampered, unsubscribing):
        for method in (client.get, client.post):
            response = method(f"/preferences/{bad}", data=form)
            assert response.status_code == 400
            assert "This link does not work" in response.text
    # Nor does a preferences token unsubscribe anyone.
    assert client.post(f"/unsubscribe/{token}").status_code == 400
    with time_machine.travel(utcnow() + timedelta(days=61), tick=False):
        assert client.get(f"/preferences/{token}").status_code == 400
    assert _pref(session, staff).frequency is DigestFrequency.daily


def test_a_deactivated_accounts_link_no_longer_works(
    moderation_app: Flask,
    session: Session,
    settings: Settings,
    make_staff: Callable[..., StaffUser],
) -> None:
    staff = make_staff("gone@example.org", Role.editor)
    token = preferences_token(settings, staff.id)
    staff.is_active = False
    session.commit()
    assert new_client(moderation_app).get(f"/preferences/{token}").status_code == 400
