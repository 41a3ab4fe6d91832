"""Leaving the e-mail digests from a link in one, without logging in; and failed deliveries.

The link's token (worker.digest_delivery) is signed and expires; it names the staff member, so
the page needs no login. GET only asks to confirm (link scanners fetch links), POST turns the
digest and tip alerts off. Mail clients' one-click unsubscribe (RFC 8058) POSTs with no CSRF
token, so the POST is exempt: the signed token in the address is what authorises it.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from core.app import csrf, current_settings
from core.db import db, utcnow
from core.enums import DeliveryKind, DeliveryStatus, DigestFrequency, Role, TipAlerts
from core.models import AuditEvent, DigestDelivery, DigestPreference, StaffUser
from moderation.access import ensure_role
from worker.digest_delivery import read_unsubscribe_token

bp = Blueprint("unsubscribe", __name__)

AUDIT_ACTION = "digest_unsubscribe"
# How many failed or retrying deliveries the admins' list shows, newest first.
DELIVERIES_SHOWN = 100


def _staff_or_400(token: str) -> StaffUser | ResponseReturnValue:
    staff_id = read_unsubscribe_token(current_settings(), token)
    staff = db.session.get(StaffUser, staff_id) if staff_id is not None else None
    if staff is None:
        page = render_template(
            "error.html",
            title=_("This link does not work"),
            message=_(
                "The unsubscribe link is damaged or has expired. Use the link in a recent "
                "digest, or change your preferences after logging in."
            ),
            code=400,
        )
        return page, 400
    return staff


@bp.get("/unsubscribe/<token>")
def confirm(token: str) -> ResponseReturnValue:
    """Ask to confirm: unsubscribing happens only on the POST."""
    staff = _staff_or_400(token)
    if not isinstance(staff, StaffUser):
        return staff
    return render_template("unsubscribe.html", email=staff.email, done=False)


@bp.post("/unsubscribe/<token>")
@csrf.exempt
def unsubscribe(token: str) -> ResponseReturnValue:
    """Turn the digest and tip alerts off for the token's staff member, and say so."""
    staff = _staff_or_400(token)
    if not isinstance(staff, StaffUser):
        return staff
    pref = db.session.get(DigestPreference, staff.id)
    if pref is None:
        pref = DigestPreference(staff_id=staff.id)
        db.session.add(pref)
    pref.frequency = DigestFrequency.off
    pref.tip_alerts = TipAlerts.off
    pref.updated_at = utcnow()
    db.session.add(
        AuditEvent(
            at=utcnow(),
            actor_id=staff.id,
            actor_label=staff.email,
            action=AUDIT_ACTION,
            reason="unsubscribe link in an e-mail",
        )
    )
    db.session.commit()
    return render_template("unsubscribe.html", email=staff.email, done=True)


@bp.get("/settings/deliveries")
def deliveries() -> ResponseReturnValue:
    """For admins: e-mails that failed or wait for a retry (who, period, attempts, error)."""
    ensure_role(Role.admin)
    rows = db.session.execute(
        select(DigestDelivery, StaffUser.email)
        .join(StaffUser, StaffUser.id == DigestDelivery.staff_id)
        .where(
            DigestDelivery.status.in_([DeliveryStatus.failed, DeliveryStatus.pending]),
            # A pending row with no error is being sent right now, not stuck.
            DigestDelivery.attempts > 0,
        )
        .order_by(DigestDelivery.id.desc())
        .limit(DELIVERIES_SHOWN)
    ).all()
    kinds = {DeliveryKind.digest: _("Digest"), DeliveryKind.tip_alert: _("Tip alert")}
    return render_template("settings_deliveries.html", rows=rows, kinds=kinds)
