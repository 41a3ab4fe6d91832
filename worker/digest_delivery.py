"""Sending the e-mail digests: which are due, claiming each in the ledger, sending, retrying.

`run_due` is what beat runs every few minutes. A digest is claimed by inserting its ledger row
(DigestDelivery: unique staff, kind, period start) before anything is sent, so a repeated or
concurrent run finds the row there and sends nothing. The next period starts where the last
row's period ended, so after downtime one digest covers all the missed time. A failed send stays
`pending` with a later `next_attempt_at` (backoff), then `failed`: shown on the staff site,
never silently dropped.

Every message carries signed, expiring unsubscribe and preferences links (and the
`List-Unsubscribe` headers). The worker does not hold the staff site's secret key, so the
tokens are keyed from `hash_key`, which both hold.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import support
from itsdangerous import BadData, URLSafeTimedSerializer
from markupsafe import escape
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import digest as digests
from core.config import Settings
from core.db import utcnow
from core.enums import DeliveryKind, DeliveryStatus, DigestFrequency
from core.i18n import N_, TRANSLATIONS
from core.mailer import Mail, MailError, send
from core.models import (
    DigestDelivery,
    DigestPreference,
    ReplyNotice,
    StaffUser,
    WebhookDelivery,
)

log = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "digest-unsubscribe"
# The preferences link's tokens: same key, another salt, so neither kind passes for the other.
PREFERENCES_SALT = "digest-preferences"
TOKEN_MAX_AGE = 60 * 24 * 3600  # 60 days, in seconds
# Minutes to wait before each retry; after the last one the row is `failed`.
BACKOFF_MINUTES = (1, 5, 15, 60, 180)
MAX_ATTEMPTS = len(BACKOFF_MINUTES) + 1
# A claimed row's send is given this long before another run may take it over (a worker that
# died between claiming and sending must not leave the digest pending forever).
LEASE = timedelta(minutes=15)

SessionFactory = Callable[[], Session]


# --- Tokens ------------------------------------------------------------------------------------


def _serializer(settings: Settings, salt: str = UNSUBSCRIBE_SALT) -> URLSafeTimedSerializer:
    # A key of its own, derived from hash_key: a token for this purpose is good for nothing else.
    key = hmac.new(settings.hash_key, b"tipline digest unsubscribe", hashlib.sha256).hexdigest()
    return URLSafeTimedSerializer(key, salt=salt)


def unsubscribe_token(settings: Settings, staff_id: int) -> str:
    """A signed token naming `staff_id`, good for TOKEN_MAX_AGE."""
    return _serializer(settings).dumps({"staff": staff_id})


def read_unsubscribe_token(settings: Settings, token: str) -> int | None:
    """The staff id in `token`, or None if it is forged, damaged or expired."""
    return _read(settings, token, UNSUBSCRIBE_SALT)


def preferences_token(settings: Settings, staff_id: int) -> str:
    """A signed token naming `staff_id` for the preferences link, good for TOKEN_MAX_AGE."""
    return _serializer(settings, PREFERENCES_SALT).dumps({"staff": staff_id})


def read_preferences_token(settings: Settings, token: str) -> int | None:
    """The staff id in a preferences `token`, or None if forged, damaged, expired or not one."""
    return _read(settings, token, PREFERENCES_SALT)


def _read(settings: Settings, token: str, salt: str) -> int | None:
    try:
        data = _serializer(settings, salt).loads(token, max_age=TOKEN_MAX_AGE)
    except BadData:
        return None
    staff = data.get("staff") if isinstance(data, dict) else None
    return staff if isinstance(staff, int) else None


def unsubscribe_url(settings: Settings, staff_id: int) -> str:
    """The staff site's one-click unsubscribe address for `staff_id`."""
    return f"{settings.moderation_url}/unsubscribe/{unsubscribe_token(settings, staff_id)}"


def preferences_url(settings: Settings, staff_id: int) -> str:
    """The staff site's page for `staff_id`'s e-mail preferences, opened without a login."""
    return f"{settings.moderation_url}/preferences/{preferences_token(settings, staff_id)}"


# --- Schedule ----------------------------------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _local(day: date, hour: int, zone: ZoneInfo) -> datetime:
    # fold=0: a local hour that happens twice is taken the first time, and one that does not
    # exist (clocks jump over it) maps to the instant just after the jump. Either way, exactly
    # one instant per day.
    return datetime.combine(day, time(hour % 24), tzinfo=zone).astimezone(UTC)


