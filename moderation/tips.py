"""Tips, for editors and admins only: the list, and a tip opened with the newsroom's key."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from nacl.exceptions import CryptoError

from core.app import current_settings
from core.config import Settings
from core.crypto import unseal
from core.db import db
from core.enums import Kind, Role
from core.models import Submission
from core.transitions import allowed_targets
from moderation.access import ensure_role
from moderation.decisions import decide
from moderation.forms import DecisionForm
from moderation.review import audit_history, get_submission, queue_view

bp = Blueprint("tips", __name__, url_prefix="/tips")


@bp.before_request
def editors_only() -> None:
    """Every tip route, present and future, is closed to moderators."""
    ensure_role(Role.editor)


@dataclass(frozen=True)
class TipContent:
    """What a tipster sent, opened for display; or why it cannot be shown."""

    text: str = ""
    contact: str = ""
    name: str = ""
    problem: str | None = None


def open_tip(settings: Settings, submission: Submission) -> TipContent:
    """The tip's text, contact and name, unsealed with the staff site's private key."""
    if submission.sealed is None:
        return TipContent(problem=_("This tip's content has been deleted."))
    if not settings.tip_private_key:
        return TipContent(
            problem=_(
                "This staff site has no tip private key configured, so tips cannot be opened "
                "here. Set TIPLINE_TIP_PRIVATE_KEY (or run `tipline init`) and restart it."
            )
        )
    try:
        data = unseal(settings.tip_private_key, submission.sealed)
    except (CryptoError, ValueError):
        return TipContent(problem=_("This tip could not be opened with this site's private key."))
    return TipContent(
        text=str(data.get("text") or ""),
        contact=str(data.get("contact") or ""),
        name=str(data.get("name") or ""),
    )


@bp.get("")
def index() -> ResponseReturnValue:
    """Tips in one status, a page at a time."""
    return render_template("tips.html", **queue_view(db.session, Kind.tip, request.args))


@bp.get("/<int:submission_id>")
def show(submission_id: int) -> ResponseReturnValue:
    """One tip, opened, with its checks, history and the moves it allows."""
    submission = get_submission(db.session, Kind.tip, submission_id)
    if submission is None:
        abort(404)
    return render_tip(submission)


@bp.post("/<int:submission_id>/status")
def change(submission_id: int) -> ResponseReturnValue:
    """Move a tip along its triage: in progress, followed up, closed, spam."""
    return decide(Kind.tip, submission_id, render_tip, ".show", ".index")


def render_tip(
    submission: Submission, conflict: str | None = None, code: int = 200
) -> ResponseReturnValue:
    """A tip's page, optionally with a message saying why a decision was not applied."""
    settings = current_settings()
    body = render_template(
        "tip.html",
        submission=submission,
        content=open_tip(settings, submission),
        history=audit_history(db.session, submission.id),
        targets=allowed_targets(submission.kind, submission.status),
        form=DecisionForm(formdata=None),
        conflict=conflict,
    )
    return body, code
