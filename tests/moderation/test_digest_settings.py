"""A staff member's e-mail preferences page: saved, validated, audited; tip alerts for editors."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core import site_settings
from core.enums import DigestFrequency, Role, TipAlerts
from core.models import AuditEvent, DigestPreference, StaffUser
from tests.moderation.conftest import login, token_from

PAGE = "/account/digests"


def _form(**values: str) -> dict[str, str]:
    data = {
        "frequency": "weekly",
        "hour": "7",
        "weekday": "4",
        "timezone": "America/Havana",
        "always": "y",
        "locale": "en",
        "tip_alerts": "urgent",
    }
    data.update(values)
    return {key: value for key, value in data.items() if value != "-"}


def _save(client: FlaskClient, **values: str) -> TestResponse:
    data = _form(**values)
    data["csrf_token"] = token_from(client, PAGE)
    return client.post(PAGE, data=data)


def _pref(session: Session, user: StaffUser) -> DigestPreference | None:
    session.expire_all()
    pref = session.get(DigestPreference, user.id)
    session.commit()
    return pref


def test_an_editor_saves_a_weekly_digest_and_urgent_alerts(
    client: FlaskClient, session: Session, make_staff: Callable[..., StaffUser]
) -> None:
    editor = make_staff("ed@example.org", Role.editor)
    login(client, editor.email)
    page = client.get(PAGE)
    assert page.status_code == 200
    # The user's zone (UTC until they choose) is preselected; tip alerts are offered.
    assert '<option selected value="UTC">UTC</option>' in page.text
    assert 'name="tip_alerts"' in page.text

    saved = _save(client)
    assert saved.status_code == 303
    pref = _pref(session, editor)
    assert pref is not None
    assert (pref.frequency, pref.hour, pref.weekday) == (DigestFrequency.weekly, 7, 4)
    assert (pref.timezone, pref.always, pref.locale) == ("America/Havana", True, "en")
    assert pref.tip_alerts is TipAlerts.urgent
    again = client.get(PAGE).text
    assert '<option selected value="America/Havana">America/Havana</option>' in again
    assert "Your e-mail preferences are saved." in again

    (reason,) = session.scalars(
        select(AuditEvent.reason).where(AuditEvent.action == "digest_preferences")
    ).all()
    session.commit()
    assert "frequency: off → weekly" in reason and "tip_alerts: off → urgent" in reason
    assert "timezone: UTC → America/Havana" in reason


def test_bad_values_get_clear_messages_and_save_nothing(
    client: FlaskClient, session: Session, make_staff: Callable[..., StaffUser]
) -> None:
    editor = make_staff("ed@example.org", Role.editor)
    login(client, editor.email)
    bad_zone = _save(client, timezone="Mars/Olympus_Mons")
    assert bad_zone.status_code == 422
    assert "Choose a time zone from the list." in bad_zone.text
    bad_hour = _save(client, hour="24")
    assert bad_hour.status_code == 422
    assert "Enter an hour from 0 to 23." in bad_hour.text
    assert _pref(session, editor) is None


def test_a_form_without_its_csrf_token_is_refused(
    client: FlaskClient, session: Session, make_staff: Callable[..., StaffUser]
) -> None:
    editor = make_staff("ed@example.org", Role.editor)
    login(client, editor.email)
    assert client.post(PAGE, data=_form()).status_code == 400
    assert _pref(session, editor) is None


def test_a_moderator_is_not_offered_tip_alerts_and_cannot_forge_them(
    client: FlaskClient, session: Session, make_staff: Callable[..., StaffUser]
) -> None:
    moderator = make_staff("mod@example.org", Role.moderator)
    login(client, moderator.email)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert 'name="tip_alerts"' not in page.text
    assert 'name="timezone"' in page.text

    assert _save(client, tip_alerts="each").status_code == 403
    assert _pref(session, moderator) is None

    saved = _save(client, tip_alerts="-", frequency="daily")
    assert saved.status_code == 303
    pref = _pref(session, moderator)
    assert pref is not None
    assert pref.frequency is DigestFrequency.daily and pref.tip_alerts is TipAlerts.off


def test_the_header_links_to_the_page_and_admins_set_the_urgent_words(
    client: FlaskClient, session: Session, make_staff: Callable[..., StaffUser]
) -> None:
    admin = make_staff("admin@example.org", Role.admin)
    login(client, admin.email)
    assert f'href="{PAGE}"' in client.get("/account/password").text
    token = token_from(client, "/settings")
    form = {
        "csrf_token": token,
        "premoderation": "off",
        "flag_threshold": "1",
        "auto_close_days": "0",
        "tip_retention_days": "90",
        "codename_days": "30",
        "urgent_words": " incendio,, fraude   electoral ,incendio",
    }
    assert client.post("/settings", data=form).status_code == 303
    assert site_settings.load(session).urgent_words == "incendio, fraude electoral"
    session.commit()
    assert 'value="incendio, fraude electoral"' in client.get("/settings").text