def _last_two(pref: DigestPreference, now: datetime) -> tuple[datetime, datetime]:
    """The most recent scheduled instant at or before `now`, and the one before it (UTC)."""
    zone = _zone(pref.timezone)
    local = now.astimezone(zone)
    if pref.frequency is DigestFrequency.hourly:
        # On the local hour (half-hour zones included); hours are real hours, DST or not.
        end = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
        return end, end - timedelta(hours=1)
    if pref.frequency is DigestFrequency.daily:
        day = local.date()
        if _local(day, pref.hour, zone) > now:
            day -= timedelta(days=1)
        return _local(day, pref.hour, zone), _local(day - timedelta(days=1), pref.hour, zone)
    day = local.date() - timedelta(days=(local.weekday() - pref.weekday) % 7)
    if _local(day, pref.hour, zone) > now:
        day -= timedelta(days=7)
    return _local(day, pref.hour, zone), _local(day - timedelta(days=7), pref.hour, zone)


def due_periods(
    pref: DigestPreference, last_end: datetime | None, now: datetime
) -> tuple[datetime, datetime] | None:
    """The period [start, end) a digest is due for now, or None (off, or already covered)."""
    if pref.frequency is DigestFrequency.off:
        return None
    now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    end, previous = _last_two(pref, now)
    if last_end is None:
        return previous, end
    last_end = last_end.astimezone(UTC) if last_end.tzinfo else last_end.replace(tzinfo=UTC)
    if last_end >= end:
        return None
    # Catch-up: everything since the last digest, in one.
    return last_end, end


# --- Sending -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunReport:
    """What one run did: rows sent, found empty, failed for now, and given up on."""

    sent: int = 0
    empty: int = 0
    retrying: int = 0
    failed: int = 0


# Why a staff member gets each kind of e-mail, as its footer says.
WHY = {
    DeliveryKind.digest: N_("Why you get this e-mail: you chose a digest on the staff site."),
    DeliveryKind.tip_alert: N_("Why you get this e-mail: you chose tip alerts on the staff site."),
}


def _footer_text(locale: str, kind: DeliveryKind) -> tuple[str, str, str]:
    translations = support.Translations.load(str(TRANSLATIONS), [locale], domain="messages")
    return (
        translations.gettext(WHY[kind]),
        translations.gettext(N_("Change your digest preferences")),
        translations.gettext(N_("Unsubscribe from these e-mails")),
    )


def compose(
    settings: Settings, staff: StaffUser, rendered: digests.RenderedDigest, locale: str
) -> Mail:
    """The message for `rendered`, with unsubscribe and preferences links and headers."""
    mail = Mail(to=staff.email, subject=rendered.subject, text=rendered.text, html=rendered.html)
    return with_links(settings, staff.id, mail, locale, DeliveryKind.digest)


