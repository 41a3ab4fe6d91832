"""Digest delivery against a real SMTP server (aiosmtpd) and a frozen clock (time-machine).

The right people get the right digest at their local hour, across daylight-saving changes;
concurrent runs send once; SMTP down then up sends once; after downtime one digest covers the
gap; no tip's text or contact is ever in a message; every message can be unsubscribed from.
"""

from __future__ import annotations

import itertools
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.enums import DeliveryStatus, DigestFrequency, Role
from core.models import DigestDelivery, DigestPreference, StaffUser
from core.staff import create_staff_user
from tests.support_digest import TIP_MARKERS, arrange_day
from tests.support_mail import Inbox, html_of, mail_settings, text_of
from tests.worker.conftest import free_port
from worker.digest_delivery import (
    BACKOFF_MINUTES,
    MAX_ATTEMPTS,
    read_preferences_token,
    read_unsubscribe_token,
    run_due,
)


def prefer(
    session: Session,
    staff: StaffUser,
    frequency: DigestFrequency = DigestFrequency.daily,
    **values: Any,
) -> DigestPreference:
    """Give `staff` a digest preference (committed)."""
    pref = DigestPreference(staff_id=staff.id, frequency=frequency, **values)
    session.add(pref)
    session.commit()
    return pref


def ledger(session: Session) -> list[DigestDelivery]:
    """The digest ledger, oldest first, read afresh."""
    session.expire_all()
    rows = list(session.scalars(select(DigestDelivery).order_by(DigestDelivery.id)))
    session.commit()  # on SQLite an open transaction would hold the write lock
    return rows


