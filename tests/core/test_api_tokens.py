"""API tokens: shown once, kept as keyed hashes, revocable, audited."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.api_tokens import TOKEN_ACTION, create_token, find_token, list_tokens, revoke_token
from core.config import Settings
from core.db import utcnow
from core.enums import Role
from core.models import ApiToken, AuditEvent
from core.staff import create_staff_user


def test_a_token_is_shown_once_and_stored_as_a_keyed_hash(
    session: Session, settings: Settings
) -> None:
    admin = create_staff_user(session, "admin@example.org", "admin-password-12345", Role.admin)
    session.commit()
    token, plaintext = create_token(session, settings.hash_key, "  CMS principal ", admin)
    assert plaintext.startswith("tl_") and len(plaintext) > 40
    session.expire_all()
    stored = session.get(ApiToken, token.id)
    assert stored is not None
    assert stored.name == "CMS principal"
    assert plaintext not in stored.token_hash and len(stored.token_hash) == 64
    assert plaintext.startswith(stored.prefix) and len(stored.prefix) < len(plaintext) // 3
    assert stored.created_by_id == admin.id
    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == TOKEN_ACTION)).all()
    assert [a.actor_label for a in audit] == ["admin@example.org"]
    assert plaintext not in audit[0].reason
    session.commit()


def test_find_token_accepts_the_live_token_only(session: Session, settings: Settings) -> None:
    token, plaintext = create_token(session, settings.hash_key, "CMS", None)
    other, _ = create_token(session, settings.hash_key, "Otro", None)
    found = find_token(session, settings.hash_key, plaintext)
    assert found is not None and found.id == token.id
    for wrong in (
        "",
        "tl_",
        plaintext[:-1],
        plaintext + "x",
        "Bearer " + plaintext,
        "tl_" + "a" * 200,
    ):
        assert find_token(session, settings.hash_key, wrong) is None
    # Another deployment's key makes another hash: a copied database gives no working token.
    assert find_token(session, b"k" * 32, plaintext) is None
    assert revoke_token(session, token.id, None)
    assert find_token(session, settings.hash_key, plaintext) is None
    assert not revoke_token(session, token.id, None)  # already revoked: nothing to do
    assert not revoke_token(session, 999_999, None)
    assert [t.id for t in list_tokens(session)] == [other.id, token.id]
    reasons = session.scalars(
        select(AuditEvent.reason).where(AuditEvent.action == TOKEN_ACTION).order_by(AuditEvent.id)
    ).all()
    assert len(reasons) == 3 and reasons[-1].startswith("revoked 'CMS'")
    session.commit()


def test_last_used_is_written_at_most_once_a_minute(session: Session, settings: Settings) -> None:
    token, plaintext = create_token(session, settings.hash_key, "CMS", None)
    assert token.last_used_at is None
    find_token(session, settings.hash_key, plaintext)
    session.expire_all()
    first = session.get(ApiToken, token.id)
    assert first is not None and first.last_used_at is not None
    seen = first.last_used_at
    session.commit()
    find_token(session, settings.hash_key, plaintext)
    session.expire_all()
    again = session.get(ApiToken, token.id)
    assert again is not None and again.last_used_at == seen
    # A minute later it is noted again.
    again.last_used_at = utcnow() - timedelta(minutes=2)
    session.commit()
    find_token(session, settings.hash_key, plaintext)
    session.expire_all()
    later = session.get(ApiToken, token.id)
    assert later is not None and later.last_used_at is not None
    assert later.last_used_at > utcnow() - timedelta(seconds=30)
    session.commit()
