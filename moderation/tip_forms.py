"""The triage desk's forms on a tip's page: each a plain POST form with its CSRF token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional, Regexp

from core import limits


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class AssigneeForm(FlaskForm):
    """Give the tip to someone: a staff member's id, or nothing for nobody."""

    assignee = StringField(
        _l("Assigned to"),
        validators=[Optional(), Regexp(r"^\d{1,12}$", message=_l("Choose someone from the list."))],
        filters=[_strip],
    )

    def assignee_id(self) -> int | None:
        """The chosen staff member's id, or None for nobody."""
        return int(self.assignee.data) if self.assignee.data else None


class LabelForm(FlaskForm):
    """A label to put on the tip (or to take off it)."""

    label = StringField(
        _l("Add a label"),
        validators=[
            DataRequired(_l("Write the label first.")),
            Length(
                max=limits.TIP_LABEL_MAX,
                message=_l("A label can be at most %(max)d characters long."),
            ),
        ],
        filters=[_strip],
    )


class SwitchForm(FlaskForm):
    """Turn a mark (star, keep) on ("1") or off ("0"): stating the wanted state, so a form sent
    twice does not undo itself."""

    value = StringField(validators=[DataRequired(), AnyOf(["0", "1"])])

    def on(self) -> bool:
        """Whether the mark is to be on."""
        return self.value.data == "1"


class PlainForm(FlaskForm):
    """A button and its CSRF token, nothing else (mark as unread)."""


class TipNoteForm(FlaskForm):
    """An internal note on a tip, for colleagues; sealed like the tip."""

    body = TextAreaField(
        _l("Internal note"),
        validators=[
            DataRequired(_l("Write the note first.")),
            Length(
                max=limits.TIP_MESSAGE_MAX,
                message=_l("A note can be at most %(max)d characters long."),
            ),
        ],
        filters=[_strip],
    )
