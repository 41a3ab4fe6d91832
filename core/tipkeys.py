"""The newsroom's tip keys: who holds them, how a login unlocks them, rotation.

The scheme (docs/security.md says what each compromise reveals):

- A **tip key** is a Curve25519 key pair. Tips, their follow-ups, staff notes and their files'
  keys are sealed to the current tip key's public half (PyNaCl sealed boxes). The public site
  needs nothing else. The private half is stored nowhere in the clear: only sealed to each
  authorised editor's personal public key (`TipKeyGrant`).
- Each editor or admin has a **personal key pair**. Its private half is stored encrypted
  (SecretBox) under a key derived from their password with Argon2id and a salt of their own.
  So the database alone opens nothing, and neither does the staff host's configuration.
- A **login unlocks** the tip keys for that session only: the password opens the personal
  key, which opens the grants; the tip keys are then encrypted under a fresh random secret and
  stored (`UnlockedTipKeys`); the secret goes into the session cookie. The keys are thus kept
  server-side and never in a cookie, and neither the database (no secret) nor the cookie (no
  keys) alone reveals them. Logout, withdrawal and rotation delete the stored copy.
- **Rotation** makes a new tip key, seals every tip, message and file key again to it, grants
  it to the editors who held the old one (only their public keys are needed), then deletes
  the old key's grants. An editor whose access was withdrawn before a rotation keeps nothing
  that opens what is stored after it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import nacl.pwhash
import nacl.utils
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.secret import SecretBox
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import utcnow
from core.enums import Kind, Role
from core.models import (
    Attachment,
    StaffUser,
    Submission,
    TipDetails,
    TipKey,
    TipKeyGrant,
    TipMessage,
    UnlockedTipKeys,
)

# Argon2id for the key that wraps a personal private key. Interactive limits (2 passes, 64 MiB,
# about 0.1 s here): a login pays it once, on top of the password check's own Argon2id.
KDF_OPS = nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE
KDF_MEM = nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE
SALT_BYTES = nacl.pwhash.argon2id.SALTBYTES

# How long a login's unlocked keys last without a new login: a working day.
UNLOCK_TTL = timedelta(hours=12)

# Who a tip key may be granted to: those who read tips.
READERS = (Role.editor, Role.admin)


class TipKeyError(ValueError):
    """A key operation cannot be done as asked; the message says why."""


# --- personal keys ---------------------------------------------------------------------------


def _kek(password: str, salt: bytes) -> bytes:
    return bytes(
        nacl.pwhash.argon2id.kdf(
            SecretBox.KEY_SIZE, password.encode(), salt, opslimit=KDF_OPS, memlimit=KDF_MEM
        )
    )


def give_personal_key(user: StaffUser, password: str) -> None:
    """Make `user` a personal key pair wrapped under `password` (replacing any); caller commits."""
    private = PrivateKey.generate()
    salt = nacl.utils.random(SALT_BYTES)
    user.public_key = bytes(private.public_key)
    user.key_salt = salt
    user.wrapped_private_key = bytes(SecretBox(_kek(password, salt)).encrypt(bytes(private)))


def personal_private_key(user: StaffUser, password: str) -> bytes | None:
    """`user`'s personal private key, opened with `password`; None if wrong or there is none."""
    if not (user.wrapped_private_key and user.key_salt):
        return None
    try:
        return bytes(SecretBox(_kek(password, user.key_salt)).decrypt(user.wrapped_private_key))
    except CryptoError:
        return None


def rewrap_personal_key(user: StaffUser, old_password: str, new_password: str) -> bool:
    """Wrap `user`'s personal key under a new password; False if the old one does not open it."""
    private = personal_private_key(user, old_password)
    if private is None:
        return False
    salt = nacl.utils.random(SALT_BYTES)
    user.key_salt = salt
    user.wrapped_private_key = bytes(SecretBox(_kek(new_password, salt)).encrypt(private))
    return True


# --- the tip keys ----------------------------------------------------------------------------


def current_key(session: Session) -> TipKey | None:
    """The tip key new tips are sealed to: the newest one not retired."""
    return session.scalar(
        select(TipKey).where(TipKey.retired_at.is_(None)).order_by(TipKey.id.desc()).limit(1)
    )


