"""A source's way back: their codename shown once, and the page where they come back with it.

What the browser holds, and why:

- **The codename, for one redirect.** After a tip is sent the browser is redirected (303, so a
  reload never sends the tip twice) to a page that shows the codename once. Between the two the
  codename rides in the session cookie, encrypted under a key derived from the site's secret
  (Flask's cookie is only signed: its content is readable by whoever copies it), and is removed
  from the session as it is shown. It is never in a URL or a log.
- **A visit's key.** Typing the codename opens a visit: the tip's id and the reply key derived
  from the codename are kept in the session cookie, encrypted the same way, for
  VISIT_SECONDS after the last page of the visit, in a cookie that ends with the browser
  session. Re-deriving the key on every POST would make the source type their codename again
  for each follow-up and pay the slow hash each time. The cookie never holds the codename
  (so a copied cookie cannot open a later visit), only a key that opens this tip's replies,
  and only through this server (it is encrypted) and only until the visit ends; "Leave" ends
  it at once.

Guessing codenames is throttled per network and for the whole site (CODENAME_LIMIT and
CODENAME_SITE_LIMIT) on top of the site's own allowance for every POST. A wrong codename and
an expired one get the same page, after the same slow hash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as browser_session
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from nacl.exceptions import CryptoError
from nacl.secret import SecretBox
from sqlalchemy import func, select
from wtforms import MultipleFileField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from core import attachments, codenames, limits, tipkeys
from core.app import current_settings
from core.db import db, utcnow
from core.enums import TipMessageKind
from core.models import Attachment, Submission, TipDetails, TipMessage
from core.ratelimit import RateLimit, client_key
from intake.forms import (
    TOO_LONG,
    HoneypotForm,
    Readable,
    TipForm,
    cleaned_uploads,
    multiline,
    one_line,
)

bp = Blueprint("sources", __name__)

# How many codenames one network may try, and the whole site. A codename has 85+ bits: the
# limits are there so that nobody can even start, not because a guess could plausibly work.
# The site-wide limit stops guessing spread over many networks without locking sources out
# when a few networks flood.
CODENAME_LIMIT = "10 per minute;50 per day"
CODENAME_SITE_LIMIT = "120 per minute;3000 per hour"
# How long a visit lasts after its last page.
VISIT_SECONDS = 30 * 60
# The longest thing we accept in the codename field: ten words of the longest kind, and room.
CODENAME_FIELD_MAX = 200
# A follow-up may carry files, as the tip could (intake.tips sets the same for the tip form).
FOLLOWUP_REQUEST_MAX = limits.ATTACHMENTS_TOTAL_BYTES_MAX + limits.INTAKE_MAX_REQUEST_BYTES

_NEW_CODENAME = "source_codename"
_VISIT = "source_visit"


class CodenameForm(HoneypotForm):
    """The codename a source types to come back."""

    codename = StringField(
        _l("Your codename"),
        filters=[one_line],
        validators=[
            DataRequired(message=_l("Enter the codename you were given when you sent your tip.")),
            Length(max=CODENAME_FIELD_MAX, message=TOO_LONG),
        ],
    )


class FollowupForm(HoneypotForm):
    """Something more a source sends about their tip: a message, files, or both."""

    text = TextAreaField(
        _l("Write to the newsroom"),
        filters=[multiline],
        validators=[Readable(), Length(max=limits.TIP_MESSAGE_MAX, message=TOO_LONG)],
    )
    # The tip form's field, limits and wording (core.attachments cleans and encrypts them).
    files = MultipleFileField(
        _l("Files (optional)"), description=TipForm.files.kwargs.get("description")
    )
    # Filled in by validate_files: what will be encrypted and stored.
    cleaned_files: tuple[attachments.CleanFile, ...] = ()

    def validate_files(self, field: MultipleFileField) -> None:
        """Each file recognised by its content and cleaned before storing, as with a tip."""
        self.cleaned_files = tuple(cleaned_uploads(field.data))

    def validate(self, extra_validators: Any = None) -> bool:
        """The fields, and that there is something to send: a message or a file."""
        valid: bool = super().validate(extra_validators)
        if valid and not self.text.data and not self.cleaned_files:
            self.text.errors = [_("Write a message or choose a file first.")]
            return False
        return valid


# --- the limits ------------------------------------------------------------------------------


@bp.url_value_preprocessor
def room_for_files(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Let a follow-up's POST carry files (set before anything reads the body: 413 beyond)."""
    if endpoint == "sources.followup":
        request.max_content_length = FOLLOWUP_REQUEST_MAX


@dataclass(frozen=True)
class GuessLimits:
    """The two allowances for codename guesses: per network, and for the whole site."""

    per_network: RateLimit
    site: RateLimit


