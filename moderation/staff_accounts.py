"""Managing staff accounts from the staff site: create, change role, deactivate, reset 2FA.

Every change writes a "staff" audit row. Deactivating an account, or changing its role, also
changes its session token, which ends its open sessions at once. The last active admin can be
neither demoted nor deactivated: someone must always be able to manage the site.
"""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import limits
from core.db import utcnow
from core.enums import Role
from core.models import AuditEvent, StaffUser
from core.staff import StaffError, create_staff_user, normalise_email

# The audit log's action for changes to staff accounts.
STAFF_ACTION = "staff"
# The actor of changes made with `tipline user` (as for `tipline lists` and `tipline bans`).
CLI_ACTOR = "cli"


class LastAdminError(StaffError):
    """The change would leave no active admin."""


class DuplicateError(StaffError):
    """An account with that e-mail exists already."""


def staff_list(session: Session) -> list[StaffUser]:
    """Every staff account: active ones first, then by e-mail."""
    return list(
        session.scalars(select(StaffUser).order_by(StaffUser.is_active.desc(), StaffUser.email))
    )


def generated_password() -> str:
    """A strong random password to give a new staff member (shown once)."""
    return secrets.token_urlsafe(15)


def create_account(
    session: Session, actor: StaffUser, email: str, role: Role, password: str
) -> StaffUser:
    """Add a staff account with an audit row; commits. StaffError says what is wrong."""
    taken = select(StaffUser.id).where(StaffUser.email == normalise_email(email))
    if session.scalar(taken) is not None:
        raise DuplicateError(f"a staff account for {normalise_email(email)} already exists")
    user = create_staff_user(session, email, password, role)
    session.flush()
    _audit(session, actor, f"{user.email}: created as {role.value}")
    session.commit()
    return user


def change_role(session: Session, actor: StaffUser, user: StaffUser, role: Role) -> bool:
    """Give `user` the role `role`; commits. False if they had it already."""
    if user.role is role:
        return False
    if user.role is Role.admin and user.is_active:
        _keep_an_admin(session, user)
    _audit(session, actor, f"{user.email}: role {user.role.value} → {role.value}")
    user.role = role
    # Sessions opened under the old role end: the new one starts with a new login.
    user.session_token = secrets.token_hex(16)
    session.commit()
    return True


def set_active(session: Session, actor: StaffUser, user: StaffUser, active: bool) -> bool:
    """Deactivate (ending their sessions) or reactivate `user`; commits. False if no change."""
    if user.is_active is active:
        return False
    if not active and user.role is Role.admin:
        _keep_an_admin(session, user)
    user.is_active = active
    user.session_token = secrets.token_hex(16)
    _audit(session, actor, f"{user.email}: {'reactivated' if active else 'deactivated'}")
    session.commit()
    return True


def reset_two_factor(session: Session, actor: StaffUser | None, user: StaffUser) -> bool:
    """Remove `user`'s second factor (a lost phone); commits. False if they had none.

    `actor` is None for `tipline user reset-two-factor` (the way back in for a lone admin).
    """
    if not user.totp_secret:
        return False
    user.totp_secret, user.totp_last_step = None, None
    _audit(session, actor, f"{user.email}: two-factor login reset")
    session.commit()
    return True


def _keep_an_admin(session: Session, leaving: StaffUser) -> None:
    others = session.scalar(
        select(func.count())
        .select_from(StaffUser)
        .where(StaffUser.role == Role.admin, StaffUser.is_active, StaffUser.id != leaving.id)
    )
    if not others:
        raise LastAdminError("the last active admin cannot be demoted or deactivated")


def _audit(session: Session, actor: StaffUser | None, reason: str) -> None:
    session.add(
        AuditEvent(
            at=utcnow(),
            actor_id=actor.id if actor else None,
            actor_label=actor.email if actor else CLI_ACTOR,
            action=STAFF_ACTION,
            reason=reason[: limits.REASON_MAX],
        )
    )
