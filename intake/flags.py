"""Readers' reports of published comments: the form, storing a flag, the thank-you page.

Every POST here counts against the public site's one rate limit (intake.register_extensions).
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from core import site_settings
from core.db import db
from core.enums import FlagReason, Kind
from core.errors import error_page
from core.flags import add_flag, reportable
from core.models import Article, Submission
from core.ratelimit import client_key
from intake.forms import FlagForm

bp = Blueprint("flags", __name__)

REPORT_PATH = "/articles/<slug>/comments/<int:comment_id>/report"


@bp.get(REPORT_PATH)
def form(slug: str, comment_id: int) -> ResponseReturnValue:
    """The report form for one published comment."""
    found = _comment(slug, comment_id)
    if isinstance(found, tuple):
        return found
    return _render(found, FlagForm())


@bp.post(REPORT_PATH)
def send(slug: str, comment_id: int) -> ResponseReturnValue:
    """Store a reader's report (once per reader) and thank them."""
    form = FlagForm()
    found = _comment(slug, comment_id)
    if isinstance(found, tuple):
        return found
    if form.honeypot_filled():
        # A bot gets the same thanks as a person; nothing is stored.
        return _thanks(slug, comment_id, again=False)
    if not form.validate():
        return _render(found, form, 422)
    outcome = add_flag(
        db.session,
        found,
        FlagReason(form.reason.data),
        form.text.data or "",
        # The keyed hash of the reader's network, as for comments: never the address.
        reporter_hash=client_key(),
        threshold=site_settings.load(db.session).flag_threshold,
    )
    return _thanks(slug, comment_id, again=not outcome.counted)


@bp.get(REPORT_PATH + "/thanks")
def thanks(slug: str, comment_id: int) -> ResponseReturnValue:
    """The thank-you page after a report, with the way back to the article."""
    article = db.session.scalar(select(Article).where(Article.slug == slug))
    if article is None:
        abort(404)
    return render_template(
        "reported.html",
        article=article,
        comment_id=comment_id,
        again=request.args.get("again") == "1",
    )


def _comment(slug: str, comment_id: int) -> Submission | tuple[str, int]:
    # The comment if readers may report it; else a 404 page saying so.
    comment = db.session.scalar(
        select(Submission)
        .join(Article, Submission.article_id == Article.id)
        .where(Submission.id == comment_id, Submission.kind == Kind.comment, Article.slug == slug)
    )
    if comment is None or not reportable(comment):
        # The same answer whether it is unpublished or missing: says nothing about others'.
        return error_page(404, _("There is no published comment here to report."))
    return comment


def _render(comment: Submission, form: FlagForm, code: int = 200) -> ResponseReturnValue:
    return render_template("report.html", comment=comment, article=comment.article, form=form), code


def _thanks(slug: str, comment_id: int, *, again: bool) -> ResponseReturnValue:
    # 303: reloading the thank-you page never sends the report again.
    again_arg = 1 if again else None
    url = url_for(".thanks", slug=slug, comment_id=comment_id, again=again_arg, _anchor="main")
    return redirect(url, 303)
