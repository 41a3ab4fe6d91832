"""Floods: the same or nearly the same text sent again and again, or one sender sending too much.

Near copies are found with MinHash over the text's word pairs: a text is folded (case, accents,
invisible characters), every number (a phone number, a price) becomes one "0" and everything
that is not a word (emoji, punctuation) is dropped, so changing the phone number or adding
emoji leaves the fingerprint as it was; changing a word or two changes a few of its values.
Its 24 values are split into 8 bands: a text that shares a band with an earlier one is a
candidate, and counts as a copy when at least half of the values agree (about half of their
word pairs in common). Among a million pairs of the YouTube and Spanish spam collections this
found every pair with 70 % of their word pairs in common (and 9 in 10 with 60 %), and counted
4 pairs with under 30 % in common, all of them templated spam.

Texts under MIN_WORDS words are not compared: many readers write "Gracias" or "Muy bien" in
the same hour. Formulae under SPAM_MIN_WORDS words ("Muy buen artículo, gracias por
informar") repeat naturally too, so their copies are only held; and tips are only ever held
for it (a source who resends a tip is not a spammer).

A sender is counted by e-mail hash, or by network hash only when there is no e-mail: a whole
neighbourhood can share one address behind a carrier's NAT.
"""

from __future__ import annotations

import re
import uuid
import zlib
from dataclasses import dataclass

import numpy as np

from core.enums import Kind, Verdict
from core.i18n import N_
from worker.checks.base import Check, Content, Env, Result, result
from worker.normalize import fold

MIN_WORDS = 5
SPAM_MIN_WORDS = 10
PERMUTATIONS = 24
ROWS = 3  # values per band: 8 bands
# The share of fingerprint values two texts must have in common to be copies of each other.
SIMILAR = 0.5

# A number, with the spaces, dashes and dots of a phone number inside it.
_NUMBER = re.compile(r"\d+(?:[\s\-.()/]{1,3}\d+)*")
# A word: letters only (numbers are already "0").
_WORD = re.compile(r"[^\W\d_]+|0")

_MASK = (1 << 64) - 1


def _splitmix(seed: int) -> list[int]:
    # Fixed multipliers and offsets of the hash "permutations", the same in every process and
    # with every numpy version (fingerprints stored by one worker are read by the others).
    out = []
    for _ in range(2 * PERMUTATIONS):
        seed = (seed + 0x9E3779B97F4A7C15) & _MASK
        z = seed
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        out.append(z ^ (z >> 31))
    return out


_CONSTANTS = _splitmix(0x7117_F100D)
_MULTIPLY = np.array([c | 1 for c in _CONSTANTS[:PERMUTATIONS]], dtype=np.uint64)
_ADD = np.array(_CONSTANTS[PERMUTATIONS:], dtype=np.uint64)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S32, _S48 = (np.uint64(n) for n in (30, 27, 31, 32, 48))


@dataclass(frozen=True)
class Fingerprint:
    """A text's MinHash values (16 bits each, as bytes), its band keys, and its word count."""

    values: bytes
    bands: tuple[str, ...]
    words: int


def words_of(text: str) -> list[str]:
    """The words a text is compared by: folded, every number "0", no emoji or punctuation."""
    return _WORD.findall(_NUMBER.sub(" 0 ", fold(text)))


def fingerprint(text: str) -> Fingerprint | None:
    """The fingerprint of `text`, or None if it has fewer than MIN_WORDS words."""
    words = words_of(text)
    if len(words) < MIN_WORDS:
        return None
    hashes = np.fromiter((zlib.crc32(w.encode()) for w in words), np.uint64, len(words))
    # Repeated pairs need not be removed: they cannot change a minimum.
    pairs = (hashes[:-1] << _S32) | hashes[1:]
    # splitmix64's finaliser spreads each pair over all 64 bits before the permutations.
    pairs ^= pairs >> _S30
    pairs *= _M1
    pairs ^= pairs >> _S27
    pairs *= _M2
    pairs ^= pairs >> _S31
    values = ((pairs[:, None] * _MULTIPLY + _ADD) >> _S48).min(axis=0).astype("<u2").tobytes()
    step = 2 * ROWS
    bands = tuple(
        f"{i}:{values[start : start + step].hex()}"
        for i, start in enumerate(range(0, len(values), step))
    )
    return Fingerprint(values, bands, len(words))


def copies_among(values: bytes, others: tuple[bytes, ...]) -> int:
    """How many of `others` (fingerprint values) are copies of the text with `values`."""
    if not others:
        return 0
    ours = np.frombuffer(values, dtype="<u2")
    theirs = np.frombuffer(b"".join(others), dtype="<u2").reshape(len(others), PERMUTATIONS)
    return int(((theirs == ours).mean(axis=1) >= SIMILAR).sum())


def sender_key(content: Content) -> str | None:
    """Who a submission is counted against: its e-mail hash, else its network hash."""
    if content.email_hash:
        return f"e:{content.email_hash}"
    if content.ip_hash:
        return f"i:{content.ip_hash}"
    return None


class FloodCheck(Check):
    """Spam for a text sent more than flood_max_copies times in the window; suspect for a
    sender over sender_max_per_window (see the module's docstring)."""

    name = "flood"
    version = "1"
    # Its only wait is the store's, which its socket timeouts end after a second
    # (worker.floodstore): the pipeline's alarm (two system calls each way) is not needed.
    time_budget = None

    def run(self, content: Content, env: Env) -> Result:
        """spam or suspect over a limit, else ok; FloodStoreError if the store is unreachable."""
        store = env.flood
        if store is None:
            return result(Verdict.ok, N_("not counted: no flood store configured"))
        config = env.settings
        window = config.flood_window_seconds
        minutes = max(1, round(window / 60))
        printed = fingerprint(content.text)
        sender = sender_key(content)
        member = (
            str(content.submission_id) if content.submission_id is not None else uuid.uuid4().hex
        )
        seen = store.record(
            member,
            printed.values if printed else b"",
            printed.bands if printed else (),
            (sender,) if sender else (),
            (content.received_at or env.now).timestamp(),
            window,
            # Room for chance matches among them: a copy is counted only once checked.
            limit=4 * (config.flood_max_copies + 1),
        )
        copies = 1 + copies_among(printed.values, seen.similar) if printed else 0
        if printed and copies > config.flood_max_copies:
            spam = content.kind is Kind.comment and printed.words >= SPAM_MIN_WORDS
            return result(
                Verdict.spam if spam else Verdict.suspect,
                N_("at least %(count)d copies in %(minutes)d minutes, more than %(max)d"),
                count=copies,
                minutes=minutes,
                max=config.flood_max_copies,
            )
        sent = seen.senders[0] if sender else 0
        if sent > config.sender_max_per_window:
            return result(
                Verdict.suspect,
                N_("this sender sent %(count)d in %(minutes)d minutes, more than %(max)d"),
                count=sent,
                minutes=minutes,
                max=config.sender_max_per_window,
            )
        if printed is None:
            return result(Verdict.ok, N_("too short to compare with other texts"))
        if copies == 1:
            return result(
                Verdict.ok,
                N_("no copies of this text in %(minutes)d minutes"),
                count=copies,
                minutes=minutes,
            )
        return result(
            Verdict.ok,
            N_("%(count)d copies of this text in %(minutes)d minutes"),
            count=copies,
            minutes=minutes,
        )
