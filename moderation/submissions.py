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
from moderation.claims import active_claims, claim
from moderation.decisions import decide
from moderation.flags import all_flags, open_flags
from moderation.forms import DecisionForm
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
    return render_template(
        "queue.html",
        **view,
        flags=open_flags(db.session, view["page"].submissions),
        claims=active_claims(db.session, [s.id for s in view["page"].submissions], current_staff()),
        excerpt_chars=EXCERPT_CHARS,
        allowed_targets=allowed_targets,
        here=request.full_path.rstrip("?"),
    )


@bp.get("/submissions/<int:submission_id>")
def show(submission_id: int) -> ResponseReturnValue:
    """One comment in full, its checks, its history and the moves it allows."""
    submission = get_submission(db.session, Kind.comment, submission_id)
    if submission is None:
        abort(404)
    claim(db.session, submission.id, current_staff())
    return render_submission(submission)


@bp.post("/submissions/<int:submission_id>/status")
def change(submission_id: int) -> ResponseReturnValue:
    """Approve, reject, mark as spam or undo a decision on a comment."""
    return decide(Kind.comment, submission_id, render_submission, ".show", ".queue")


def render_submission(
    submission: Submission, conflict: str | None = None, code: int = 200
) -> ResponseReturnValue:
    """A comment's page, optionally with a message saying why a decision was not applied."""
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
        **page_context(db.session, settings, submission, current_staff()),
    )
    return body, code
