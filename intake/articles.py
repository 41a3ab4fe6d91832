"""Articles: the list, one article with its thread, and posting a comment or a reply.

The thread page works without JavaScript (it is the embed's <noscript> target): orders, pages
and the reply form are plain links and query strings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core import threads
from core.app import current_settings
from core.config import Settings
from core.db import db
from core.enums import Kind, ModerationMode
from core.errors import error_page
from core.models import Article
from intake.forms import CommentForm
from intake.submissions import (
    accepts_comments,
    can_reply_to,
    decoy_ref,
    find_article,
    list_articles,
    record_comment,
    sender_details,
)

bp = Blueprint("articles", __name__)

# The page lists comments in the order they came, as it always has; readers can change it.
PAGE_ORDER = "oldest"
PAGE_SIZE = 20
ORDER_LABELS = {
    "oldest": _l("Oldest first"),
    "newest": _l("Newest first"),
    "replies": _l("Most replies"),
}
REPLY_GONE = _l("The comment you are replying to is no longer available.")


@bp.get("/")
def index() -> str:
    """Every article, and the way to the tip form."""
    return render_template("index.html", articles=list_articles(db.session))


@bp.get("/articles/<slug>")
def show(slug: str) -> ResponseReturnValue:
    """An article, a page of its thread and the comment form (a reply form with ?reply_to=)."""
    form = CommentForm()
    reply_to = request.args.get("reply_to", type=int)
    # Out of range is no comment at all (and must not overflow the database's integer).
    form.parent_id.data = reply_to if reply_to is not None and 0 < reply_to < 2**31 else None
    return _render(_article_or_404(slug), form)


@bp.post("/articles/<slug>")
def comment(slug: str) -> ResponseReturnValue:
    """Take a comment: validate, store and commit; answer with a receipt.

    The broker is not involved: the sweeper enqueues new submissions, so a broker outage never
    reaches the reader and the request costs one database round trip.
    """
    form = CommentForm()
    settings = current_settings()
    if form.honeypot_filled():
        return _receipt(decoy_ref(settings.hash_key, Kind.comment))
    if form.validate():
        recorded = record_comment(
            db.session,
            settings,
            slug,
            name=form.author_name.data,
            email=form.email.data or None,
            text=form.body.data,
            address=request.remote_addr,
            locale=str(get_locale()),
            sender=_sender(settings, slug) if settings.akismet_key else None,
            parent_id=form.parent_id.data,
            notify_replies=bool(form.notify_replies.data),
        )
        if recorded is not None:
            return _receipt(recorded.ref)
    # Invalid, or nothing was stored: find out why, on the slow path.
    article = _article_or_404(slug)
    if not accepts_comments(article):
        return error_page(403, _("Comments are closed on this article."))
    parent_id = form.parent_id.data
    if (
        parent_id is not None
        and not form.parent_id.errors
        and not can_reply_to(db.session, article.id, parent_id)
    ):
        form.parent_id.errors = [*form.parent_id.errors, REPLY_GONE]
    return _render(article, form, status=422)


def _sender(settings: Settings, slug: str) -> dict[str, str]:
    # What Akismet needs of the reader; record_comment seals it for the worker.
    return sender_details(
        settings,
        slug,
        address=request.remote_addr,  # behind trusted proxies, as ProxyFix found it
        user_agent=request.headers.get("User-Agent"),
        referrer=request.headers.get("Referer"),
    )


def _article_or_404(slug: str) -> Article:
    article = find_article(db.session, slug)
    if article is None:
        abort(404)
    return article


def _render(article: Article, form: CommentForm, status: int = 200) -> ResponseReturnValue:
    order = request.args.get("order", PAGE_ORDER)
    if order not in threads.ORDERS:
        order = PAGE_ORDER
    cursor = request.args.get("cursor") or None
    try:
        page = threads.thread_page(
            db.session,
            article,
            order=order,
            cursor=cursor,
            limit=PAGE_SIZE,
            public_url=current_settings().intake_url,
        )
        _continue_replies(page, request.args.get("replies_of", type=int))
    except threads.BadCursor:
        return error_page(400, _("This link to more comments is broken. Reload the article."))
    # The comment a reply answers, named in the form; gone if readers can no longer see it.
    target = None
    if form.parent_id.data is not None and not form.parent_id.errors:
        target = threads.reply_target(db.session, article.id, form.parent_id.data)
    reply_gone = form.parent_id.data is not None and target is None
    if reply_gone:
        form.parent_id.data = None
    body = render_template(
        "article.html",
        article=article,
        page=page,
        order=order,
        cursor=cursor,
        order_labels=ORDER_LABELS,
        form=form,
        reply_target=target,
        reply_gone=reply_gone,
        open=accepts_comments(article),
        premoderated=article.mode is ModerationMode.pre,
    )
    return body, status


def _continue_replies(page: dict[str, Any], parent_id: int | None) -> None:
    # "More replies" without JavaScript: the comment's next replies take the place of the
    # ones shown before, like the next page of comments does.
    replies_cursor = request.args.get("replies_cursor")
    if parent_id is None or not replies_cursor:
        return
    for comment in page["featured"] + page["comments"]:
        if comment["id"] == parent_id:
            more = threads.replies_page(db.session, parent_id, cursor=replies_cursor)
            if more is not None:
                comment["replies"] = more["replies"]
                comment["replies_next_cursor"] = more["next_cursor"]


@bp.app_template_filter("from_iso")
def from_iso(value: str) -> datetime:
    """An ISO 8601 timestamp (as the thread's JSON has them) as a datetime, for datetimeformat."""
    return datetime.fromisoformat(value)


def _receipt(ref: str) -> ResponseReturnValue:
    # 303: the browser fetches the receipt with GET, so reloading it never sends the form again.
    # "#main" replaces the form's own fragment (browsers would carry it over) and puts the
    # receipt's content in focus for screen readers.
    return redirect(url_for("receipts.show", ref=ref, _anchor="main"), 303)
