"""The comment queue, a submission's page and the decisions made on it."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from core.app import current_settings
from core.config import Settings
from core.db import db
from core.enums import Kind, Status
from core.models import Article, Submission
from core.transitions import allowed_targets
from moderation.access import current_staff
from moderation.claims import Reviewer, active_claims, claim
from moderation.decisions import decide
from moderation.flags import all_flags, open_flags
from moderation.forms import DecisionForm
from moderation.queue_rows import render_rows
from moderation.review import audit_history, get_submission, queue_view
from moderation.submission_page import page_context

bp = Blueprint("submissions", __name__)

# A queue row shows this much of a comment; its page shows all of it.
EXCERPT_CHARS = 280


def public_article_url(settings: Settings, article: Article) -> str:
    """Where readers see the article and its published comments on the public site."""
    return f"{settings.intake_url}/articles/{quote(article.slug)}"


@bp.get("/")
def index() -> ResponseReturnValue:
    """The staff site opens on the pending queue."""
    return redirect(url_for(".queue", status=Status.pending.value))


@bp.get("/queue")
def queue() -> ResponseReturnValue:
    """Comments in one status, a page at a time, with decision buttons in each row."""
    view = queue_view(db.session, Kind.comment, request.args)
    submissions = view["page"].submissions
    rows = render_rows(
        submissions,
        flags=open_flags(db.session, submissions),
        claims=active_claims(db.session, [s.id for s in submissions], current_staff()),
        here=request.full_path.rstrip("?"),
        excerpt_chars=EXCERPT_CHARS,
    )
    return render_template("queue.html", **view, rows=rows)


@bp.get("/submissions/<int:submission_id>")
def show(submission_id: int) -> ResponseReturnValue:
    """One comment in full, its checks, its history and the moves it allows."""
    submission = get_submission(db.session, Kind.comment, submission_id)
    if submission is None:
        abort(404)
    holds = claim(db.session, submission.id, current_staff())
    # A submission has one claim at most: whoever just won it sees no one else reviewing it.
    return render_submission(submission, reviewers={} if holds else None)


@bp.post("/submissions/<int:submission_id>/status")
def change(submission_id: int) -> ResponseReturnValue:
    """Approve, reject, mark as spam or undo a decision on a comment."""
    return decide(Kind.comment, submission_id, render_submission, ".show", ".queue")


def render_submission(
    submission: Submission,
    conflict: str | None = None,
    code: int = 200,
    reviewers: dict[int, Reviewer] | None = None,
) -> ResponseReturnValue:
    """A comment's page, optionally with a message saying why a decision was not applied.

    `reviewers`, the others reviewing it when the caller knows already (else they are read).
    """
    settings = current_settings()
    article_url = public_article_url(settings, submission.article) if submission.article else None
    body = render_template(
        "submission.html",
        submission=submission,
        article_url=article_url,
        history=audit_history(db.session, submission.id),
        flags=all_flags(db.session, submission.id),
        targets=allowed_targets(submission.kind, submission.status),
        form=DecisionForm(formdata=None),
        conflict=conflict,
        **page_context(db.session, settings, submission, current_staff(), reviewers),
    )
    return body, code
