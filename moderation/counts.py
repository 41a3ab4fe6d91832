"""How many submissions wait in each queue, as JSON, for the tab bar to refresh itself."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from core.db import db
from core.enums import Kind, Role
from moderation.access import has_role
from moderation.review import status_counts

bp = Blueprint("counts", __name__)


def queue_counts(kinds: tuple[Kind, ...]) -> dict[str, dict[str, int]]:
    """Each kind's count per tab, keyed by the tabs' names ("pending", "all", ...)."""
    return {
        kind.value: {tab.value: n for tab, n in status_counts(db.session, kind).items()}
        for kind in kinds
    }


@bp.get("/counts.json")
def counts() -> ResponseReturnValue:
    """The queues' counts; tips' only for those who may see tips."""
    kinds = (Kind.comment, Kind.tip) if has_role(Role.editor) else (Kind.comment,)
    response = jsonify(queue_counts(kinds))
    # Polled every few seconds: a cached copy would show counts that are no longer true.
    response.headers["Cache-Control"] = "no-store"
    return response
