"""Closing articles to new comments once they are older than the admins' auto-close setting."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.article_modes import set_mode
from core.db import utcnow
from core.enums import ModerationMode
from core.models import Article
from core.site_settings import load
from core.transitions import SYSTEM

log = logging.getLogger(__name__)

# Closed in batches so that a first run on a large archive does not hold one long transaction.
BATCH = 500


def close_old_articles(session: Session, now: datetime | None = None) -> list[str]:
    """Close the open articles added more than auto_close_days ago; the slugs closed."""
    days = load(session).auto_close_days
    if days <= 0:
        session.rollback()
        return []
    cutoff = (now or utcnow()) - timedelta(days=days)
    closed: list[str] = []
    while True:
        batch = list(
            session.scalars(
                select(Article)
                .where(Article.mode != ModerationMode.closed, Article.created_at < cutoff)
                .order_by(Article.id)
                .limit(BATCH)
            )
        )
        if not batch:
            break
        for article in batch:
            set_mode(
                session,
                article,
                ModerationMode.closed,
                None,
                SYSTEM,
                note=f"auto-close after {days} days",
            )
            closed.append(article.slug)
        session.commit()
    session.rollback()
    if closed:
        log.info("closed %d articles older than %d days", len(closed), days)
    return closed
