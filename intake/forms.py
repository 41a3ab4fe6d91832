"""The public site's forms: a comment, a tip. Limits come from core.limits, defined once."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, StringField, TextAreaField
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Email,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from core import limits
from core.enums import FlagReason, Kind
from core.flags import REASON_LABELS
from core.text import clean_line, clean_text

TOO_LONG = _l("Use at most %(max)d characters (you wrote %(length)d).")
TOO_SHORT = _l("Write at least %(min)d characters.")


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
