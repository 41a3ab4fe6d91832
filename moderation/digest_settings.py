"""A staff member's own e-mail preferences: the digest's schedule and language, and tip alerts.

Tip alerts are offered to editors and admins only; a moderator's form has no such field, and a
forged request asking for them is refused (moderators never learn when tips arrive).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import BooleanField, Field, SelectField
from wtforms.validators import InputRequired, NumberRange, ValidationError

from core import limits
from core.app import current_settings
from core.db import db, utcnow
from core.enums import DigestFrequency, Role, TipAlerts
from core.i18n import LANGUAGE_NAMES
from core.models import AuditEvent, DigestPreference, StaffUser
from moderation.access import current_staff

bp = Blueprint("digest_settings", __name__)

# The audit log's action for a staff member's own e-mail preferences.
AUDIT_ACTION = "digest_preferences"
DEFAULT_TIMEZONE = "UTC"
# The preference columns the form edits, in the order the audit reason lists them.
FIELDS = ("frequency", "hour", "weekday", "timezone", "always", "locale", "tip_alerts")

FREQUENCY_LABELS = {
    DigestFrequency.off: _l("No digest"),
    DigestFrequency.hourly: _l("Every hour"),
    DigestFrequency.daily: _l("Every day"),
    DigestFrequency.weekly: _l("Every week"),
}
TIP_ALERT_LABELS = {
    TipAlerts.off: _l("No tip alerts"),
    TipAlerts.each: _l("Each new tip"),
    TipAlerts.urgent: _l("Only urgent tips"),
}
WEEKDAY_LABELS = (
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
)


@lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """Every IANA time zone this system knows, sorted."""
    return tuple(sorted(available_timezones()))


class KnownTimezone:
    """Accepts only a time zone of `timezone_names()`."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if field.data not in timezone_names():
            raise ValidationError(_("Choose a time zone from the list."))


class DigestPreferencesForm(FlaskForm):
    """How often the digest comes, when, in which zone and language; and tip alerts."""

    frequency = SelectField(
        _l("Digest"), choices=[(f.value, label) for f, label in FREQUENCY_LABELS.items()]
    )
    # Selects, but checked as numbers so that a bad value gets a clear message.
    hour = SelectField(
        _l("At (local time)"),
        choices=[(h, f"{h:02d}:00") for h in range(24)],
        coerce=int,
        validate_choice=False,
        validators=[
            InputRequired(_l("Choose an hour.")),
            NumberRange(0, 23, _l("Enter an hour from %(min)s to %(max)s.")),
        ],
    )
    weekday = SelectField(
        _l("On (weekly digest)"),
        choices=list(enumerate(WEEKDAY_LABELS)),
        coerce=int,
        validate_choice=False,
        validators=[
            InputRequired(_l("Choose a day.")),
            NumberRange(0, 6, _l("Choose a day of the week.")),
        ],
    )
    timezone = SelectField(_l("Time zone"), validate_choice=False, validators=[KnownTimezone()])
    always = BooleanField(_l("Send the digest even when there is nothing to report"))
    locale = SelectField(_l("Language of the e-mails"))
    tip_alerts = SelectField(
        _l("Tip alerts"), choices=[(t.value, label) for t, label in TIP_ALERT_LABELS.items()]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timezone.choices = [(name, name) for name in timezone_names()]
        locales = current_settings().locales
        self.locale.choices = [(code, LANGUAGE_NAMES.get(code, code)) for code in locales]


def preference_for(session: Session, user: StaffUser) -> DigestPreference:
    """`user`'s stored preferences, or the defaults (not added to the session) if none."""
    pref = session.get(DigestPreference, user.id)
    if pref is not None:
        return pref
    return DigestPreference(
        staff_id=user.id,
        frequency=DigestFrequency.off,
        hour=8,
        weekday=0,
        timezone=DEFAULT_TIMEZONE,
        always=False,
        tip_alerts=TipAlerts.off,
        locale=None,
    )


def save_preferences(session: Session, user: StaffUser, values: dict[str, Any]) -> list[str]:
    """Store `values` as `user`'s preferences (creating the row), audit what changed; commits.

    Tip alerts other than "off" are refused (ValueError) for a moderator.
    """
    if user.role not in (Role.editor, Role.admin) and values.get("tip_alerts") not in (
        None,
        TipAlerts.off,
    ):
        raise ValueError("tip alerts are for editors and admins")
    row = session.get(DigestPreference, user.id)
    before = preference_for(session, user)
    old = {name: getattr(before, name) for name in FIELDS}
    if row is None:
        row = before
        session.add(row)
    changed = [name for name in FIELDS if name in values and values[name] != old[name]]
    for name in changed:
        setattr(row, name, values[name])
    if changed or row.updated_at is None:
        row.updated_at = utcnow()
    if changed:
        reason = "; ".join(
            f"{name}: {_show(old[name])} → {_show(values[name])}" for name in changed
        )
        session.add(
            AuditEvent(
                at=utcnow(),
                actor_id=user.id,
                actor_label=user.email,
                action=AUDIT_ACTION,
                reason=reason[: limits.REASON_MAX],
            )
        )
    session.commit()
    return changed


def _show(value: Any) -> str:
    if value is None:
        return "-"
    return str(getattr(value, "value", value))


@bp.route("/account/digests", methods=["GET", "POST"])
def preferences() -> ResponseReturnValue:
    """Show and save the logged-in staff member's e-mail preferences."""
    return show_and_save(current_staff(), url_for(".preferences"), by_link=False)


def show_and_save(user: StaffUser, here: str, by_link: bool) -> ResponseReturnValue:
    """The preferences page for `user` at `here`: GET shows the form, POST saves it.

    Also serves the signed link in every e-mail (`by_link`: no login, so no logged-in links).
    """
    offers_alerts = user.role in (Role.editor, Role.admin)
    if request.method == "GET":
        pref = preference_for(db.session, user)
        form = DigestPreferencesForm(
            formdata=None,
            frequency=pref.frequency.value,
            hour=pref.hour,
            weekday=pref.weekday,
            timezone=pref.timezone,
            always=pref.always,
            locale=pref.locale or current_settings().default_locale,
            tip_alerts=pref.tip_alerts.value,
        )
        return _render(form, offers_alerts, here, by_link, user.email)
    form = DigestPreferencesForm()
    if not offers_alerts:
        # Not on a moderator's page; a request that asks for alerts anyway was forged.
        if request.form.get("tip_alerts", TipAlerts.off.value) != TipAlerts.off.value:
            abort(403)
        form.tip_alerts.data = TipAlerts.off.value
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _render(form, offers_alerts, here, by_link, user.email, 422)
    values: dict[str, Any] = {
        "frequency": DigestFrequency(form.frequency.data),
        "hour": form.hour.data,
        "weekday": form.weekday.data,
        "timezone": form.timezone.data,
        "always": bool(form.always.data),
        "locale": form.locale.data,
    }
    # A moderator's "off" also clears what they may have chosen as an editor before.
    values["tip_alerts"] = TipAlerts(form.tip_alerts.data) if offers_alerts else TipAlerts.off
    changed = save_preferences(db.session, user, values)
    flash(_("Your e-mail preferences are saved.") if changed else _("Nothing changed."), "success")
    return redirect(here, code=303)


def _render(
    form: DigestPreferencesForm,
    offers_alerts: bool,
    here: str,
    by_link: bool,
    email: str,
    code: int = 200,
) -> ResponseReturnValue:
    page = render_template(
        "account_digests.html",
        form=form,
        offers_alerts=offers_alerts,
        here=here,
        by_link=by_link,
        email=email,
    )
    return page, code
