"""The public JSON API at /api/v1: threads, counts, posting comments and flags, receipts.

Who may call it (origins, tokens) and how often is intake.api_access's job; what it reads from
requests is intake.api_input's; the OpenAPI document describing it is intake.openapi's.
Every POST also counts against the public site's one submit allowance (core.ratelimit).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import origins, site_settings
from core.app import current_settings
from core.db import db
from core.enums import FlagReason, Kind, ModerationMode
from core.flags import add_flag, reportable
from core.models import Article, Submission
from core.ratelimit import client_key
from core.threads import (
    DEFAULT_LIMIT,
    DEFAULT_ORDER,
    LIMIT_MAX,
    ORDERS,
    REPLIES_LIMIT_MAX,
    VISIBLE,
    BadCursor,
    article_json,
    comment_json,
    replies_page,
)
from intake.api_access import allowed_origins, api_token, error_response
from intake.api_input import (
    COMMENT_FIELDS,
    ApiError,
    article_input,
    bounded_int,
    comment_input,
    count_keys,
    flag_input,
    form_errors,
    json_object,
    valid_id,
    valid_key,
    valid_ref,
)
from intake.article_registry import register_article
from intake.openapi import openapi_document
from intake.submissions import (
    accepts_comments,
    can_reply_to,
    decoy_ref,
    find_article,
    find_receipt,
    record_comment,
    sender_details,
)
from intake.thread_reads import cached_counts, cached_thread

bp = Blueprint("api", __name__, url_prefix="/api/v1")

FLAG_FIELDS = {"reason": "reason", "text": "text"}


@bp.errorhandler(ApiError)
def refused(exc: ApiError) -> Response:
    """Answer a refused request with its JSON error."""
    return error_response(exc.status, exc.message, exc.fields)


@bp.get("/openapi.json")
def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of this API."""
    return openapi_document(current_settings().intake_url)


@bp.get("/articles/<key>/comments")
def thread(key: str) -> ResponseReturnValue:
    """A page of an article's published thread, with an ETag (304 when unchanged)."""
    order = request.args.get("order") or DEFAULT_ORDER
    if order not in ORDERS:
        raise ApiError(400, _("order must be one of: %(orders)s.", orders=", ".join(ORDERS)))
    limit = bounded_int("limit", DEFAULT_LIMIT, 1, LIMIT_MAX)
    cursor = request.args.get("cursor") or None
    if not valid_key(key):
        raise _no_article()
    try:
        body = cached_thread(
            db.session,
            key,
            order=order,
            cursor=cursor,
            limit=limit,
            public_url=current_settings().intake_url,
        )
    except BadCursor:
        raise _bad_cursor() from None
    if body is None:
        raise _no_article()
    response = current_app.response_class(body.data, mimetype="application/json")
    response.set_etag(body.etag.removeprefix("W/").strip('"'))
    # Browsers and proxies may keep it, but ask each time: a decision shows at once.
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


@bp.get("/comments/<int:comment_id>/replies")
def replies(comment_id: int) -> ResponseReturnValue:
    """More replies to a top-level comment, oldest first."""
    limit = bounded_int("limit", REPLIES_LIMIT_MAX, 1, REPLIES_LIMIT_MAX)
    cursor = request.args.get("cursor") or None
    if not valid_id(comment_id):
        raise ApiError(404, _("There is no such comment."))
    try:
        page = replies_page(db.session, comment_id, cursor=cursor, limit=limit)
    except BadCursor:
        raise _bad_cursor() from None
    if page is None:
        raise ApiError(404, _("There is no such comment."))
    return page


@bp.get("/counts")
def counts() -> ResponseReturnValue:
    """How many comments readers see on each of up to 100 articles (0 for unknown ones)."""
    return {"counts": cached_counts(db.session, count_keys())}


@bp.post("/articles")
def register() -> ResponseReturnValue:
    """Register an article on first sight (201), or find it (200); a token may update it."""
    entry = article_input(json_object())
    token = api_token()
    # An allowed site may register its own articles only, not pages of someone else's.
    if token is None and origins.origin_of(entry.url) not in allowed_origins():
        raise ApiError(403, _("This article's address is not on a site allowed to embed comments."))
    article, created = register_article(
        db.session, entry.key, title=entry.title, url=entry.url, may_update=token is not None
    )
    return article_json(article, current_settings().intake_url), 201 if created else 200


