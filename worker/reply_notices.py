"""E-mailing a commenter who asked for it when someone replies to their comment.

Beat runs `run_due` every minute. A reply readers can see (published or reported) that became
so in the last two days, under a comment whose writer subscribed and has not left, gets one
`ReplyNotice` row per subscription before anything is sent: the row's unique (subscription,
reply) makes a concurrent run skip it, so each reply is told once. The subscriber's own
replies (same keyed e-mail hash) tell no one.

The address is sealed to the worker's key (the public site cannot read it back); it is opened
here only to hand the message to the relay, and never logged. A failed send stays `pending`
and is retried with the digests' backoff (1, 5, 15, 60, 180 minutes), then marked `failed`.

Every message carries a signed one-click unsubscribe link (intake.notifications) and the
`List-Unsubscribe` headers. The tokens are keyed from hash_key, which the public site and the
worker both hold, with a salt of their own.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from nacl.exceptions import CryptoError
from sqlalchemy import Select, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from core import digest as digests
from core.config import Settings
from core.crypto import unseal
from core.db import utcnow
from core.enums import DeliveryStatus, Kind, Status
from core.i18n import N_
from core.mailer import Mail, MailError, send
from core.models import Article, ReplyNotice, ReplySubscription, Submission
from core.reply_links import thread_url, unsubscribe_url
from worker.digest_delivery import record_failure

log = logging.getLogger(__name__)

NOTICES_TASK = "worker.tasks.send_reply_notices"
INTERVAL_SECONDS = 60.0
# What readers see of a thread (intake.submissions.VISIBLE).
VISIBLE = (Status.published, Status.reported)
# Replies that became visible longer ago than this are not told (after an outage, or when a
# subscription is older than the feature): a notice days late is noise.
RECENT = timedelta(days=2)
# A claimed notice is the claimer's for this long; then another run may take it over.
LEASE = timedelta(minutes=5)
BATCH = 200

# A relay's refusal may quote the recipient ("550 <x@y>: no such user"): kept and logged without.
_ADDRESS = re.compile(r"[^\s<>@\"']+@[^\s<>@\"']+")

SUBJECT = N_("%(name)s replied to your comment on “%(title)s”")
SOMEONE = N_("Someone")


# --- The message -------------------------------------------------------------------------------


def compose(
    settings: Settings,
    subscription: ReplySubscription,
    reply: Submission,
    article: Article,
    to: str,
) -> Mail:
    """The notice of `reply` for `subscription`, in its language (email/reply_notice.*)."""
    locale = subscription.locale or settings.default_locale
    env, formats = digests._environment(locale)
    translations = formats.translations
    # One line each: they go into the Subject header.
    name = " ".join((reply.author_name or "").split()) or translations.gettext(SOMEONE)
    title = " ".join(article.title.split())
    subject = translations.gettext(SUBJECT) % {"name": name, "title": title}
    unsubscribe = unsubscribe_url(settings, subscription.id)
    context: dict[str, Any] = {
        "subject": subject,
        "name": name,
        "title": title,
        "body": reply.body or "",
        "thread_url": thread_url(settings, article.slug, reply.id),
        "unsubscribe_url": unsubscribe,
        "site_name": settings.site_name,
    }
    return Mail(
        to=to,
        subject=subject,
        text=env.get_template("reply_notice.txt").render(context),
        html=env.get_template("reply_notice.html").render(context),
        headers={
            # RFC 8058: mail clients offer "unsubscribe" and POST to the link, no page shown.
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


# --- Sending -----------------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def new_replies(now: datetime) -> Select[int, int]:
    """(subscription id, reply id) of the recent visible replies nobody was told of yet."""
    reply = aliased(Submission)
    parent = aliased(Submission)
    told = exists().where(
        ReplyNotice.subscription_id == ReplySubscription.id, ReplyNotice.reply_id == reply.id
    )
    return (
        select(ReplySubscription.id, reply.id)
        .join(parent, parent.id == ReplySubscription.submission_id)
        .join(reply, reply.parent_id == parent.id)
        .where(
            reply.kind == Kind.comment,
            reply.status.in_(VISIBLE),
            # Every status change sets updated_at: for a visible reply, when it became visible
            # (or was last reported).
            reply.updated_at >= now - RECENT,
            # "Replied to your comment" about a comment moderators removed would mislead.
            parent.status.in_(VISIBLE),
            ReplySubscription.unsubscribed_at.is_(None),
            ReplySubscription.email_sealed.is_not(None),
            # Your own reply tells you nothing (a reply without an address is someone else's).
            or_(reply.email_hash.is_(None), reply.email_hash != ReplySubscription.email_hash),
            ~told,
        )
        .order_by(reply.id, ReplySubscription.id)
        .limit(BATCH)
    )


def _insert(session: Session, subscription_id: int, reply_id: int, now: datetime) -> int | None:
    # Whoever inserts the ledger row sends; a concurrent run's insert fails on the unique
    # (subscription, reply) and it moves on.
    notice = ReplyNotice(
        subscription_id=subscription_id,
        reply_id=reply_id,
        status=DeliveryStatus.pending,
        attempts=0,
        next_attempt_at=now + LEASE,
    )
    session.add(notice)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return notice.id


def _claim(session: Session, notice_id: int, seen: datetime | None, now: datetime) -> bool:
    # Compare-and-set on next_attempt_at: of two runs that saw the same due row, one wins.
    result = session.execute(
        update(ReplyNotice)
        .where(
            ReplyNotice.id == notice_id,
            ReplyNotice.status == DeliveryStatus.pending,
            ReplyNotice.next_attempt_at == seen,
        )
        .values(next_attempt_at=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(getattr(result, "rowcount", 0) == 1)


def _drop(notice: ReplyNotice, reason: str) -> str:
    notice.status = DeliveryStatus.failed
    notice.next_attempt_at = None
    notice.last_error = reason
    return "dropped"


def _deliver(session: Session, settings: Settings, notice_id: int, now: datetime) -> str:
    notice = session.get(ReplyNotice, notice_id, populate_existing=True)
    if notice is None:
        session.commit()
        return "gone"
    outcome = _send(session, settings, notice, now)
    session.commit()
    return outcome


def _send(session: Session, settings: Settings, notice: ReplyNotice, now: datetime) -> str:
    subscription = session.get(ReplySubscription, notice.subscription_id, populate_existing=True)
    reply = session.get(Submission, notice.reply_id, populate_existing=True)
    article = (
        session.get(Article, reply.article_id, populate_existing=True)
        if reply is not None and reply.article_id
        else None
    )
    if subscription is None or subscription.unsubscribed_at or subscription.email_sealed is None:
        return _drop(notice, "the subscriber unsubscribed")
    if reply is None or article is None or reply.status not in VISIBLE:
        return _drop(notice, "the reply is no longer shown")
    try:
        address = unseal(settings.worker_private_key, subscription.email_sealed)["email"]
    except (CryptoError, ValueError, KeyError, TypeError):
        return _drop(notice, "the address cannot be opened with this worker's key")
    if not isinstance(address, str) or not address:
        return _drop(notice, "no address")
    mail = compose(settings, subscription, reply, article, address)
    # End the reading transaction first: no lock is held while the relay takes its time.
    session.commit()
    try:
        send(settings, mail)
    except MailError as exc:
        # The relay's words and the notice's id: never the address.
        error = _ADDRESS.sub("[address]", str(exc))
        notice.attempts += 1
        gave_up = record_failure(notice, error, now)
        log.warning("reply notice %d not sent: %s", notice.id, error)
        return "failed" if gave_up else "retrying"
    except ValueError:
        # The message could not be built (an address the e-mail library refuses): retrying
        # would not help.
        return _drop(notice, "the address cannot be used")
    notice.status = DeliveryStatus.sent
    notice.attempts += 1
    notice.sent_at = utcnow()
    notice.next_attempt_at = None
    notice.last_error = ""
    return "sent"


def run_due(session: Session, settings: Settings, now: datetime | None = None) -> int:
    """Retry the notices due, then tell subscribers of new replies; how many e-mails went out."""
    now = _utc(now or utcnow())
    outcomes: list[str] = []
    retries = session.execute(
        select(ReplyNotice.id, ReplyNotice.next_attempt_at)
        .where(ReplyNotice.status == DeliveryStatus.pending, ReplyNotice.next_attempt_at <= now)
        .order_by(ReplyNotice.id)
        .limit(BATCH)
    ).all()
    session.commit()
    for notice_id, seen in retries:
        if _claim(session, notice_id, seen, now):
            outcomes.append(_deliver(session, settings, notice_id, now))
    fresh = session.execute(new_replies(now)).all()
    session.commit()
    for subscription_id, reply_id in fresh:
        inserted = _insert(session, subscription_id, reply_id, now)
        if inserted is not None:
            outcomes.append(_deliver(session, settings, inserted, now))
    sent = outcomes.count("sent")
    if outcomes:
        log.info(
            "reply notices: %d sent, %d retrying, %d failed, %d dropped",
            sent,
            outcomes.count("retrying"),
            outcomes.count("failed"),
            outcomes.count("dropped"),
        )
    return sent
