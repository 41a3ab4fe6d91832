"""API tokens for the outlet's CMS: made and revoked by admins, kept only as keyed hashes.

A token is shown once, when it is made; the database holds its keyed hash (so a copy of the
database does not give anyone a working token) and its first characters (so that admins can
tell tokens apart). Every creation and revocation writes an audit row.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import limits
from core.db import utcnow
from core.models import ApiToken, AuditEvent, StaffUser
from core.privacy import keyed_hash

# The audit log's action for a token made or revoked.
TOKEN_ACTION = "api_token"  # noqa: S105 (an audit action, not a secret)
TOKEN_PREFIX = "tl_"  # noqa: S105 (every token starts so; it is not one)
# What admins see of a token: enough to tell two apart, far too little to guess the rest.
SHOWN_CHARS = 10
# secrets.token_urlsafe(32) is 43 characters; anything much longer is not one of ours.
PRESENTED_MAX = 100
# last_used_at is written at most this often: a busy CMS must not write on every request.
LAST_USED_EVERY = timedelta(minutes=1)
NAME_MAX = 100


def token_hash(hash_key: bytes, token: str) -> str:
    """The keyed hash a token is stored and looked up by."""
    return keyed_hash(hash_key, "api-token", token)


def create_token(
    session: Session, hash_key: bytes, name: str, actor: StaffUser | None
) -> tuple[ApiToken, str]:
    """A new token named `name`, committed with an audit row; and its plaintext, shown once."""
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name.strip()[:NAME_MAX],
        token_hash=token_hash(hash_key, plaintext),
        prefix=plaintext[:SHOWN_CHARS],
        created_by_id=actor.id if actor else None,
    )
    session.add(token)
    session.add(_audit(actor, f"created {token.name!r} ({token.prefix}…)"))
    session.commit()
    return token, plaintext


def revoke_token(session: Session, token_id: int, actor: StaffUser | None) -> bool:
    """Revoke a token, committed with an audit row; False if there is none or it was already."""
    token = session.get(ApiToken, token_id)
    if token is None or token.revoked_at is not None:
        session.commit()  # end the read transaction
        return False
    token.revoked_at = utcnow()
    session.add(_audit(actor, f"revoked {token.name!r} ({token.prefix}…)"))
    session.commit()
    return True


def find_token(session: Session, hash_key: bytes, presented: str) -> ApiToken | None:
    """The live (not revoked) token `presented` is, or None; notes its use at most once a minute."""
    if not presented.startswith(TOKEN_PREFIX) or len(presented) > PRESENTED_MAX:
        return None
    token = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == token_hash(hash_key, presented),
            ApiToken.revoked_at.is_(None),
        )
    )
    if token is not None:
        now = utcnow()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
            token.last_used_at = now
    session.commit()  # the write above, or the end of the read transaction
    return token


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token, live ones first, newest first."""
    query = select(ApiToken).order_by(
        ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc()
    )
    return list(session.scalars(query))


def _audit(actor: StaffUser | None, reason: str) -> AuditEvent:
    return AuditEvent(
        at=utcnow(),
        actor_id=actor.id if actor else None,
        actor_label=actor.email if actor else "cli",
        action=TOKEN_ACTION,
        reason=reason[: limits.REASON_MAX],
    )
