"""A tip's files, for editors and admins: the list on the tip's page, and the download."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from flask import Blueprint, abort, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import insert

from core import attachments, tipkeys
from core.app import current_settings
from core.db import db, execute_alone, utcnow
from core.enums import Role
from core.errors import error_page
from core.models import Attachment, AuditEvent, Submission
from moderation.access import current_staff, ensure_role, has_role
from moderation.tip_access import current_tip_keys

bp = Blueprint("tip_files", __name__, url_prefix="/tips")


@bp.before_request
def editors_only() -> None:
    """Tips' files, like tips, are closed to moderators."""
    ensure_role(Role.editor)


def no_key_message() -> str:
    """What an editor whose login unlocked no tip key is told."""
    return _(
        "Your login holds no tip key, so this file cannot be opened. Log out and in again; "
        "if that does not help, ask an admin to grant you access to tips."
    )


@dataclass(frozen=True)
class TipFiles:
    """A tip's files as an editor may see them, or why they cannot."""

    files: list[attachments.FileInfo] = field(default_factory=list)
    stored: int = 0  # how many files the tip has, opened or not
    problem: str | None = None


@bp.app_template_global("tip_files")
def tip_files(submission: Submission) -> TipFiles:
    """The files of `submission` for the tip page (templates: `tip_files(submission)`)."""
    rows = attachments.of_submission(db.session, submission.id)
    if not rows or not has_role(Role.editor):
        return TipFiles()
    keys = current_tip_keys(db.session, current_staff())
    if not keys:
        return TipFiles(stored=len(rows), problem=no_key_message())
    files = attachments.describe(keys, rows)
    problem = None
    if len(files) < len(rows):
        problem = _("Some files are sealed to a tip key your login does not hold.")
    return TipFiles(files=files, stored=len(rows), problem=problem)


@bp.app_template_global("tip_file_url")
def tip_file_url(submission: Submission, file: attachments.FileInfo) -> str:
    """Where an editor downloads one of a tip's files."""
    return url_for("tip_files.download", submission_id=submission.id, attachment_id=file.id)


@bp.app_template_global("file_size")
def file_size(size: int) -> str:
    """A size in bytes as people read it."""
    return attachments.human_size(size)


@bp.get("/<int:submission_id>/files/<int:attachment_id>")
def download(submission_id: int, attachment_id: int) -> ResponseReturnValue:
    """One of a tip's files, cleaned and decrypted, as a download (never shown inline)."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.submission_id != submission_id:
        abort(404)
    keys = current_tip_keys(db.session, current_staff())
    if not keys:
        return error_page(403, no_key_message())
    try:
        opened = attachments.read(keys, current_settings().instance_path, attachment)
    except tipkeys.TipKeyError:
        return error_page(403, _("This file is sealed to a tip key your login does not hold."))
    except FileNotFoundError:
        return error_page(404, _("This file is no longer stored."))
    _audit_download(submission_id, attachment_id)
    response = send_file(
        io.BytesIO(opened.data),
        mimetype=opened.content_type,
        as_attachment=True,
        download_name=attachments.safe_name(opened.name),
        conditional=False,
        etag=False,
        last_modified=None,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Decrypted content: no cache on the way or in the browser keeps a copy.
    response.headers["Cache-Control"] = "no-store"
    # Should a browser ever render it anyway, it runs nothing and reaches nothing.
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


# The audit log's action for a tip's file downloaded by an editor.
DOWNLOAD_ACTION = "tip_file"


def _audit_download(submission_id: int, attachment_id: int) -> None:
    # Who took a copy of a source's file, and when: a GET's session only reads, so the row is
    # written in its own short transaction. The file's name is sealed and is not repeated here.
    staff = current_staff()
    execute_alone(
        db.session,
        insert(AuditEvent)
        .values(
            at=utcnow(),
            actor_id=staff.id,
            actor_label=staff.email,
            action=DOWNLOAD_ACTION,
            submission_id=submission_id,
            reason=f"file {attachment_id}",
        )
        .returning(AuditEvent.id),
    )
