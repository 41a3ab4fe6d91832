"""The demo data standalone seeds: idempotent, and a demo admin whose old password dies."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.enums import ModerationMode, Role
from core.models import Article, StaffUser
from core.staff import authenticate, create_staff_user
from tipline.demo import DEMO_ADMIN_EMAIL, DEMO_ARTICLE_SLUG, reset_demo_admin, seed_demo_article


def test_the_demo_article_is_seeded_once_and_edits_are_kept(session: Session) -> None:
    article = seed_demo_article(session)
    assert article.slug == DEMO_ARTICLE_SLUG
    assert article.mode is ModerationMode.post  # clean comments show at once
    assert len(article.body.split("\n\n")) >= 3
    article.title = "Edited by the newsroom"
    session.commit()

    again = seed_demo_article(session)
    assert again.id == article.id
    assert session.scalars(select(Article.title)).all() == ["Edited by the newsroom"]


def test_each_start_gives_the_demo_admin_a_new_password(session: Session) -> None:
    user, first = reset_demo_admin(session)
    assert user.email == DEMO_ADMIN_EMAIL and user.role is Role.admin
    assert authenticate(session, DEMO_ADMIN_EMAIL, first) == user

    _, second = reset_demo_admin(session)
    assert second != first
    assert authenticate(session, DEMO_ADMIN_EMAIL, first) is None
    assert authenticate(session, DEMO_ADMIN_EMAIL, second) is not None
    assert len(session.scalars(select(StaffUser)).all()) == 1


def test_a_disabled_or_demoted_demo_account_is_made_a_working_admin_again(
    session: Session,
) -> None:
    user = create_staff_user(session, DEMO_ADMIN_EMAIL, "correct horse battery", Role.moderator)
    user.is_active = False
    session.commit()
    _, password = reset_demo_admin(session)
    again = authenticate(session, DEMO_ADMIN_EMAIL, password)
    assert again is not None and again.role is Role.admin
