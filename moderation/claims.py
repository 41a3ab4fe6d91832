"""Soft claims: who has a comment open, so that two moderators do not review it at once.

Opening a comment's page claims it for a few minutes; the page renews the claim while it stays
open (moderation/static/claims.js posts every minute; without JavaScript it simply expires).
Others see "being reviewed by X" on the page and in the queue. A claim never blocks anything:
a decision on a stale version is refused by its version check (core.transitions), not here.
Deciding releases the claim. Claims are not audited: they record nothing anyone decided.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Blueprint, abort
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.db import READ_ONLY, db, execute_alone, utcnow
from core.enums import Kind
from core.models import Claim, StaffUser
from moderation.access import current_staff
from moderation.review import get_submission

bp = Blueprint("claims", __name__)

# How long a claim lasts without renewal: a page left open renews it every minute, so a
# moderator who closed the tab stops showing as the reviewer within this time.
CLAIM_TTL = timedelta(minutes=3)
RENEW_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Reviewer:
    """Someone else who has a submission open, and when they last showed they were there."""

    label: str
    seen_at: datetime


def claim(
    session: Session, submission_id: int, staff: StaffUser, now: datetime | None = None
) -> bool:
    """Claim a submission for `staff` (or renew their claim); False if someone else holds it.

    One statement (INSERT ... ON CONFLICT DO UPDATE ... WHERE), committed at once, so two
    moderators opening the same comment at once never fail: one claim wins, the other is told
    who has it.
    """
    now = now or utcnow()
    values = {
        "submission_id": submission_id,
        "staff_id": staff.id,
        "staff_label": staff.email,
        "expires_at": now + CLAIM_TTL,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(Claim).values(values)
    upsert = statement.on_conflict_do_update(
        index_elements=[Claim.submission_id],
        set_={k: statement.excluded[k] for k in ("staff_id", "staff_label", "expires_at")},
        # Take it over only if it is ours already or its holder has gone.
        where=(Claim.staff_id == staff.id) | (Claim.expires_at <= now),
    ).returning(Claim.staff_id)
    if session.get_bind().get_execution_options().get(READ_ONLY):
        # A page's reading session must not write (core.db): its own short transaction does.
        return bool(execute_alone(session, upsert))
    # A POST's session may already hold SQLite's write lock: another connection would wait
    # for it, so the claim goes through the session.
    won = bool(session.execute(upsert).all())
    session.commit()
    return won


def active_claims(
    session: Session,
    submission_ids: Iterable[int],
    exclude_staff: StaffUser | None = None,
    now: datetime | None = None,
) -> dict[int, Reviewer]:
    """The claims in force on these submissions, by id, other than `exclude_staff`'s."""
    ids = list(set(submission_ids))
    if not ids:
        return {}
    now = now or utcnow()
    query = select(Claim.submission_id, Claim.staff_label, Claim.expires_at).where(
        Claim.submission_id.in_(ids), Claim.expires_at > now
    )
    if exclude_staff is not None:
        query = query.where(Claim.staff_id != exclude_staff.id)
    # The last renewal is when the reviewer last had the page open: the schema keeps no
    # start time, and "last seen" is what tells a colleague whether someone is still there.
    return {
        submission_id: Reviewer(label, expires_at - CLAIM_TTL)
        for submission_id, label, expires_at in session.execute(query)
    }


def release(session: Session, submission_id: int, now: datetime | None = None) -> None:
    """Drop the claim on a decided submission, and claims long expired (lazily), committed."""
    now = now or utcnow()
    session.execute(
        delete(Claim).where(
            (Claim.submission_id == submission_id) | (Claim.expires_at < now - timedelta(days=1))
        )
    )
    session.commit()


class RenewForm(FlaskForm):
    """The claim renewal the page's script posts: nothing but its CSRF token."""


@bp.post("/submissions/<int:submission_id>/claim")
def renew(submission_id: int) -> ResponseReturnValue:
    """Renew the viewer's claim on a comment while its page stays open (204)."""
    if not RenewForm().validate_on_submit():
        abort(400)
    if get_submission(db.session, Kind.comment, submission_id) is None:
        abort(404)
    claim(db.session, submission_id, current_staff())
    return "", 204
