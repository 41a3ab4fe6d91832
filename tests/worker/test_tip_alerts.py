"""Tip alerts against a real SMTP server (aiosmtpd): one e-mail per batch, never a tip's content.

Tips are stored as the public site stores them and checked by the real checks, whose audit rows
say when each became visible; the urgent rule runs inside those checks.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from core import site_settings
from core.config import Settings
from core.db import utcnow
from core.enums import DeliveryKind, DeliveryStatus, Role, TipAlerts
from core.models import DigestDelivery, DigestPreference, StaffUser, TipDetails
from core.staff import create_staff_user
from intake.submissions import record_tip
from tests.support_digest import TIP_MARKERS
from tests.support_mail import Inbox, mail_settings, text_of
from tests.support_tips import make_editor_with_tip_key
from tests.worker.conftest import free_port
from worker import checking, tip_alerts
from worker.digest_delivery import BACKOFF_MINUTES, MAX_ATTEMPTS

TEXT, CONTACT, NAME, _FILE = TIP_MARKERS
PASSWORD = "correct horse battery"


def later() -> datetime:
    """A moment when every tip checked so far is past the alerts' settling time."""
    return utcnow() + tip_alerts.SETTLE + timedelta(seconds=1)


def prefer(session: Session, staff: StaffUser, alerts: TipAlerts, locale: str = "en") -> None:
    """Give `staff` tip alerts (committed), as if saved a minute ago."""
    session.add(
        DigestPreference(
            staff_id=staff.id,
            tip_alerts=alerts,
            locale=locale,
            updated_at=utcnow() - timedelta(minutes=1),
        )
    )
    session.commit()


def staff(session: Session, email: str, role: Role) -> StaffUser:
    """A committed staff account."""
    user = create_staff_user(session, email, PASSWORD, role)
    session.commit()
    return user


def tips_arrive(session: Session, settings: Settings, texts: list[str]) -> list[int]:
    """Tips stored as the public site stores them, then checked by the real checks."""
    ids = [
        record_tip(session, settings, text=text, contact=CONTACT, name=NAME).details.submission_id
        for text in texts
    ]
    checked = checking.check_submissions(session, ids, settings)
    assert len(checked) == len(texts)
    return ids


def ledger(session: Session) -> list[DigestDelivery]:
    """The tip-alert rows of the ledger, oldest first, read afresh."""
    session.expire_all()
    rows = list(
        session.scalars(
            select(DigestDelivery)
            .where(DigestDelivery.kind == DeliveryKind.tip_alert)
            .order_by(DigestDelivery.id)
        )
    )
    session.commit()
    return rows