@dataclass(frozen=True)
class PublicTipKey:
    """What the public site needs to seal a tip: the key's id and its public half."""

    id: int
    public_key: bytes


def current_public_key(session: Session) -> PublicTipKey | None:
    """The current tip key's id and public half, or None before anyone set one up."""
    key = current_key(session)
    return PublicTipKey(key.id, key.public_key) if key is not None else None


def current_or_configured(session: Session, configured: bytes) -> PublicTipKey | None:
    """The current tip key; if there is none yet, the configured one, registered now.

    Installs made before keys moved into the database have a tip key pair in secrets.json
    (`tipline init`): the public site keeps sealing to it until someone runs
    `tipline tips setup --import-secrets-key`, which hands its private half to an editor.
    """
    key = current_public_key(session)
    if key is not None or not configured:
        return key
    try:
        with session.begin_nested():
            session.add(TipKey(public_key=configured))
    except IntegrityError:
        pass  # another process registered it at the same moment
    return current_public_key(session)


def seal_to(key: PublicTipKey, data: Mapping[str, Any]) -> bytes:
    """`data` as JSON, sealed to the tip key: only its holders open it."""
    plaintext = json.dumps(dict(data), ensure_ascii=False).encode()
    return bytes(SealedBox(PublicKey(key.public_key)).encrypt(plaintext))


def open_sealed(keys: Mapping[int, bytes], key_id: int | None, sealed: bytes) -> dict[str, Any]:
    """What `seal_to` sealed, opened with the unlocked tip key it names.

    Raises TipKeyError when the key is not among `keys` or does not open it.
    """
    private = keys.get(key_id) if key_id is not None else None
    candidates = [private] if private is not None else list(keys.values())
    for candidate in candidates:
        try:
            plaintext = SealedBox(PrivateKey(candidate)).decrypt(sealed)
        except CryptoError:
            continue
        data = json.loads(plaintext.decode())
        if not isinstance(data, dict):
            raise TipKeyError("sealed content is not an object")
        return data
    raise TipKeyError("none of the unlocked tip keys opens this")


def set_up(
    session: Session, holder: StaffUser, password: str, *, private_key: bytes | None = None
) -> TipKey:
    """Create the first tip key (or adopt `private_key`) and grant it to `holder`; commits.

    `holder` must be an editor or admin whose password is `password`; they get a personal key
    if they have none. Refused when a tip key exists already (rotate it instead).
    """
    if current_key(session) is not None:
        raise TipKeyError("there is a tip key already: grant it, or rotate it")
    _check_reader(holder)
    if holder.public_key is None:
        give_personal_key(holder, password)
    elif personal_private_key(holder, password) is None:
        raise TipKeyError("wrong password")
    pair = PrivateKey(private_key) if private_key else PrivateKey.generate()
    key = TipKey(public_key=bytes(pair.public_key))
    session.add(key)
    session.flush()
    _grant_one(session, key, bytes(pair), holder, holder.email)
    session.commit()
    return key


def adopt(session: Session, holder: StaffUser, password: str, private_key: bytes) -> TipKey:
    """Make sure `holder` holds the tip key whose private half is `private_key`; commits.

    For the standalone demo, whose admin gets a new password at every start: the instance
    keeps the demo's tip key, and each start grants it to the admin again. Sets the key up if
    there is none; refuses a key that is not the current one.
    """
    key = current_key(session)
    if key is None:
        return set_up(session, holder, password, private_key=private_key)
    if bytes(PrivateKey(private_key).public_key) != key.public_key:
        raise TipKeyError("that is not the current tip key")
    _check_reader(holder)
    if personal_private_key(holder, password) is None:
        give_personal_key(holder, password)
    _grant_one(session, key, private_key, holder, holder.email)
    session.commit()
    return key


