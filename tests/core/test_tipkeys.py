"""The tip keys: only a staff member's password opens them; withdrawal plus rotation is final."""

from __future__ import annotations

from datetime import timedelta

import pytest
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import tipkeys
from core.db import utcnow
from core.enums import Kind, Role, Status, TipMessageKind
from core.models import (
    Attachment,
    StaffUser,
    Submission,
    TipDetails,
    TipKeyGrant,
    TipMessage,
    UnlockedTipKeys,
)
from core.staff import create_staff_user, set_password
from tests.support_tips import EDITOR_PASSWORD, grant_tip_key, make_editor_with_tip_key

SECRET_TEXT = "the minister's driver saw everything"


def _tip(session: Session, text: str = SECRET_TEXT) -> Submission:
    key = tipkeys.current_public_key(session)
    assert key is not None
    tip = Submission(kind=Kind.tip, status=Status.new, sealed=tipkeys.seal_to(key, {"text": text}))
    session.add_all([tip, TipDetails(submission=tip, tip_key_id=key.id)])
    session.commit()
    return tip


def _open(session: Session, keys: dict[int, bytes], tip: Submission) -> str:
    details = session.get(TipDetails, tip.id)
    assert details is not None and tip.sealed is not None
    return str(tipkeys.open_sealed(keys, details.tip_key_id, tip.sealed)["text"])


def test_the_holders_password_opens_a_tip_and_a_wrong_one_opens_nothing(
    session: Session,
) -> None:
    editor = make_editor_with_tip_key(session)
    tip = _tip(session)

    keys = tipkeys.unlock(session, editor, EDITOR_PASSWORD)
    assert _open(session, keys, tip) == SECRET_TEXT

    assert tipkeys.unlock(session, editor, "not the password at all") == {}
    assert tipkeys.personal_private_key(editor, "not the password at all") is None
    with pytest.raises(tipkeys.TipKeyError):
        tipkeys.open_sealed({}, None, tip.sealed or b"")


def test_nothing_in_the_database_opens_a_tip_without_a_password(session: Session) -> None:
    editor = make_editor_with_tip_key(session)
    tip = _tip(session)
    grant = session.scalars(select(TipKeyGrant)).one()
    # Everything stored about the editor's keys: none of it opens the tip.
    for candidate in (editor.wrapped_private_key, grant.sealed_private_key, editor.key_salt):
        assert candidate is not None
        for start in range(0, max(1, len(candidate) - 31)):
            chunk = candidate[start : start + 32]
            if len(chunk) < 32:
                continue
            with pytest.raises(CryptoError):
                SealedBox(PrivateKey(chunk)).decrypt(tip.sealed or b"")


def test_a_grant_lets_a_colleague_in_and_withdrawal_shuts_them_out(session: Session) -> None:
    holder = make_editor_with_tip_key(session)
    luis = create_staff_user(session, "luis@example.org", "luis-password-1234", Role.editor)
    session.commit()
    tip = _tip(session)
    assert tipkeys.unlock(session, luis, "luis-password-1234") == {}

    grant_tip_key(session, holder, EDITOR_PASSWORD, luis, "luis-password-1234")
    keys = tipkeys.unlock(session, luis, "luis-password-1234")
    assert _open(session, keys, tip) == SECRET_TEXT
    assert [u.email for u in tipkeys.holders(session)] == ["editor@example.org", "luis@example.org"]

    assert tipkeys.withdraw(session, luis) == 1
    assert tipkeys.unlock(session, luis, "luis-password-1234") == {}