def test_a_flood_of_tips_sends_one_alert_with_the_count_and_nothing_of_the_tips(
    session: Session, settings: Settings, inbox: Inbox
) -> None:
    editor = make_editor_with_tip_key(session, "ed@example.org")
    moderator = staff(session, "mod@example.org", Role.moderator)
    prefer(session, editor, TipAlerts.each)
    # A row a moderator could never save: the worker ignores it all the same.
    prefer(session, moderator, TipAlerts.each)
    config = mail_settings(settings, inbox.port)
    tips_arrive(session, config, [f"{TEXT} número {n}" for n in range(30)])

    assert tip_alerts.run(session, config, now=later()) == 1
    assert tip_alerts.run(session, config, now=later()) == 0

    (message,) = inbox.messages
    assert message["To"] == "ed@example.org"
    assert "30 new tips" in message["Subject"]
    assert "30 new tips" in text_of(message)
    assert f"{config.moderation_url}/tips" in text_of(message)
    # Like every e-mail to staff: why, the preferences, and a one-click way out.
    assert "you chose tip alerts" in text_of(message)
    assert message["List-Unsubscribe"].startswith(f"<{config.moderation_url}/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    raw = b"".join(inbox.raw).decode(errors="replace")
    for marker in TIP_MARKERS:
        assert marker not in raw
    (row,) = ledger(session)
    assert row.status is DeliveryStatus.sent and row.staff_id == editor.id


def test_urgent_alerts_count_only_tips_holding_an_urgent_word(
    session: Session, settings: Settings, inbox: Inbox
) -> None:
    admin = make_editor_with_tip_key(session, "admin@example.org", role=Role.admin)
    urgent_editor = staff(session, "urgent@example.org", Role.editor)
    prefer(session, admin, TipAlerts.each)
    prefer(session, urgent_editor, TipAlerts.urgent, locale="es")
    site_settings.save(session, admin, urgent_words="incendio, fraude electoral")
    config = mail_settings(settings, inbox.port)
    ids = tips_arrive(
        session,
        config,
        [
            "Hay un INCENDIO en la fábrica de Regla desde anoche.",
            "Vimos fraude   electoral en el colegio 4.",
            "Los incendios de ayer ya se apagaron.",  # not the whole word
            "El pan llegó tarde otra vez a la bodega.",
        ],
    )
    session.expire_all()
    urgent = {i: session.get(TipDetails, i).urgent for i in ids}  # type: ignore[union-attr]
    session.commit()
    assert [urgent[i] for i in ids] == [True, True, False, False]

    assert tip_alerts.run(session, config, now=later()) == 2
    (to_admin,) = inbox.to("admin@example.org")
    assert "4 new tips" in to_admin["Subject"]
    (to_urgent,) = inbox.to("urgent@example.org")
    # In Spanish where the catalog has it; in any language the count is 2.
    assert "2" in to_urgent["Subject"] and "4" not in to_urgent["Subject"]


def test_no_alert_for_spam_or_for_urgent_only_without_urgent_tips(
    session: Session, settings: Settings, inbox: Inbox
) -> None:
    editor = make_editor_with_tip_key(session, "ed@example.org")
    prefer(session, editor, TipAlerts.urgent)
    config = mail_settings(settings, inbox.port)
    tips_arrive(session, config, ["El pan llegó tarde otra vez a la bodega."])
    assert tip_alerts.run(session, config, now=later()) == 0
    assert inbox.messages == [] and ledger(session) == []


def test_two_concurrent_runs_send_once(
    session: Session, engine: Engine, settings: Settings, inbox: Inbox
) -> None:
    editors = [make_editor_with_tip_key(session, "ed0@example.org")]
    editors += [staff(session, f"ed{n}@example.org", Role.editor) for n in (1, 2)]
    for editor in editors:
        prefer(session, editor, TipAlerts.each)
    config = mail_settings(settings, inbox.port)
    tips_arrive(session, config, [f"{TEXT} {n}" for n in range(3)])
    factory = sessionmaker(engine, expire_on_commit=False)
    now = later()
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            with factory() as own:
                tip_alerts.run(own, config, now=now)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    tip_alerts.run(session, config, now=now)
    assert errors == []
    assert sorted(m["To"] for m in inbox.messages) == [f"ed{n}@example.org" for n in range(3)]
    assert len(ledger(session)) == 3


def test_smtp_down_then_up_sends_once(session: Session, settings: Settings) -> None:
    editor = make_editor_with_tip_key(session, "ed@example.org")
    prefer(session, editor, TipAlerts.each)
    down = Inbox()  # not started: nothing listens on its port yet
    config = mail_settings(settings, down.port)
    tips_arrive(session, config, [TEXT, TEXT])
    start = later()

    assert tip_alerts.run(session, config, now=start) == 0
    (row,) = ledger(session)
    assert row.status is DeliveryStatus.pending and row.attempts == 1 and row.last_error
    assert row.next_attempt_at == start + timedelta(minutes=BACKOFF_MINUTES[0])
    # Before the backoff is over nothing is tried, and the period is not claimed again.
    assert tip_alerts.run(session, config, now=start + timedelta(seconds=30)) == 0
    assert ledger(session)[0].attempts == 1

    down.start()
    try:
        assert tip_alerts.run(session, config, now=start + timedelta(minutes=2)) == 1
        assert tip_alerts.run(session, config, now=start + timedelta(minutes=4)) == 0
    finally:
        down.stop()
    (message,) = down.messages
    assert "2 new tips" in message["Subject"]
    (row,) = ledger(session)
    assert row.status is DeliveryStatus.sent and row.attempts == 2 and row.sent_at is not None


def test_an_alert_that_never_goes_out_is_marked_failed(
    session: Session, settings: Settings
) -> None:
    editor = make_editor_with_tip_key(session, "ed@example.org")
    prefer(session, editor, TipAlerts.each)
    config = mail_settings(settings, free_port())
    tips_arrive(session, config, [TEXT])
    now = later()
    for _ in range(MAX_ATTEMPTS):
        tip_alerts.run(session, config, now=now)
        now += timedelta(hours=5)
    (row,) = ledger(session)
    assert row.status is DeliveryStatus.failed
    assert row.attempts == MAX_ATTEMPTS and row.last_error