def at(text: str) -> datetime:
    """An aware UTC datetime from "YYYY-MM-DD HH:MM"."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "hour", "start", "expected"),
    [
        # Madrid springs forward on 29 March: 08:00 is 07:00 UTC before, 06:00 UTC after.
        (
            "Europe/Madrid",
            8,
            "2026-03-27 12:00",
            ["2026-03-28 07:00", "2026-03-29 06:00", "2026-03-30 06:00"],
        ),
        # 02:00 does not exist in Madrid on 29 March: the digest comes at 03:00 CEST instead.
        (
            "Europe/Madrid",
            2,
            "2026-03-27 12:00",
            ["2026-03-28 01:00", "2026-03-29 01:00", "2026-03-30 00:00"],
        ),
        # Havana falls back on 1 November: midnight happens twice, one digest (the first).
        (
            "America/Havana",
            0,
            "2026-10-30 12:00",
            ["2026-10-31 04:00", "2026-11-01 04:00", "2026-11-02 05:00"],
        ),
        # Havana springs forward at midnight on 8 March: midnight does not exist that day.
        (
            "America/Havana",
            0,
            "2026-03-06 12:00",
            ["2026-03-07 05:00", "2026-03-08 05:00", "2026-03-09 04:00"],
        ),
    ],
)
def test_a_daily_digest_comes_once_a_day_at_the_local_hour_across_dst(
    session: Session,
    engine: Engine,
    settings: Settings,
    inbox: Inbox,
    zone: str,
    hour: int,
    start: str,
    expected: list[str],
) -> None:
    staff = create_staff_user(session, "ana@example.org", "correct horse battery", Role.moderator)
    session.commit()
    prefer(session, staff, hour=hour, timezone=zone, always=True)
    config = mail_settings(settings, inbox.port)
    factory = sessionmaker(engine)
    sent_at: list[datetime] = []
    moment = at(start)
    with time_machine.travel(moment, tick=False) as clock:
        run_due(factory, config)  # the first digest: the period that ended last
        assert len(inbox.messages) == 1
        while moment < at(start) + timedelta(days=3):
            moment += timedelta(minutes=5)
            clock.move_to(moment)
            before = len(inbox.messages)
            run_due(factory, config)
            sent_at += [moment] * (len(inbox.messages) - before)
    assert sent_at == [at(text) for text in expected]
    rows = ledger(session)
    # Back to back: each period starts where the one before ended.
    assert all(a.period_end == b.period_start for a, b in itertools.pairwise(rows))
    assert [row.period_end for row in rows[1:]] == [at(text) for text in expected]
    assert {row.status for row in rows} == {DeliveryStatus.sent}


def test_the_right_people_get_the_right_digest_and_no_tip_leaks(
    session: Session, engine: Engine, settings: Settings, inbox: Inbox
) -> None:
    now = at("2026-06-10 08:00")
    with time_machine.travel(now, tick=False):
        sample = arrange_day(session, now)
        prefer(session, sample.editor, locale="en", timezone="UTC", hour=8)
        prefer(session, sample.ana, locale="en", timezone="UTC", hour=8)
        # Bea asked for nothing; a deactivated account gets nothing either.
        gone = create_staff_user(session, "gone@example.org", "correct horse battery", Role.admin)
        gone.is_active = False
        session.commit()
        prefer(session, gone, timezone="UTC", hour=8, always=True)
        report = run_due(sessionmaker(engine), mail_settings(settings, inbox.port))
    assert report.sent == 2
    assert sorted(m["To"] for m in inbox.messages) == [sample.ana.email, sample.editor.email]
    (editor,) = inbox.to(sample.editor.email)
    (ana,) = inbox.to(sample.ana.email)
    # 3 tips arrived; 2 pending + 1 reported comments wait.
    assert editor["Subject"] == "Tipline digest: 3 new tips, 3 comments waiting"
    assert ana["Subject"] == "Tipline digest: 3 comments waiting"
    # Tips, backlog, checks, activity for the editor; no tips for a moderator.
    assert text_of(editor).count("\n== ") == 4
    assert text_of(ana).count("\n== ") == 3
    assert "== Tips ==" in text_of(editor) and "Tips ==" not in text_of(ana)
    everything = b"".join(inbox.raw).decode("utf-8", errors="replace")
    everything += "".join(text_of(m) + html_of(m) for m in inbox.messages)
    for marker in TIP_MARKERS:
        assert marker not in everything


def test_every_message_carries_unsubscribe_and_preferences_links(
    session: Session, engine: Engine, settings: Settings, inbox: Inbox
) -> None:
    staff = create_staff_user(session, "ana@example.org", "correct horse battery", Role.moderator)
    session.commit()
    prefer(session, staff, DigestFrequency.hourly, always=True)
    run_due(sessionmaker(engine), mail_settings(settings, inbox.port))
    (message,) = inbox.messages
    header = message["List-Unsubscribe"]
    assert header.startswith(f"<{settings.moderation_url}/unsubscribe/") and header.endswith(">")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = header[1:-1]
    assert read_unsubscribe_token(settings, url.rsplit("/", 1)[1]) == staff.id
    assert url in text_of(message) and url in html_of(message)
    site = re.escape(settings.moderation_url)
    preferences = re.search(rf"{site}/preferences/([\w.-]+)", text_of(message))
    assert preferences is not None
    assert read_preferences_token(settings, preferences[1]) == staff.id
    assert preferences[0] in html_of(message)


def test_an_empty_period_sends_nothing_unless_always(
    session: Session, engine: Engine, settings: Settings, inbox: Inbox
) -> None:
    quiet = create_staff_user(session, "q@example.org", "correct horse battery", Role.moderator)
    keen = create_staff_user(session, "k@example.org", "correct horse battery", Role.moderator)
    session.commit()
    prefer(session, quiet, DigestFrequency.hourly)
    prefer(session, keen, DigestFrequency.hourly, always=True)
    run_due(sessionmaker(engine), mail_settings(settings, inbox.port))
    assert [m["To"] for m in inbox.messages] == ["k@example.org"]
    statuses = {row.staff_id: row.status for row in ledger(session)}
    assert statuses == {quiet.id: DeliveryStatus.empty, keen.id: DeliveryStatus.sent}


def test_two_concurrent_runs_send_each_digest_once(
    session: Session, engine: Engine, settings: Settings, inbox: Inbox
) -> None:
    for n in range(4):
        staff = create_staff_user(
            session, f"s{n}@example.org", "correct horse battery", Role.moderator
        )
        session.commit()
        prefer(session, staff, DigestFrequency.hourly, always=True)
    config = mail_settings(settings, inbox.port)
    factory = sessionmaker(engine)
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            run_due(factory, config)
        except BaseException as exc:  # reported below
            errors.append(exc)

    with time_machine.travel(at("2026-06-10 08:30"), tick=False):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        # And a third, repeated run changes nothing.
        run_due(factory, config)
    assert errors == []
    assert sorted(m["To"] for m in inbox.messages) == [f"s{n}@example.org" for n in range(4)]
    assert len(ledger(session)) == 4


def test_smtp_down_then_up_sends_once_after_the_backoff(
    session: Session, engine: Engine, settings: Settings
) -> None:
    staff = create_staff_user(session, "ana@example.org", "correct horse battery", Role.moderator)
    session.commit()
    prefer(session, staff, DigestFrequency.daily, hour=8, timezone="UTC", always=True)
    down = Inbox()  # not started: nothing listens on its port yet
    config = mail_settings(settings, down.port)
    factory = sessionmaker(engine)
    start = at("2026-06-10 08:02")
    with time_machine.travel(start, tick=False) as clock:
        assert run_due(factory, config).retrying == 1
        (row,) = ledger(session)
        assert row.status is DeliveryStatus.pending
        assert row.attempts == 1 and row.last_error
        assert row.next_attempt_at == start + timedelta(minutes=BACKOFF_MINUTES[0])
        # Before the backoff is over, nothing is tried.
        clock.move_to(start + timedelta(seconds=30))
        assert run_due(factory, config).retrying == 0
        assert ledger(session)[0].attempts == 1
        down.start()
        try:
            clock.move_to(start + timedelta(minutes=5))
            assert run_due(factory, config).sent == 1
            run_due(factory, config)
            clock.move_to(start + timedelta(minutes=30))
            run_due(factory, config)
        finally:
            down.stop()
    assert len(down.messages) == 1
    (row,) = ledger(session)
    assert row.status is DeliveryStatus.sent and row.sent_at is not None


def test_a_digest_that_never_goes_out_is_marked_failed(
    session: Session, engine: Engine, settings: Settings
) -> None:
    staff = create_staff_user(session, "ana@example.org", "correct horse battery", Role.moderator)
    session.commit()
    prefer(session, staff, DigestFrequency.daily, hour=8, timezone="UTC", always=True)
    config = mail_settings(settings, free_port())
    factory = sessionmaker(engine)
    moment = at("2026-06-10 08:02")
    with time_machine.travel(moment, tick=False) as clock:
        for _ in range(MAX_ATTEMPTS):
            run_due(factory, config)
            moment += timedelta(hours=3)  # the longest backoff; still before the next day
            clock.move_to(moment)
        run_due(factory, config)
    (row,) = ledger(session)
    assert row.status is DeliveryStatus.failed
    assert row.attempts == MAX_ATTEMPTS
    assert "Connection" in row.last_error or "refused" in row.last_error


def test_after_downtime_one_digest_covers_the_gap(
    session: Session, engine: Engine, settings: Settings, inbox: Inbox
) -> None:
    staff = create_staff_user(session, "ana@example.org", "correct horse battery", Role.moderator)
    session.commit()
    prefer(session, staff, DigestFrequency.daily, hour=8, timezone="UTC", always=True)
    config = mail_settings(settings, inbox.port)
    factory = sessionmaker(engine)
    with time_machine.travel(at("2026-06-10 08:01"), tick=False) as clock:
        run_due(factory, config)
        clock.move_to(at("2026-06-13 09:00"))  # the worker was down for three days
        run_due(factory, config)
        run_due(factory, config)
    assert len(inbox.messages) == 2
    rows = ledger(session)
    assert [(r.period_start, r.period_end) for r in rows] == [
        (at("2026-06-09 08:00"), at("2026-06-10 08:00")),
        (at("2026-06-10 08:00"), at("2026-06-13 08:00")),
    ]
