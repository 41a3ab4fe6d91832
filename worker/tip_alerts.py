"""Tip alerts: one e-mail per batch of new tips to each editor or admin who asked for them.

Every two minutes (beat), `run` counts, for each recipient, the tips that became visible (the
checks moved them out of `received` to anything but spam) since the end of their last alert, or
since they saved their preferences. If there are any, it claims the period by inserting a
`DigestDelivery(kind=tip_alert)` row (the ledger's unique constraint makes a concurrent run
skip it) and sends one e-mail with the count: a flood of 700 tips is one alert saying 700. The
e-mail holds counts and links only: never a tip's text, contact, name, file or label.

A failed send leaves the row `pending` with the error and a later `next_attempt_at`; later runs
retry it with the digests' backoff, and give up (`failed`, shown on the staff site) after
worker.digest_delivery.MAX_ATTEMPTS.

The urgent rule (`mark_urgent`) runs inside the checks, the only time the worker can read a
tip's text: a tip holding one of the admins' `urgent_words` is marked `TipDetails.urgent`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import digest as digests
from core.config import Settings
from core.db import utcnow
from core.enums import DeliveryKind, DeliveryStatus, Kind, Role, Status, TipAlerts
from core.mailer import Mail, MailError, send
from core.models import (
    AuditEvent,
    DigestDelivery,
    DigestPreference,
    StaffUser,
    Submission,
    TipDetails,
)
from core.site_settings import word_list
from worker.checks import Content
from worker.digest_delivery import record_failure, record_sent, with_links
from worker.normalize import find_term

log = logging.getLogger(__name__)

ALERT_TASK = "worker.tasks.tip_alerts"
INTERVAL_SECONDS = 120.0
# The statuses the checks move a tip to that staff see on the triage desk (not spam).
VISIBLE = (Status.new, Status.in_progress, Status.followed_up, Status.closed)
# A check's audit row is dated a moment before its transaction commits: a period ends this
# long before now, so that a tip being checked right now is counted in the next one.
SETTLE = timedelta(seconds=5)
# However long alerts were off or the workers down, one alert covers at most this much.
MAX_LOOKBACK = timedelta(days=1)
# A run that claimed a period and died before sending leaves it pending: retried after this.
LEASE = timedelta(minutes=5)


# --- The urgent rule (called by worker.checking) -------------------------------------------------


@lru_cache(maxsize=8)
def urgent_terms(setting: str) -> tuple[str, ...]:
    """The urgent words of the site setting; the same tuple each time (the term index is kept)."""
    return word_list(setting)


def is_urgent(text: str, words: tuple[str, ...]) -> bool:
    """Whether `text` holds one of `words` as a whole word, as the word lists match them."""
    return bool(words) and bool(text) and find_term(text, words) is not None


def urgent_tips(contents: Iterable[tuple[int, Content | None]], setting: str) -> set[int]:
    """The ids of the tips among `contents` that the urgent rule (`setting`'s words) marks."""
    words = urgent_terms(setting)
    if not words:
        return set()
    return {
        submission_id
        for submission_id, content in contents
        if content is not None and content.kind is Kind.tip and is_urgent(content.text, words)
    }


def mark_urgent(session: Session, submission_ids: Iterable[int]) -> None:
    """Mark these tips urgent (in the caller's transaction; the caller commits)."""
    ids = list(submission_ids)
    if ids:
        session.execute(
            update(TipDetails).where(TipDetails.submission_id.in_(ids)).values(urgent=True)
        )


# --- Alerts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    """What one alert says: how many tips, which kind, over which period, in which language."""

    count: int
    urgent_only: bool
    start: datetime
    end: datetime
    locale: str
    desk_url: str
    site_name: str


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def count_new_tips(session: Session, start: datetime, end: datetime, urgent_only: bool) -> int:
    """Tips the checks made visible (not spam) in [start, end); only urgent ones if asked."""
    # The checks' audit rows say when each tip left `received`; of the tip itself only its kind
    # and urgent flag are read, never a sealed column.
    query = (
        select(func.count(func.distinct(AuditEvent.submission_id)))
        .where(
            AuditEvent.from_status == Status.received.value,
            AuditEvent.to_status.in_([s.value for s in VISIBLE]),
            AuditEvent.at >= start,
            AuditEvent.at < end,
        )
        .join(Submission, Submission.id == AuditEvent.submission_id)
        .where(Submission.kind == Kind.tip)
    )
    if urgent_only:
        query = query.join(TipDetails, TipDetails.submission_id == Submission.id).where(
            TipDetails.urgent.is_(True)
        )
    return int(session.scalar(query) or 0)


def run(session: Session, settings: Settings, now: datetime | None = None) -> int:
    """Retry the alerts due, then alert everyone with new tips; how many e-mails were sent."""
    now = _utc(now or utcnow())
    sent = retry_due(session, settings, now)
    end = now - SETTLE
    recipients = session.execute(
        select(StaffUser, DigestPreference)
        .join(DigestPreference, DigestPreference.staff_id == StaffUser.id)
        .where(
            DigestPreference.tip_alerts != TipAlerts.off,
            # Moderators never get tip alerts, whatever a stored row says.
            StaffUser.role.in_([Role.editor, Role.admin]),
            StaffUser.is_active.is_(True),
        )
        .order_by(StaffUser.id)
    ).all()
    last_ends = dict(
        session.execute(
            select(DigestDelivery.staff_id, func.max(DigestDelivery.period_end))
            .where(DigestDelivery.kind == DeliveryKind.tip_alert)
            .group_by(DigestDelivery.staff_id)
        ).all()
    )
    session.rollback()
    for user, pref in recipients:
        last = last_ends.get(user.id)
        start = _utc(last) if last is not None else _utc(pref.updated_at)
        start = max(start, end - MAX_LOOKBACK)
        if start >= end:
            continue
        urgent_only = pref.tip_alerts == TipAlerts.urgent
        if not count_new_tips(session, start, end, urgent_only):
            session.rollback()
            continue
        delivery = _claim(session, user.id, start, end, now)
        if delivery is not None and _deliver(session, settings, delivery, user, pref, now):
            sent += 1
    return sent


def retry_due(session: Session, settings: Settings, now: datetime) -> int:
    """Send again the pending alerts whose retry time has come; how many went out."""
    due = session.execute(
        select(DigestDelivery, StaffUser, DigestPreference)
        .join(StaffUser, StaffUser.id == DigestDelivery.staff_id)
        .outerjoin(DigestPreference, DigestPreference.staff_id == StaffUser.id)
        .where(
            DigestDelivery.kind == DeliveryKind.tip_alert,
            DigestDelivery.status == DeliveryStatus.pending,
            DigestDelivery.next_attempt_at <= now,
        )
        .order_by(DigestDelivery.id)
    ).all()
    session.rollback()
    sent = 0
    for delivery, user, pref in due:
        # Take the retry over with a compare-and-set on its time, so that of two runs only one
        # sends it.
        taken = session.execute(
            update(DigestDelivery)
            .where(
                DigestDelivery.id == delivery.id,
                DigestDelivery.status == DeliveryStatus.pending,
                DigestDelivery.next_attempt_at == delivery.next_attempt_at,
            )
            .values(next_attempt_at=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            continue
        session.refresh(delivery)
        if _deliver(session, settings, delivery, user, pref, now):
            sent += 1
    return sent


def _claim(
    session: Session, staff_id: int, start: datetime, end: datetime, now: datetime
) -> DigestDelivery | None:
    # Whoever inserts the ledger row sends; a concurrent run's insert fails on the unique
    # (recipient, kind, period start) and it moves on.
    delivery = DigestDelivery(
        staff_id=staff_id,
        kind=DeliveryKind.tip_alert,
        period_start=start,
        period_end=end,
        status=DeliveryStatus.pending,
        attempts=0,
        next_attempt_at=now + LEASE,
    )
    session.add(delivery)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return delivery


def _deliver(
    session: Session,
    settings: Settings,
    delivery: DigestDelivery,
    user: StaffUser,
    pref: DigestPreference | None,
    now: datetime,
) -> bool:
    urgent_only = pref is not None and pref.tip_alerts == TipAlerts.urgent
    start, end = _utc(delivery.period_start), _utc(delivery.period_end)
    count = count_new_tips(session, start, end, urgent_only)
    base = settings.moderation_url.rstrip("/")
    alert = Alert(
        count=count,
        urgent_only=urgent_only,
        start=start,
        end=end,
        locale=(pref.locale if pref is not None else None) or settings.default_locale,
        desk_url=f"{base}/tips",
        site_name=settings.site_name,
    )
    delivery.attempts += 1
    try:
        mail = render_alert(alert, user.email)
        send(settings, with_links(settings, user.id, mail, alert.locale, DeliveryKind.tip_alert))
    except MailError as exc:
        record_failure(delivery, exc, now)
        session.commit()
        log.warning("tip alert %d to staff %d not sent: %s", delivery.id, user.id, exc)
        return False
    record_sent(delivery)
    session.commit()
    log.info("tip alert %d sent to staff %d (%d tips)", delivery.id, user.id, count)
    return True


def render_alert(alert: Alert, to: str) -> Mail:
    """The alert as an e-mail to `to`, in the alert's language (templates/email/tip_alert.*)."""
    # The digest's environment: the same templates folder and catalogs, no Flask app needed.
    env, formats = digests._environment(alert.locale)
    translations = formats.translations
    if alert.urgent_only:
        summary = translations.ngettext(
            "%(num)d new urgent tip", "%(num)d new urgent tips", alert.count
        ) % {"num": alert.count}
    else:
        summary = translations.ngettext("%(num)d new tip", "%(num)d new tips", alert.count) % {
            "num": alert.count
        }
    subject = translations.gettext("%(site)s: %(summary)s") % {
        "site": alert.site_name,
        "summary": summary,
    }
    context: dict[str, Any] = {"alert": alert, "summary": summary, "subject": subject}
    return Mail(
        to=to,
        subject=subject,
        text=env.get_template("tip_alert.txt").render(context),
        html=env.get_template("tip_alert.html").render(context),
    )
