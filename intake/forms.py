"""The public site's forms: a comment, a tip. Limits come from core.limits, defined once."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import FileStorage
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    MultipleFileField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import HiddenInput

from core import attachments, limits
from core.enums import FlagReason, Kind
from core.flags import REASON_LABELS
from core.text import clean_line, clean_text

TOO_LONG = _l("Use at most %(max)d characters (you wrote %(length)d).")
TOO_SHORT = _l("Write at least %(min)d characters.")
NOTIFY_NEEDS_EMAIL = _l("Enter your e-mail address to be told of replies, or untick the box.")


class Readable:
    """Refuses text holding U+FFFD: bytes that were not valid UTF-8 and could not be decoded."""

    def __init__(self) -> None:
        self.message = _l("This contains characters that could not be read. Please retype it.")

    def __call__(self, form: Any, field: Any) -> None:
        if field.data and "\ufffd" in field.data:
            raise ValidationError(self.message)


def multiline(value: str | None) -> str | None:
    """Filter for multi-line text: normalised (core.text.clean_text) and trimmed."""
    return clean_text(value).strip() if value is not None else None


def one_line(value: str | None) -> str | None:
    """Filter for one-line text: normalised, spaces collapsed, trimmed."""
    return clean_line(value) if value is not None else None


def body_validators(kind: Kind, required: str) -> list[Any]:
    """The validators of a submission's body: present, readable, within BODY[kind]."""
    limit = limits.BODY[kind]
    return [
        DataRequired(message=required),
        Readable(),
        Length(min=limit.min, message=TOO_SHORT),
        Length(max=limit.max, message=TOO_LONG),
    ]


class HoneypotForm(FlaskForm):
    """A form with a field people never see (hidden by the stylesheet) and bots fill in."""

    class Meta:
        # CSRFProtect (core.app) checks the token of every POST before any view runs; a form of
        # its own would also sign a fresh token on each submission, a cost on the hot path for
        # nothing. Templates put the token in with csrf_token().
        csrf = False

    # A neutral name that browsers' autofill does not recognise, so that it stays empty for
    # people whose browser fills forms for them.
    topic = StringField(_l("Leave this field empty"))

    def honeypot_filled(self) -> bool:
        """Whether the hidden field was filled in: then the sender is a bot."""
        return bool(self.topic.data)


class CommentForm(HoneypotForm):
    """A reader's comment on an article."""

    author_name = StringField(
        _l("Display name"),
        filters=[one_line],
        validators=[
            DataRequired(message=_l("Enter the name to show with your comment.")),
            Readable(),
            Length(max=limits.NAME_MAX, message=TOO_LONG),
        ],
    )
    email = EmailField(
        _l("E-mail (optional)"),
        filters=[one_line],
        validators=[
            Optional(),
            Readable(),
            Length(max=limits.EMAIL_MAX, message=TOO_LONG),
            Email(message=_l("Enter an e-mail address like name@example.com, or leave it empty.")),
        ],
    )
    body = TextAreaField(
        _l("Your comment"),
        filters=[multiline],
        validators=body_validators(Kind.comment, _l("Write your comment.")),
    )
    # The comment this one answers, if it is a reply; record_comment checks it is one readers
    # can see on the same article. Bounded so that a forged value cannot overflow the column.
    parent_id = IntegerField(
        _l("Reply"),
        widget=HiddenInput(),
        validators=[Optional(), NumberRange(min=1, max=2**31 - 1)],
    )
    notify_replies = BooleanField(_l("Email me when someone replies"))

    def validate(self, extra_validators: Any = None) -> bool:
        """The fields' own checks, then: notifications need an address to be sent to."""
        valid = super().validate(extra_validators)
        if self.notify_replies.data and not self.email.data and not self.email.errors:
            self.email.errors = [*self.email.errors, NOTIFY_NEEDS_EMAIL]
            return False
        return valid


class TipForm(HoneypotForm):
    """A tip to the newsroom: its text, and optionally how to reach the source and their name."""

    text = TextAreaField(
        _l("What do you want to tell us?"),
        filters=[multiline],
        validators=body_validators(Kind.tip, _l("Write what you want to tell us.")),
    )
    contact = StringField(
        _l("How can we reach you? (optional)"),
        filters=[one_line],
        validators=[Optional(), Readable(), Length(max=limits.CONTACT_MAX, message=TOO_LONG)],
    )
    name = StringField(
        _l("Your name (optional)"),
        filters=[one_line],
        validators=[Optional(), Readable(), Length(max=limits.NAME_MAX, message=TOO_LONG)],
    )
    files = MultipleFileField(
        _l("Files (optional)"),
        description=_l(
            "Up to %(count)d files, at most %(each)d MB each and %(total)d MB in all. We accept "
            "%(accepted)s. We remove their metadata before storing them.",
            count=limits.ATTACHMENTS_MAX,
            each=limits.ATTACHMENT_BYTES_MAX // (1024 * 1024),
            total=limits.ATTACHMENTS_TOTAL_BYTES_MAX // (1024 * 1024),
            accepted=attachments.ACCEPTED,
        ),
    )
    # Filled in by validate_files: what will be encrypted and stored.
    cleaned_files: tuple[attachments.CleanFile, ...] = ()

    def validate_files(self, field: MultipleFileField) -> None:
        """Each file recognised by its content and cleaned (core.attachments) before storing."""
        self.cleaned_files = tuple(cleaned_uploads(field.data))


def cleaned_uploads(data: Any) -> list[attachments.CleanFile]:
    """The chosen files (browsers send an empty part when there is none), checked and cleaned.

    Sizes are checked before any file is read: an oversized one is refused unread.
    """
    chosen = [f for f in data or [] if isinstance(f, FileStorage) and f.filename]
    sizes = [(f.filename or "", _stream_size(f)) for f in chosen]
    problems = attachments.check_sizes(sizes)
    if problems:
        raise ValidationError(" ".join(problems))
    try:
        return attachments.prepare([attachments.Upload(f.filename or "", f.read()) for f in chosen])
    except attachments.Refused as exc:
        raise ValidationError(" ".join(str(exc).splitlines())) from None


def _stream_size(file: FileStorage) -> int:
    file.stream.seek(0, 2)
    size = file.stream.tell()
    file.stream.seek(0)
    return size


CHOOSE_REASON = _l("Choose why you are reporting this comment.")


class FlagForm(HoneypotForm):
    """A reader's report of a published comment: a reason, and optionally a few words."""

    # Choices are checked by AnyOf, not by the field, so that a missing or forged value gets
    # one clear message rather than two.
    reason = RadioField(
        _l("Why are you reporting this comment?"),
        choices=[(reason.value, label) for reason, label in REASON_LABELS.items()],
        validate_choice=False,
        validators=[
            InputRequired(message=CHOOSE_REASON),
            AnyOf([r.value for r in FlagReason], message=CHOOSE_REASON),
        ],
    )
    text = TextAreaField(
        _l("Anything to add? (optional)"),
        filters=[multiline],
        validators=[Optional(), Readable(), Length(max=limits.FLAG_TEXT_MAX, message=TOO_LONG)],
    )
