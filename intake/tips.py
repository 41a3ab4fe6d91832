"""The tip form. Nothing about a tip or its sender is logged, and its content is sealed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _

from core import attachments, codenames, limits, tipkeys
from core.app import current_settings
from core.db import db
from core.enums import Kind
from intake import sources
from intake.forms import TipForm
from intake.submissions import RecordedTip, TipsUnavailable, decoy_ref, record_tip

bp = Blueprint("tips", __name__)

# The tip form's request may carry its files; every other stays within the small default. The
# limit is set before anything reads the body (this runs ahead of every before_request hook,
# the CSRF check's included), so a larger upload is cut off with a 413 page.
UPLOAD_REQUEST_MAX = limits.ATTACHMENTS_TOTAL_BYTES_MAX + limits.INTAKE_MAX_REQUEST_BYTES


@bp.url_value_preprocessor
def room_for_files(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Let the tip form's POST carry up to ATTACHMENTS_TOTAL_BYTES_MAX of files."""
    # Only a multipart body can carry files; its text fields stay within MAX_FORM_MEMORY_SIZE.
    if endpoint == "tips.send" and request.mimetype == "multipart/form-data":
        request.max_content_length = UPLOAD_REQUEST_MAX


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
        # A bot gets what a person gets: a reference and a codename (neither stored).
        decoy = decoy_ref(settings.hash_key, Kind.tip)
        return sources.show_codename(decoy, codenames.generate(get_locale()))
    if not form.validate():
        return render_template("tip.html", form=form), 422
    try:
        tip = record_tip(
            db.session,
            settings,
            text=form.text.data,
            contact=form.contact.data or None,
            name=form.name.data or None,
            commit=False,
        )
    except TipsUnavailable:
        return unavailable()
    # The source's way back (intake.sources): only its slow hash is stored; shown once.
    codename = codenames.issue(db.session, settings, tip.details, get_locale())
    written = store_files(tip, form.cleaned_files)
    with attachments.kept_if_committed(written):
        db.session.commit()
    # Committed; the sweeper hands it to the workers (see articles.comment).
    return sources.show_codename(tip.ref, codename)


def store_files(tip: RecordedTip, files: Sequence[attachments.CleanFile]) -> list[Path]:
    """Encrypt and write a new tip's cleaned files with their rows (uncommitted)."""
    key = tipkeys.current_public_key(db.session) if files else None
    if key is None:
        return []
    folder = current_settings().instance_path
    return attachments.store(db.session, folder, tip.details.submission, files, key)


def unavailable() -> ResponseReturnValue:
    """The newsroom has not set up its tip key: say so rather than store what no one can read."""
    title = _("Tips are not open yet")
    message = _(
        "This newsroom is not taking tips through this site yet. Nothing you wrote was stored."
    )
    return render_template("error.html", code=503, title=title, message=message), 503