def set_guess_limits(
    app: Flask, per_network: str = CODENAME_LIMIT, site: str = CODENAME_SITE_LIMIT
) -> None:
    """Count `app`'s codename guesses against these rules (the defaults unless told)."""
    settings = app.config["TIPLINE"]

    def limit(rule: str, scope: str) -> RateLimit:
        return RateLimit(
            rule, settings.ratelimit_storage_url, settings.ratelimit_prefix, scope, "codenames"
        )

    app.extensions["codename_limits"] = GuessLimits(
        limit(per_network, "codename"), limit(site, "codename-site")
    )


@bp.record_once
def _set_up_limits(state: BlueprintSetupState) -> None:
    set_guess_limits(cast(Flask, state.app))


def _guess_allowed() -> int | None:
    """Count one codename guess: None if allowed, else the seconds to wait."""
    guess_limits: GuessLimits = current_app.extensions["codename_limits"]
    wait = guess_limits.per_network.hit(client_key())
    if wait is None:
        wait = guess_limits.site.hit("everyone")
    return wait


# --- what the browser holds ------------------------------------------------------------------


def _box() -> SecretBox:
    secret = str(current_app.secret_key).encode()
    return SecretBox(hmac.new(secret, b"tipline source session", hashlib.sha256).digest())


def _stash(name: str, data: dict[str, Any]) -> None:
    browser_session[name] = bytes(_box().encrypt(json.dumps(data).encode())).hex()


