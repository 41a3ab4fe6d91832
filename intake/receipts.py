"""Receipts: a reference and what happens next, never the content."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from core.app import current_settings
from core.db import db
from intake.submissions import find_receipt

bp = Blueprint("receipts", __name__)


@bp.get("/receipts/<ref>")
def show(ref: str) -> str:
    """The receipt for `ref`; 404 if there is no such submission."""
    receipt = find_receipt(db.session, current_settings(), ref)
    if receipt is None:
        abort(404)
    return render_template("receipt.html", receipt=receipt)
