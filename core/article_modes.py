"""Changing how an article takes comments (open, pre-moderated, closed), with an audit row."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core import limits, thread_cache
from core.db import utcnow
from core.enums import ModerationMode
from core.models import Article, AuditEvent, StaffUser

# The audit log's action for a changed article mode.
MODE_ACTION = "article_mode"


def set_mode(
    session: Session,
    article: Article,
    mode: ModerationMode,
    actor: StaffUser | None,
    actor_label: str | None = None,
    note: str = "",
) -> bool:
    """Give `article` the mode `mode` with an audit row; False if it had it already.

    The caller commits. `actor_label` names who acted when there is no account (the system).
    """
    if article.mode is mode:
        return False
    reason = f"{article.slug}: {article.mode.value} → {mode.value}"
    if note:
        reason = f"{reason} ({note})"
    session.add(
        AuditEvent(
            at=utcnow(),
            actor_id=actor.id if actor else None,
            actor_label=actor.email if actor else (actor_label or "cli"),
            action=MODE_ACTION,
            reason=reason[: limits.REASON_MAX],
        )
    )
    article.mode = mode
    # Its embedded thread says at once that it is closed (or pre-moderated).
    thread_cache.touch(session, article.id)
    return True