def unlock(session: Session, user: StaffUser, password: str) -> dict[int, bytes]:
    """The tip keys granted to `user`, by id, opened with their password ({} if none)."""
    personal = personal_private_key(user, password)
    if personal is None:
        return {}
    box = SealedBox(PrivateKey(personal))
    keys: dict[int, bytes] = {}
    for grant in session.scalars(select(TipKeyGrant).where(TipKeyGrant.staff_id == user.id)):
        try:
            keys[grant.tip_key_id] = bytes(box.decrypt(grant.sealed_private_key))
        except CryptoError:
            continue
    return keys


def holders(session: Session) -> list[StaffUser]:
    """Everyone who holds the current tip key."""
    key = current_key(session)
    if key is None:
        return []
    return list(
        session.scalars(
            select(StaffUser)
            .join(TipKeyGrant, TipKeyGrant.staff_id == StaffUser.id)
            .where(TipKeyGrant.tip_key_id == key.id)
            .order_by(StaffUser.email)
        )
    )


def grant(session: Session, granter: StaffUser, password: str, grantee: StaffUser) -> int:
    """Give `grantee` every tip key `granter` holds; commits. The number of keys granted.

    The grantee needs a personal key: they get one at their next login (or at creation).
    """
    _check_reader(grantee)
    if grantee.public_key is None:
        raise TipKeyError(f"{grantee.email} has no personal key yet: they must log in once first")
    keys = unlock(session, granter, password)
    if not keys:
        raise TipKeyError(f"{granter.email} holds no tip key, or the password is wrong")
    for key_id, private in keys.items():
        key = session.get(TipKey, key_id)
        if key is not None and key.retired_at is None:
            _grant_one(session, key, private, grantee, granter.email)
    session.commit()
    return len(keys)


def withdraw(session: Session, user: StaffUser) -> int:
    """Take every tip key from `user` and end their unlocked sessions; commits. Grants removed."""
    removed = session.execute(delete(TipKeyGrant).where(TipKeyGrant.staff_id == user.id))
    session.execute(delete(UnlockedTipKeys).where(UnlockedTipKeys.staff_id == user.id))
    session.commit()
    return int(getattr(removed, "rowcount", 0) or 0)


@dataclass(frozen=True)
class Rotation:
    """What a rotation did."""

    key: TipKey
    resealed: int
    granted_to: list[str]


def rotate(session: Session, holder: StaffUser, password: str) -> Rotation:
    """Replace the tip key: reseal everything to a new one, grant it, retire the old; commits.

    `holder` must hold every key that sealed something still stored. The new key goes to
    every current holder of the current key; the old keys' grants and every unlocked session
    are deleted, so everyone logs in again.
    """
    keys = unlock(session, holder, password)
    if not keys:
        raise TipKeyError(f"{holder.email} holds no tip key, or the password is wrong")
    in_use = _keys_in_use(session)
    missing = in_use - set(keys)
    if missing:
        raise TipKeyError(f"{holder.email} does not hold tip key(s) {sorted(missing)}")
    recipients = [user for user in holders(session) if user.public_key is not None]
    if holder not in recipients:
        recipients.append(holder)
    pair = PrivateKey.generate()
    new = TipKey(public_key=bytes(pair.public_key))
    session.add(new)
    session.flush()
    target = PublicTipKey(new.id, new.public_key)
    resealed = _reseal_everything(session, keys, target)
    now = utcnow()
    session.execute(delete(TipKeyGrant).where(TipKeyGrant.tip_key_id != new.id))
    session.execute(
        update(TipKey)
        .where(TipKey.id != new.id, TipKey.retired_at.is_(None))
        .values(retired_at=now)
    )
    for user in recipients:
        _grant_one(session, new, bytes(pair), user, holder.email)
    session.execute(delete(UnlockedTipKeys))
    session.commit()
    return Rotation(new, resealed, [user.email for user in recipients])


def _keys_in_use(session: Session) -> set[int]:
    used: set[int] = set()
    for column in (TipDetails.tip_key_id, TipMessage.tip_key_id, Attachment.tip_key_id):
        used.update(k for k in session.scalars(select(column).distinct()) if k is not None)
    return used