def _unstash(name: str, *, remove: bool = False) -> dict[str, Any] | None:
    value = browser_session.pop(name, None) if remove else browser_session.get(name)
    if not isinstance(value, str):
        return None
    try:
        data = json.loads(_box().decrypt(bytes.fromhex(value)))
    except (CryptoError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class Visit:
    """A source's visit: their tip and the key that opens the newsroom's replies."""

    submission_id: int
    private_key: bytes


def _start_visit(access: codenames.SourceAccess) -> None:
    _stash(
        _VISIT,
        {
            "id": access.submission_id,
            "key": access.private_key.hex(),
            "until": time.time() + VISIT_SECONDS,
        },
    )


def _current_visit() -> Visit | None:
    data = _unstash(_VISIT)
    if data is None or float(data.get("until", 0)) < time.time():
        browser_session.pop(_VISIT, None)
        return None
    visit = Visit(int(data["id"]), bytes.fromhex(str(data["key"])))
    # Sliding: the visit lasts VISIT_SECONDS after its last page.
    _start_visit(codenames.SourceAccess(visit.submission_id, visit.private_key))
    return visit


def _end_visit() -> None:
    browser_session.pop(_VISIT, None)


# --- the codename, shown once ----------------------------------------------------------------


def show_codename(ref: str, codename: str) -> ResponseReturnValue:
    """Send the browser to the page that shows `codename` once (with the receipt `ref`)."""
    _stash(_NEW_CODENAME, {"ref": ref, "codename": codename})
    # 303, as for every receipt: reloading the next page never sends the tip again.
    return redirect(url_for("sources.codename", _anchor="main"), 303)


@bp.get("/tip/codename")
def codename() -> ResponseReturnValue:
    """The new codename, once: the session forgets it as it is shown."""
    data = _unstash(_NEW_CODENAME, remove=True)
    if data is None:
        return render_template("source_codename_gone.html")
    words = str(data["codename"]).split()
    return render_template(
        "source_codename.html", ref=str(data["ref"]), codename=" ".join(words), words=words
    )


# --- coming back -----------------------------------------------------------------------------


@bp.get("/tip/return")
def come_back() -> ResponseReturnValue:
    """The source's page during a visit; otherwise the form to type the codename."""
    visit = _current_visit()
    if visit is None:
        return render_template("source_return.html", form=CodenameForm(formdata=None))
    return _source_page(visit, FollowupForm(formdata=None))


@bp.post("/tip/return")
def enter() -> ResponseReturnValue:
    """Check a codename (throttled); open a visit if it is a working one."""
    wait = _guess_allowed()
    if wait is not None:
        return _too_many(wait)
    form = CodenameForm()
    if form.honeypot_filled():
        return _refused(form)
    if not form.validate():
        return render_template("source_return.html", form=form), 422
    access = codenames.recognise(db.session, current_settings().hash_key, form.codename.data or "")
    if access is None:
        return _refused(form)
    browser_session.pop(_NEW_CODENAME, None)
    _start_visit(access)
    return redirect(url_for("sources.come_back", _anchor="main"), 303)


@bp.post("/tip/return/followup")
def followup() -> ResponseReturnValue:
    """Send the newsroom something more about the tip, sealed like the tip itself."""
    visit = _current_visit()
    if visit is None:
        return _visit_over()
    form = FollowupForm()
    if form.honeypot_filled():
        return redirect(url_for("sources.come_back", _anchor="thread"), 303)
    if not form.validate():
        return _source_page(visit, form, 422)
    details = db.session.get(TipDetails, visit.submission_id)
    key = tipkeys.current_public_key(db.session)
    if details is None or details.codename_hash is None:
        _end_visit()
        return _visit_over()
    if key is None:
        title = _("Messages cannot be sent now")
        message = _("The newsroom cannot receive messages right now. Nothing was stored.")
        return render_template("error.html", code=503, title=title, message=message), 503
    add_followup(visit.submission_id, key, form.text.data or "", form.cleaned_files)
    flash(_("Your message was sent. Only the newsroom's editors can read it."))
    return redirect(url_for("sources.come_back", _anchor="thread"), 303)


@bp.post("/tip/return/leave")
def leave() -> ResponseReturnValue:
    """End the visit: the browser forgets the key."""
    _end_visit()
    flash(_("You have left. To come back, you will need your codename."))
    return redirect(url_for("sources.come_back", _anchor="main"), 303)


def add_followup(
    submission_id: int,
    key: tipkeys.PublicTipKey,
    text: str,
    files: tuple[attachments.CleanFile, ...] = (),
) -> TipMessage:
    """Store a source's follow-up and its files sealed to the tip key, mark the tip active.

    Commits: the message and its files are stored whole or not at all.
    """
    now = utcnow()
    message = TipMessage(
        submission_id=submission_id,
        kind=TipMessageKind.followup,
        tip_key_id=key.id,
        sealed=tipkeys.seal_to(key, {"text": text}),
        created_at=now,
    )
    db.session.add(message)
    db.session.flush()
    written: list[Path] = []
    submission = db.session.get(Submission, submission_id)
    if files and submission is not None:
        folder = current_settings().instance_path
        written = attachments.store(db.session, folder, submission, files, key, message.id)
    details = db.session.get(TipDetails, submission_id)
    if details is not None:
        # Editors who read the tip before now see it as unread again.
        details.last_activity_at = now
    with attachments.kept_if_committed(written):
        db.session.commit()
    return message


def files_per_message(submission_id: int) -> dict[int, int]:
    """How many files came with each of a tip's messages, by message id."""
    rows = db.session.execute(
        select(Attachment.message_id, func.count())
        .where(Attachment.submission_id == submission_id, Attachment.message_id.is_not(None))
        .group_by(Attachment.message_id)
    )
    return {message_id: int(count) for message_id, count in rows if message_id is not None}


@dataclass(frozen=True)
class ThreadEntry:
    """One message as the source sees it: a reply opened, or a note that they wrote."""

    from_newsroom: bool
    when: str
    when_iso: str
    text: str | None
    files: int = 0


def _source_page(visit: Visit, form: FollowupForm, code: int = 200) -> ResponseReturnValue:
    details = db.session.get(TipDetails, visit.submission_id)
    submission = db.session.get(Submission, visit.submission_id)
    if details is None or submission is None or details.codename_hash is None:
        _end_visit()
        return _visit_over()
    rows = db.session.scalars(
        select(TipMessage)
        .where(
            TipMessage.submission_id == visit.submission_id,
            TipMessage.kind.in_((TipMessageKind.followup, TipMessageKind.reply)),
        )
        .order_by(TipMessage.id)
    )
    files = files_per_message(visit.submission_id)
    entries = [_entry(row, visit.private_key, files.get(row.id, 0)) for row in rows]
    body = render_template(
        "source_page.html",
        form=form,
        ref=submission.ref,
        sent_at=_when(submission.created_at),
        sent_iso=submission.created_at.isoformat(),
        entries=entries,
        replies=sum(1 for entry in entries if entry.from_newsroom),
        expires_at=_when(details.codename_expires_at) if details.codename_expires_at else None,
    )
    return body, code


def _entry(row: TipMessage, private_key: bytes, files: int) -> ThreadEntry:
    text: str | None = None
    if row.kind is TipMessageKind.reply and row.sealed_for_source is not None:
        try:
            text = str(codenames.open_for_source(private_key, row.sealed_for_source).get("text"))
        except codenames.CodenameError:
            text = None
    return ThreadEntry(
        from_newsroom=row.kind is TipMessageKind.reply,
        when=_when(row.created_at),
        when_iso=row.created_at.isoformat(),
        text=text,
        files=files,
    )


def _when(moment: datetime) -> str:
    return cast(str, format_datetime(moment, "medium"))


def _refused(form: CodenameForm) -> ResponseReturnValue:
    # The same words for a codename that never existed, one that expired and one that was
    # mistyped: the page must not tell a guesser which codenames were real.
    form.codename.errors = [
        _(
            "This codename does not work. Check each word and try again. Codenames that never "
            "got a reply stop working after some days."
        )
    ]
    return render_template("source_return.html", form=form), 422


def _too_many(wait: int) -> ResponseReturnValue:
    minutes = max(1, math.ceil(wait / 60))
    message = _(
        "Too many codenames were tried from your connection or on this site. To protect "
        "sources, wait %(minutes)d minutes and try again.",
        minutes=minutes,
    )
    body = render_template("source_return.html", form=CodenameForm(formdata=None), too_many=message)
    return body, 429, {"Retry-After": str(wait)}


def _visit_over() -> ResponseReturnValue:
    flash(_("Your visit has ended. Enter your codename again to continue."))
    return redirect(url_for("sources.come_back", _anchor="main"), 303)
