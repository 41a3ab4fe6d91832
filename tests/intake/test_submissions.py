"""The public site's service functions, without a request: receipts and decoy references."""

from __future__ import annotations

import os
import random

from core.enums import Kind, Status
from core.models import new_ref
from intake.submissions import (
    REF_ALPHABET,
    REF_LENGTH,
    ReceiptState,
    decoy_kind,
    decoy_ref,
    receipt_state,
)

KEY = b"k" * 32  # fixed, so that the checks on random references are repeatable


def test_a_comment_is_published_only_while_readers_can_see_it() -> None:
    shown = {s for s in Status if receipt_state(Kind.comment, s) is ReceiptState.published}
    assert shown == {Status.published, Status.reported}


def test_a_tip_is_only_ever_received() -> None:
    assert {receipt_state(Kind.tip, s) for s in Status} == {ReceiptState.received}


def test_decoy_references_look_like_real_ones() -> None:
    real = [new_ref() for _ in range(200)]
    decoys = [decoy_ref(KEY, Kind.comment) for _ in range(200)]
    assert {len(r) for r in real} == {len(d) for d in decoys} == {REF_LENGTH}
    assert set("".join(real)) <= set(REF_ALPHABET)
    assert set("".join(decoys)) <= set(REF_ALPHABET)
    assert len(set(decoys)) == len(decoys)


def test_a_decoy_is_recognised_with_its_kind_and_only_with_the_key() -> None:
    comment, tip = decoy_ref(KEY, Kind.comment), decoy_ref(KEY, Kind.tip)
    assert decoy_kind(KEY, comment) is Kind.comment
    assert decoy_kind(KEY, tip) is Kind.tip
    assert decoy_kind(os.urandom(32), comment) is None
    chooser = random.Random(2)
    refs = ["".join(chooser.choices(REF_ALPHABET, k=REF_LENGTH)) for _ in range(2000)]
    assert [ref for ref in refs if decoy_kind(KEY, ref) is not None] == []