def with_links(
    settings: Settings, staff_id: int, mail: Mail, locale: str, kind: DeliveryKind
) -> Mail:
    """`mail` with why it was sent, the preferences and unsubscribe links, and the headers.

    Every message Tipline sends staff carries them: both links work without a login (signed
    tokens) and mail clients offer unsubscribing as one click (List-Unsubscribe-Post).
    """
    unsubscribe = unsubscribe_url(settings, staff_id)
    preferences = preferences_url(settings, staff_id)
    why, change, leave = _footer_text(locale, kind)
    text = f"{mail.text.rstrip()}\n\n{why}\n{change}: {preferences}\n{leave}: {unsubscribe}\n"
    html = mail.html
    if html is not None:
        footer = (
            '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0">'
            '<tr><td style="padding:8px 16px 24px 16px;font-size:12px;color:#555555;'
            'font-family:Arial,Helvetica,sans-serif;text-align:center;">'
            f"{escape(why)}<br>"
            f'<a href="{escape(preferences)}" style="color:#1a4f8b;">{escape(change)}</a> · '
            f'<a href="{escape(unsubscribe)}" style="color:#1a4f8b;">{escape(leave)}</a>'
            "</td></tr></table>"
        )
        at = html.rfind("</body>")
        html = html[:at] + footer + html[at:] if at >= 0 else html + footer
    return Mail(
        to=mail.to,
        subject=mail.subject,
        text=text,
        html=html,
        headers={
            **mail.headers,
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def _deliver(
    session: Session,
    settings: Settings,
    row: DigestDelivery,
    now: datetime,
    cache: digests.SectionCache | None = None,
) -> str:
    """Build, render and send `row`'s digest; record the outcome. Returns the new status."""
    staff = session.get(StaffUser, row.staff_id)
    pref = session.get(DigestPreference, row.staff_id)
    if staff is None:
        return row.status.value
    locale = (pref.locale if pref else None) or settings.default_locale
    digest = digests.build_digest(
        session,
        staff,
        row.period_start,
        row.period_end,
        moderation_url=settings.moderation_url,
        site_name=settings.site_name,
        cache=cache,
    )
    if digest.empty and not (pref and pref.always):
        row.status = DeliveryStatus.empty
        row.next_attempt_at = None
        session.commit()
        return "empty"
    rendered = digests.render_digest(digest, locale)
    mail = compose(settings, staff, rendered, locale)
    # End the reading transaction first: no lock (SQLite's is the whole database) is held
    # while the relay takes its time.
    session.commit()
    try:
        send(settings, mail)
    except MailError as exc:
        row.attempts += 1
        gave_up = record_failure(row, exc, now)
        session.commit()
        log.warning("digest %s for staff %s not sent (%s): %s", row.id, staff.id, row.status, exc)
        return "failed" if gave_up else "retrying"
    record_sent(row)
    session.commit()
    return "sent"


# The ledgers that retry on this schedule: e-mails to staff, reply notices, webhooks.
LedgerRow = DigestDelivery | ReplyNotice | WebhookDelivery


def record_failure(row: LedgerRow, error: MailError | str, now: datetime) -> bool:
    """Note a failed send of a ledger row, its `attempts` already counted.

    The row is retried after the next wait of BACKOFF_MINUTES, or, after MAX_ATTEMPTS, marked
    failed for the staff site to show. True when it gave up. The caller commits.
    """
    row.last_error = str(error)[:300]
    if row.attempts >= MAX_ATTEMPTS:
        row.status = DeliveryStatus.failed
        row.next_attempt_at = None
        return True
    row.next_attempt_at = now + timedelta(minutes=BACKOFF_MINUTES[row.attempts - 1])
    return False


def record_sent(row: DigestDelivery) -> None:
    """Note that a ledger row's e-mail went out. The caller commits."""
    row.status = DeliveryStatus.sent
    row.sent_at = utcnow()
    row.next_attempt_at = None
    row.last_error = ""


def _claim_new(session: Session, pref: DigestPreference, now: datetime) -> DigestDelivery | None:
    last_end = session.scalar(
        select(func.max(DigestDelivery.period_end)).where(
            DigestDelivery.staff_id == pref.staff_id,
            DigestDelivery.kind == DeliveryKind.digest,
        )
    )
    period = due_periods(pref, last_end, now)
    if period is None:
        return None
    row = DigestDelivery(
        staff_id=pref.staff_id,
        kind=DeliveryKind.digest,
        status=DeliveryStatus.pending,
        period_start=period[0],
        period_end=period[1],
        next_attempt_at=now + LEASE,
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        # Another run claimed this period first: it sends, we do not.
        session.rollback()
        return None
    return row


def _claim_retry(session: Session, row_id: int, seen: datetime | None, now: datetime) -> bool:
    # Compare-and-set on next_attempt_at: of two runs that saw the same due row, one wins.
    result = session.execute(
        update(DigestDelivery)
        .where(
            DigestDelivery.id == row_id,
            DigestDelivery.status == DeliveryStatus.pending,
            DigestDelivery.next_attempt_at == seen,
        )
        .values(next_attempt_at=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(getattr(result, "rowcount", 0) == 1)


def run_due(
    session_factory: SessionFactory, settings: Settings, now: datetime | None = None
) -> RunReport:
    """Send every digest that is due now and retry those whose backoff is over."""
    now = now or utcnow()
    outcomes: list[str] = []
    # Recipients of the same period share its sections: built once per run.
    cache = digests.SectionCache()
    with session_factory() as session:
        # Retries first: their rows were claimed by earlier runs.
        due_retries = session.execute(
            select(DigestDelivery.id, DigestDelivery.next_attempt_at).where(
                DigestDelivery.kind == DeliveryKind.digest,
                DigestDelivery.status == DeliveryStatus.pending,
                DigestDelivery.next_attempt_at <= now,
            )
        ).all()
        session.commit()
        for row_id, seen in due_retries:
            if _claim_retry(session, row_id, seen, now):
                row = session.get(DigestDelivery, row_id, populate_existing=True)
                if row is not None:
                    outcomes.append(_deliver(session, settings, row, now, cache))
        prefs = session.scalars(
            select(DigestPreference)
            .join(StaffUser, StaffUser.id == DigestPreference.staff_id)
            .where(DigestPreference.frequency != DigestFrequency.off, StaffUser.is_active)
            .order_by(DigestPreference.staff_id)
        ).all()
        session.commit()
        for pref in prefs:
            claimed = _claim_new(session, pref, now)
            if claimed is not None:
                outcomes.append(_deliver(session, settings, claimed, now, cache))
    return RunReport(
        sent=outcomes.count("sent"),
        empty=outcomes.count("empty"),
        retrying=outcomes.count("retrying"),
        failed=outcomes.count("failed"),
    )
