"""The tip form. Nothing about a tip or its sender is logged, and its content is sealed."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from core.app import current_settings
from core.db import db
from core.enums import Kind
from intake.forms import TipForm
from intake.submissions import decoy_ref, record_tip

bp = Blueprint("tips", __name__)


@bp.get("/tip")
def form() -> str:
    """The tip form, with advice for sources before they write."""
    return render_template("tip.html", form=TipForm())


@bp.post("/tip")
def send() -> ResponseReturnValue:
    """Take a tip: validate, seal, store and commit; answer with a receipt."""
    form = TipForm()
    settings = current_settings()
    if form.honeypot_filled():
        return _receipt(decoy_ref(settings.hash_key, Kind.tip))
    if not form.validate():
        return render_template("tip.html", form=form), 422
    ref = record_tip(
        db.session,
        settings,
        text=form.text.data,
        contact=form.contact.data or None,
        name=form.name.data or None,
    )
    # Committed; the sweeper hands it to the workers (see articles.comment).
    return _receipt(ref)


def _receipt(ref: str) -> ResponseReturnValue:
    # 303: the browser fetches the receipt with GET, so reloading it never sends the form again.
    # "#main" replaces the form's own fragment (browsers would carry it over) and puts the
    # receipt's content in focus for screen readers.
    return redirect(url_for("receipts.show", ref=ref, _anchor="main"), 303)
