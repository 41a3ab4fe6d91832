"""Changing one's e-mail preferences from the link in a digest or tip alert, without logging in.

The link's token (worker.digest_delivery.preferences_token) is signed, expires and names the
staff member; its salt differs from the unsubscribe link's, so neither passes for the other. The
page is the logged-in one (moderation.digest_settings), CSRF included: unlike the one-click
unsubscribe, this is a form the person opens and submits in a browser.
"""

from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from core.app import current_settings
from core.db import db
from core.models import StaffUser
from moderation.digest_settings import show_and_save
from worker.digest_delivery import read_preferences_token

bp = Blueprint("preference_link", __name__)


@bp.route("/preferences/<token>", methods=["GET", "POST"])
def preferences(token: str) -> ResponseReturnValue:
    """Show and save the e-mail preferences of the staff member the token names."""
    staff_id = read_preferences_token(current_settings(), token)
    staff = db.session.get(StaffUser, staff_id) if staff_id is not None else None
    # A deactivated account gets no e-mails; an old link must not let it change anything.
    if staff is None or not staff.is_active:
        page = render_template(
            "error.html",
            title=_("This link does not work"),
            message=_(
                "The preferences link is damaged or has expired. Use the link in a recent "
                "e-mail, or change your preferences after logging in."
            ),
            code=400,
        )
        return page, 400
    return show_and_save(staff, url_for(".preferences", token=token), by_link=True)