@bp.post("/articles/<key>/comments")
def post_comment(key: str) -> ResponseReturnValue:
    """Take a comment or a reply: validate, store and commit; answer with a receipt (201)."""
    entry = comment_input(json_object())
    settings = current_settings()
    if entry.form.honeypot_filled():
        # A bot gets what a person gets; nothing is stored.
        return _taken(decoy_ref(settings.hash_key, Kind.comment), premoderated=False)
    article = _open_article(key)
    fields = {} if entry.form.validate() else form_errors(entry.form, COMMENT_FIELDS)
    if entry.parent_id is not None and not can_reply_to(db.session, article.id, entry.parent_id):
        fields["parent_id"] = [_("This is not a comment you can reply to.")]
    if fields:
        raise ApiError(422, _("Some fields need correcting."), fields)
    form = entry.form
    # End the read transaction (the origin list, the article): record_comment writes on a
    # connection of its own, which on SQLite would wait for this one's lock.
    db.session.commit()
    recorded = record_comment(
        db.session,
        settings,
        key,
        name=form.author_name.data,
        email=form.email.data or None,
        text=form.body.data,
        address=request.remote_addr,
        locale=str(get_locale()),
        sender=_sender(key) if settings.akismet_key else None,
        parent_id=entry.parent_id,
        notify_replies=entry.notify_replies,
    )
    if recorded is None:  # closed, or the comment answered was removed, a moment ago
        _open_article(key)
        raise ApiError(
            422,
            _("Some fields need correcting."),
            {"parent_id": [_("This is not a comment you can reply to.")]},
        )
    return _taken(recorded.ref, premoderated=article.mode is ModerationMode.pre)


@bp.get("/receipts/<ref>")
def receipt(ref: str) -> ResponseReturnValue:
    """What became of a comment: checking, or published (with the comment)."""
    # References are short and plain (letters and digits): anything else names nothing.
    found = find_receipt(db.session, current_settings(), ref) if valid_ref(ref) else None
    if found is None or found.kind is not Kind.comment:
        raise ApiError(404, _("There is no comment with this reference."))
    published = found.state.value == "published"
    return {
        "ref": found.ref,
        "state": found.state.value,
        "comment": published_comment(db.session, found.ref) if published else None,
    }


@bp.post("/comments/<int:comment_id>/flags")
def flag(comment_id: int) -> ResponseReturnValue:
    """Store a reader's report of a comment they can see (once per reader)."""
    form = flag_input(json_object())
    comment = db.session.get(Submission, comment_id) if valid_id(comment_id) else None
    if comment is None or not reportable(comment):
        raise ApiError(404, _("There is no published comment here to report."))
    if form.honeypot_filled():
        return {"counted": True}, 202
    if not form.validate():
        raise ApiError(422, _("Some fields need correcting."), form_errors(form, FLAG_FIELDS))
    outcome = add_flag(
        db.session,
        comment,
        FlagReason(form.reason.data),
        form.text.data or "",
        # The keyed hash of the reader's network, as for comments: never the address.
        reporter_hash=client_key(),
        threshold=site_settings.load(db.session).flag_threshold,
    )
    return {"counted": outcome.counted}, 202


def published_comment(session: Session, ref: str) -> dict[str, Any] | None:
    """The API's Comment (or Reply) object of the visible comment with receipt `ref`."""
    comment = session.scalar(
        select(Submission).where(
            Submission.ref == ref, Submission.kind == Kind.comment, Submission.status.in_(VISIBLE)
        )
    )
    if comment is None:
        return None
    if comment.parent_id is not None:
        return comment_json(comment)
    page = replies_page(session, comment.id) or {"replies": [], "next_cursor": None}
    count = session.scalar(
        select(func.count()).where(
            Submission.parent_id == comment.id, Submission.status.in_(VISIBLE)
        )
    )
    return comment_json(
        comment,
        replies=page["replies"],
        reply_count=count or 0,
        replies_next_cursor=page["next_cursor"],
    )


def _open_article(key: str) -> Article:
    # The article a comment is for; 404 if there is none, 403 if it takes no comments.
    article = find_article(db.session, key) if valid_key(key) else None
    if article is None:
        raise _no_article()
    if not accepts_comments(article):
        raise ApiError(403, _("Comments are closed on this article."))
    return article


def _taken(ref: str, *, premoderated: bool) -> ResponseReturnValue:
    if premoderated:
        state, message = (
            "awaiting_review",
            _("Thank you. A moderator will review your comment before it appears."),
        )
    else:
        state, message = (
            "checking",
            _(
                "Thank you. Your comment is being checked and may need a moderator’s review "
                "before it appears."
            ),
        )
    body = {"ref": ref, "state": state, "status_url": f"{bp.url_prefix}/receipts/{ref}"}
    return {**body, "message": message}, 201


def _sender(key: str) -> dict[str, str]:
    # What Akismet needs of the reader; record_comment seals it for the worker.
    return sender_details(
        current_settings(),
        key,
        address=request.remote_addr,  # behind trusted proxies, as ProxyFix found it
        user_agent=request.headers.get("User-Agent"),
        referrer=request.headers.get("Referer"),
    )


def _no_article() -> ApiError:
    return ApiError(404, _("There is no article with this key."))


def _bad_cursor() -> ApiError:
    return ApiError(400, _("This cursor is not valid here; start again without it."))
