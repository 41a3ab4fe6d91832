"""Readers' flags as the staff site shows them: open ones in the queue, all on a comment's page."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.enums import FlagReason
from core.models import Flag, StaffUser, Submission


@dataclass(frozen=True)
class FlagView:
    """One flag and, once resolved, who resolved it (their e-mail)."""

    reason: FlagReason
    text: str
    created_at: datetime
    resolved_at: datetime | None
    outcome: str | None
    resolved_by: str | None


def open_flags(session: Session, submissions: Iterable[Submission]) -> dict[int, list[Flag]]:
    """The unresolved flags of each of `submissions` (oldest first), in one query."""
    ids = [submission.id for submission in submissions]
    found: dict[int, list[Flag]] = {}
    if not ids:
        return found
    query = (
        select(Flag)
        .where(Flag.submission_id.in_(ids), Flag.resolved_at.is_(None))
        .order_by(Flag.submission_id, Flag.created_at, Flag.id)
    )
    for flag in session.scalars(query):
        found.setdefault(flag.submission_id, []).append(flag)
    return found


def all_flags(session: Session, submission_id: int) -> list[FlagView]:
    """Every flag of one submission, open and resolved, oldest first."""
    query = (
        select(Flag, StaffUser.email)
        .outerjoin(StaffUser, Flag.resolved_by_id == StaffUser.id)
        .where(Flag.submission_id == submission_id)
        .order_by(Flag.created_at, Flag.id)
    )
    return [
        FlagView(flag.reason, flag.text, flag.created_at, flag.resolved_at, flag.outcome, email)
        for flag, email in session.execute(query)
    ]
