"""Leaving reply notifications from the link in one of them, without an account.

The link's token (core.reply_links) is signed and expires; it names the subscription. GET
only asks to confirm (link scanners and previews fetch links), POST unsubscribes and deletes
the address. Mail clients' one-click unsubscribe (RFC 8058) POSTs with no CSRF token, so the
POST is exempt: the signed token in the address is what authorises it. Unsubscribing twice is
harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.app import csrf, current_settings
from core.db import db, utcnow
from core.errors import error_page
from core.models import Article, ReplySubscription, Submission
from core.reply_links import read_unsubscribe_token

bp = Blueprint("notifications", __name__)


@dataclass(frozen=True)
class Subscription:
    """What the page says of a subscription: the comment's article, and whether it has ended."""

    comment_id: int
    title: str
    slug: str
    ended: bool


def find_subscription(session: Session, subscription_id: int) -> Subscription | None:
    """The subscription's comment and article, or None if it no longer exists."""
    row = session.execute(
        select(ReplySubscription.unsubscribed_at, Submission.id, Article.title, Article.slug)
        .join(Submission, Submission.id == ReplySubscription.submission_id)
        .join(Article, Article.id == Submission.article_id)
        .where(ReplySubscription.id == subscription_id)
    ).first()
    if row is None:
        return None
    return Subscription(row.id, row.title, row.slug, row.unsubscribed_at is not None)


def end_subscription(session: Session, subscription_id: int, now: datetime | None = None) -> bool:
    """Stop the notices and delete the sealed address (commits); False if there is none."""
    result = session.execute(
        update(ReplySubscription)
        .where(ReplySubscription.id == subscription_id)
        # The first unsubscribing's time stays: a second click changes nothing.
        .values(
            unsubscribed_at=func.coalesce(ReplySubscription.unsubscribed_at, now or utcnow()),
            email_sealed=None,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(getattr(result, "rowcount", 0))


def _subscription_id_or_400(token: str) -> int | ResponseReturnValue:
    subscription_id = read_unsubscribe_token(current_settings(), token)
    if subscription_id is None:
        return error_page(
            400,
            _(
                "This unsubscribe link does not work: it is damaged or has expired. Use the "
                "link in the most recent e-mail about replies to your comment."
            ),
        )
    return subscription_id


def _page(subscription: Subscription | None, done: bool) -> str:
    return render_template(
        "notification_unsubscribe.html",
        done=done,
        title=subscription.title if subscription else "",
        thread_url=(
            url_for(
                "articles.show",
                slug=subscription.slug,
                _anchor=f"comment-{subscription.comment_id}",
            )
            if subscription
            else ""
        ),
    )


@bp.get("/notifications/unsubscribe/<token>")
def confirm(token: str) -> ResponseReturnValue:
    """Ask to confirm: unsubscribing happens only on the POST."""
    found = _subscription_id_or_400(token)
    if not isinstance(found, int):
        return found
    subscription = find_subscription(db.session, found)
    # A subscription that is gone (its comment deleted) or ended: nothing left to stop.
    return _page(subscription, done=subscription is None or subscription.ended)


@bp.post("/notifications/unsubscribe/<token>")
@csrf.exempt
def unsubscribe(token: str) -> ResponseReturnValue:
    """End the token's subscription and delete its address; say so."""
    found = _subscription_id_or_400(token)
    if not isinstance(found, int):
        return found
    end_subscription(db.session, found)
    return _page(find_subscription(db.session, found), done=True)