def _reseal_everything(session: Session, keys: Mapping[int, bytes], target: PublicTipKey) -> int:
    count = 0
    tips = session.execute(
        select(Submission, TipDetails)
        .join(TipDetails, TipDetails.submission_id == Submission.id)
        .where(Submission.kind == Kind.tip, Submission.sealed.is_not(None))
    )
    for submission, details in tips:
        assert submission.sealed is not None
        data = open_sealed(keys, details.tip_key_id, submission.sealed)
        submission.sealed = seal_to(target, data)
        details.tip_key_id = target.id
        count += 1
    for message in session.scalars(select(TipMessage)):
        message.sealed = seal_to(target, open_sealed(keys, message.tip_key_id, message.sealed))
        message.tip_key_id = target.id
        count += 1
    for attachment in session.scalars(select(Attachment)):
        meta = open_sealed(keys, attachment.tip_key_id, attachment.sealed_meta)
        attachment.sealed_meta = seal_to(target, meta)
        attachment.tip_key_id = target.id
        count += 1
    return count


def _grant_one(session: Session, key: TipKey, private: bytes, user: StaffUser, by: str) -> None:
    assert user.public_key is not None
    sealed = bytes(SealedBox(PublicKey(user.public_key)).encrypt(private))
    existing = session.get(TipKeyGrant, (key.id, user.id))
    if existing is None:
        session.add(
            TipKeyGrant(
                tip_key_id=key.id, staff_id=user.id, sealed_private_key=sealed, granted_by_label=by
            )
        )
    else:
        existing.sealed_private_key = sealed


def _check_reader(user: StaffUser) -> None:
    if user.role not in READERS or not user.is_active:
        raise TipKeyError(f"{user.email} is not an active editor or admin")


# --- a login's unlocked keys -----------------------------------------------------------------


def _row_id(secret: bytes) -> str:
    # The secret itself is never stored: the row is found by its hash, opened by the secret.
    return hashlib.sha256(b"tipline unlocked tip keys\0" + secret).hexdigest()


def store_unlocked(
    session: Session, user: StaffUser, keys: Mapping[int, bytes], now: datetime | None = None
) -> str:
    """Keep `keys` for one session, encrypted; the secret (hex) for the session cookie. Commits."""
    now = now or utcnow()
    secret = nacl.utils.random(SecretBox.KEY_SIZE)
    payload = json.dumps({str(k): v.hex() for k, v in keys.items()}).encode()
    session.execute(delete(UnlockedTipKeys).where(UnlockedTipKeys.expires_at < now))
    session.add(
        UnlockedTipKeys(
            id=_row_id(secret),
            staff_id=user.id,
            box=bytes(SecretBox(secret).encrypt(payload)),
            created_at=now,
            expires_at=now + UNLOCK_TTL,
        )
    )
    session.commit()
    return secret.hex()


def load_unlocked(
    session: Session, user_id: int, secret_hex: str, now: datetime | None = None
) -> dict[int, bytes] | None:
    """The keys a session unlocked, or None when its copy is gone, expired or not theirs."""
    try:
        secret = bytes.fromhex(secret_hex)
    except ValueError:
        return None
    if len(secret) != SecretBox.KEY_SIZE:
        return None
    row = session.get(UnlockedTipKeys, _row_id(secret))
    if row is None or row.staff_id != user_id or row.expires_at <= (now or utcnow()):
        return None
    try:
        payload = json.loads(SecretBox(secret).decrypt(row.box))
    except (CryptoError, ValueError):
        return None
    return {int(k): bytes.fromhex(v) for k, v in payload.items()}


def forget_unlocked(session: Session, secret_hex: str) -> None:
    """Delete one session's unlocked keys (logout); commits."""
    try:
        secret = bytes.fromhex(secret_hex)
    except ValueError:
        return
    session.execute(delete(UnlockedTipKeys).where(UnlockedTipKeys.id == _row_id(secret)))
    session.commit()


def readers_without_access(session: Session, users: Iterable[StaffUser]) -> list[StaffUser]:
    """Of `users`, the editors and admins who do not hold the current tip key."""
    holding = {user.id for user in holders(session)}
    return [u for u in users if u.role in READERS and u.is_active and u.id not in holding]


def new_secret_hex() -> str:
    """A random 32-byte secret, hex (tests and tools)."""
    return secrets.token_hex(32)