def test_after_withdrawal_and_rotation_a_copied_key_opens_nothing(session: Session) -> None:
    holder = make_editor_with_tip_key(session)
    luis = create_staff_user(session, "luis@example.org", "luis-password-1234", Role.editor)
    session.commit()
    grant_tip_key(session, holder, EDITOR_PASSWORD, luis, "luis-password-1234")
    tip = _tip(session)
    key = tipkeys.current_public_key(session)
    assert key is not None
    note = TipMessage(
        submission_id=tip.id,
        kind=TipMessageKind.note,
        author_label="editor@example.org",
        tip_key_id=key.id,
        sealed=tipkeys.seal_to(key, {"text": "call the lawyer"}),
    )
    attachment = Attachment(
        submission_id=tip.id,
        stored_name="f" * 32,
        tip_key_id=key.id,
        sealed_meta=tipkeys.seal_to(key, {"name": "contrato.pdf"}),
        size=10,
    )
    session.add_all([note, attachment])
    session.commit()
    # What Luis could have kept while he had access: the tip key itself.
    copied = tipkeys.unlock(session, luis, "luis-password-1234")
    assert _open(session, copied, tip) == SECRET_TEXT

    tipkeys.withdraw(session, luis)
    rotation = tipkeys.rotate(session, holder, EDITOR_PASSWORD)
    assert rotation.resealed == 3 and rotation.granted_to == ["editor@example.org"]

    session.expire_all()
    with pytest.raises(tipkeys.TipKeyError):
        _open(session, copied, tip)
    note = session.scalars(select(TipMessage)).one()
    with pytest.raises(tipkeys.TipKeyError):
        tipkeys.open_sealed(copied, note.tip_key_id, note.sealed)
    # The holder reads everything with the new key; the old one is retired.
    keys = tipkeys.unlock(session, holder, EDITOR_PASSWORD)
    assert list(keys) == [rotation.key.id]
    assert _open(session, keys, tip) == SECRET_TEXT
    assert tipkeys.open_sealed(keys, note.tip_key_id, note.sealed) == {"text": "call the lawyer"}
    meta = session.scalars(select(Attachment)).one()
    assert tipkeys.open_sealed(keys, meta.tip_key_id, meta.sealed_meta) == {"name": "contrato.pdf"}
    assert tipkeys.current_key(session) is not None
    assert tipkeys.current_key(session).id == rotation.key.id  # type: ignore[union-attr]


def test_a_login_keeps_its_keys_encrypted_server_side_until_logout(session: Session) -> None:
    editor = make_editor_with_tip_key(session)
    keys = tipkeys.unlock(session, editor, EDITOR_PASSWORD)
    secret = tipkeys.store_unlocked(session, editor, keys)

    row = session.scalars(select(UnlockedTipKeys)).one()
    assert secret not in row.id and bytes.fromhex(secret) not in row.box
    assert all(private not in row.box for private in keys.values())
    assert tipkeys.load_unlocked(session, editor.id, secret) == keys
    # Another secret, another account, or an expired copy opens nothing.
    assert tipkeys.load_unlocked(session, editor.id, tipkeys.new_secret_hex()) is None
    assert tipkeys.load_unlocked(session, editor.id + 1, secret) is None
    later = utcnow() + tipkeys.UNLOCK_TTL + timedelta(seconds=1)
    assert tipkeys.load_unlocked(session, editor.id, secret, now=later) is None

    tipkeys.forget_unlocked(session, secret)
    assert tipkeys.load_unlocked(session, editor.id, secret) is None


def test_a_password_change_keeps_access_and_a_reset_drops_it(session: Session) -> None:
    editor = make_editor_with_tip_key(session)
    tip = _tip(session)

    set_password(editor, "a brand new password", old_password=EDITOR_PASSWORD)
    session.commit()
    assert _open(session, tipkeys.unlock(session, editor, "a brand new password"), tip)

    set_password(editor, "reset by an admin 123")
    session.commit()
    assert tipkeys.unlock(session, editor, "reset by an admin 123") == {}
    assert session.scalars(select(TipKeyGrant)).all() == []


def test_only_active_editors_and_admins_may_hold_the_key(session: Session) -> None:
    holder = make_editor_with_tip_key(session)
    moderator = create_staff_user(session, "mod@example.org", "mod-password-1234", Role.moderator)
    session.commit()
    assert moderator.public_key is None  # moderators never get a personal key
    with pytest.raises(tipkeys.TipKeyError, match="not an active editor or admin"):
        tipkeys.grant(session, holder, EDITOR_PASSWORD, moderator)
    with pytest.raises(tipkeys.TipKeyError, match="there is a tip key already"):
        tipkeys.set_up(session, holder, EDITOR_PASSWORD)


def test_the_demo_admin_keeps_the_instances_key_across_new_passwords(session: Session) -> None:
    instance_key = PrivateKey.generate()
    admin = create_staff_user(session, "admin@example.org", "first password 12", Role.admin)
    session.commit()
    tipkeys.adopt(session, admin, "first password 12", bytes(instance_key))
    tip = _tip(session)

    set_password(admin, "second password 12")
    session.commit()
    tipkeys.adopt(session, admin, "second password 12", bytes(instance_key))
    keys = tipkeys.unlock(session, admin, "second password 12")
    assert _open(session, keys, tip) == SECRET_TEXT
    other: StaffUser = admin
    with pytest.raises(tipkeys.TipKeyError, match="not the current tip key"):
        tipkeys.adopt(session, other, "second password 12", bytes(PrivateKey.generate()))
