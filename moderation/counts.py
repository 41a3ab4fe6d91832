"""How many submissions wait in each queue, as JSON, for the tab bar to refresh itself."""

from __future__ import annotations

from flask import Blueprint, g, jsonify
from flask.typing import ResponseReturnValue

from core.db import db
from core.enums import Kind, Role
from moderation.access import has_role
from moderation.review import Tab, status_counts

bp = Blueprint("counts", __name__)


def request_counts(kind: Kind) -> dict[Tab, int]:
    """The counts of `kind`, read once per request (the heading and the navigation share them)."""
    cached: dict[Kind, dict[Tab, int]] = g.setdefault("queue_counts", {})
    if kind not in cached:
        cached[kind] = status_counts(db.session, kind)
    return cached[kind]


def queue_counts(kinds: tuple[Kind, ...]) -> dict[str, dict[str, int]]:
    """Each kind's count per tab, keyed by the tabs' names ("pending", "all", ...)."""
    return {kind.value: {tab.value: n for tab, n in request_counts(kind).items()} for kind in kinds}


@bp.get("/counts.json")
def counts() -> ResponseReturnValue:
    """The queues' counts; tips' only for those who may see tips."""
    kinds = (Kind.comment, Kind.tip) if has_role(Role.editor) else (Kind.comment,)
    response = jsonify(queue_counts(kinds))
    # Polled every few seconds: a cached copy would show counts that are no longer true.
    response.headers["Cache-Control"] = "no-store"
    return response
