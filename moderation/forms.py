"""The staff site's forms. Labels are lazy so they follow each request's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, PasswordField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, Optional

from core import limits
from core.enums import Status


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = StringField(
        _l("E-mail"),
        validators=[DataRequired(_l("Enter your e-mail address.")), Length(max=limits.EMAIL_MAX)],
        render_kw={"autocomplete": "username", "inputmode": "email", "autocapitalize": "none"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )


class DecisionForm(FlaskForm):
    """Move a submission to another status, naming the version the moderator saw."""

    to = StringField(validators=[InputRequired(), AnyOf([s.value for s in Status])])
    version = IntegerField(validators=[InputRequired()])
    reason = TextAreaField(
        _l("Reason (optional)"), validators=[Optional(), Length(max=limits.REASON_MAX)]
    )
    # Where the decision was made from (a queue page), to go back there.
    next = HiddenField()
