"""Articles: the list, one article with its comments, and posting a comment."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _

from core.app import current_settings
from core.config import Settings
from core.db import db
from core.enums import Kind, ModerationMode
from core.errors import error_page
from core.models import Article
from intake.forms import CommentForm
from intake.submissions import (
    accepts_comments,
    decoy_ref,
    find_article,
    list_articles,
    record_comment,
    sender_details,
    visible_comments,
)

bp = Blueprint("articles", __name__)


@bp.get("/")
def index() -> str:
    """Every article, and the way to the tip form."""
    return render_template("index.html", articles=list_articles(db.session))


@bp.get("/articles/<slug>")
def show(slug: str) -> str:
    """An article, its published comments and the comment form."""
    return _render(_article_or_404(slug), CommentForm())


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
        )
        if recorded is not None:
            return _receipt(recorded.ref)
    # Invalid, or nothing was stored: find out why, on the slow path.
    article = _article_or_404(slug)
    if not accepts_comments(article):
        return error_page(403, _("Comments are closed on this article."))
    return _render(article, form), 422


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


def _render(article: Article, form: CommentForm) -> str:
    return render_template(
        "article.html",
        article=article,
        comments=visible_comments(db.session, article.id),
        form=form,
        open=accepts_comments(article),
        premoderated=article.mode is ModerationMode.pre,
    )


def _receipt(ref: str) -> ResponseReturnValue:
    # 303: the browser fetches the receipt with GET, so reloading it never sends the form again.
    # "#main" replaces the form's own fragment (browsers would carry it over) and puts the
    # receipt's content in focus for screen readers.
    return redirect(url_for("receipts.show", ref=ref, _anchor="main"), 303)
