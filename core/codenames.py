"""A source's way back: a random codename, kept only as a slow hash, and the key it derives.

After sending a tip the source is shown a codename once: 7 or more words drawn with `secrets`
from the word list of the language they read the page in (core/wordlists, README there). The
server keeps none of it in the clear:

- **Recognition.** One Argon2id run stretches the normalised codename (salted with a value
  derived from the server's `hash_key`, so the same codename always gives the same result and
  can be looked up by equality) into a 32-byte master secret. A keyed BLAKE2b of that master
  with the purpose "lookup" is stored in `TipDetails.codename_hash`.
- **Replies.** A keyed BLAKE2b of the same master with the purpose "reply key" is the private
  half of a Curve25519 key pair; only the public half is stored (`reply_public_key`). Replies
  are sealed to it, so the database (and the staff host) at rest cannot open what the newsroom
  sent the source: only someone who types the codename can.

One Argon2id run feeds both values (domain-separated by BLAKE2b keys, which are one-way), not
two: the source pays the slow hash once when sending a tip and once per visit, about 0.1 s,
instead of twice. Knowing the stored lookup value reveals neither the master nor the key.
Changing `hash_key` makes every codename unrecognisable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import nacl.pwhash
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import Settings
from core.db import utcnow
from core.models import TipDetails
from core.site_settings import load as load_site_settings

WORDLISTS = Path(__file__).resolve().parent / "wordlists"
LANGUAGES = ("en", "es")
FALLBACK_LANGUAGE = "en"

# At least 7 words, and as many as it takes to reach 85 bits: 7 from a list of ~7,000 words or
# more (English, 7,772 words: 90 bits), 8 from a shorter one (Spanish, 2,086 words: 88 bits).
MIN_WORDS = 7
MIN_BITS = 85

# Argon2id at libsodium's "interactive" limits (2 passes, 64 MiB, ~0.09 s here). A codename
# carries 85+ bits, so the stretching is a second line of defence, not the first.
KDF_OPS = nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE
KDF_MEM = nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE

_LOOKUP = b"tipline codename lookup"
_REPLY_KEY = b"tipline codename reply key"


class CodenameError(ValueError):
    """A codename cannot be made or used as asked; the message says why."""


# --- words -----------------------------------------------------------------------------------


@cache
def wordlist(language: str) -> tuple[str, ...]:
    """The words of `language`'s list (distinct, lower-case ASCII letters), in file order."""
    if language not in LANGUAGES:
        raise CodenameError(f"no codename word list for {language!r}")
    words: list[str] = []
    for line in (WORDLISTS / f"{language}.txt").read_text(encoding="utf-8").splitlines():
        word = line.strip()
        if word and not word.startswith("#"):
            words.append(word)
    return tuple(dict.fromkeys(words))


def language_for(locale: object) -> str:
    """The word list's language for a page shown in `locale` ("es", "es_MX", a Babel Locale)."""
    language = str(locale or "").replace("-", "_").split("_")[0].lower()
    return language if language in LANGUAGES else FALLBACK_LANGUAGE


def words_needed(list_size: int) -> int:
    """How many words from a list of `list_size` make a codename (at least MIN_BITS bits)."""
    return max(MIN_WORDS, math.ceil(MIN_BITS / math.log2(list_size)))


def generate(locale: object) -> str:
    """A new random codename in the language of `locale`: words separated by spaces."""
    words = wordlist(language_for(locale))
    return " ".join(secrets.choice(words) for _ in range(words_needed(len(words))))


def normalise(text: str) -> str:
    """`text` as the hash sees it: accents, case, punctuation and extra spaces do not matter."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.findall(r"[a-z]+", bare))


# --- what the codename derives -----------------------------------------------------------------


@dataclass(frozen=True)
class Derived:
    """What a codename derives: the value stored to recognise it, and the reply key pair."""

    lookup: str
    private_key: bytes

    @property
    def public_key(self) -> bytes:
        """The reply key's public half: the only part of it the server stores."""
        return bytes(PrivateKey(self.private_key).public_key)


def derive(hash_key: bytes, codename: str) -> Derived:
    """The lookup value and reply key of `codename` (normalised first); one Argon2id run."""
    if not hash_key:
        raise CodenameError("no hash key configured (run `tipline init`)")
    salt = hmac.new(hash_key, b"tipline codename salt", hashlib.sha256).digest()
    salt = salt[: nacl.pwhash.argon2id.SALTBYTES]
    master = nacl.pwhash.argon2id.kdf(
        32, normalise(codename).encode(), salt, opslimit=KDF_OPS, memlimit=KDF_MEM
    )
    lookup = hashlib.blake2b(_LOOKUP, key=master, digest_size=32).hexdigest()
    private_key = hashlib.blake2b(_REPLY_KEY, key=master, digest_size=32).digest()
    return Derived(lookup, private_key)


def issue(
    session: Session,
    settings: Settings,
    details: TipDetails,
    locale: object,
    now: datetime | None = None,
) -> str:
    """Give a tip a new codename (its hash, reply key and expiry); the codename. Caller commits.

    The codename is returned to be shown once and is kept nowhere.
    """
    codename = generate(locale)
    derived = derive(settings.hash_key, codename)
    details.codename_hash = derived.lookup
    details.reply_public_key = derived.public_key
    days = load_site_settings(session).codename_days
    details.codename_expires_at = (now or utcnow()) + timedelta(days=days) if days > 0 else None
    return codename


@dataclass(frozen=True)
class SourceAccess:
    """A source who typed a working codename: their tip, and the key that opens replies."""

    submission_id: int
    private_key: bytes


def recognise(
    session: Session, hash_key: bytes, codename: str, now: datetime | None = None
) -> SourceAccess | None:
    """The tip whose codename this is, if it still works; None for a wrong or expired one.

    Both refusals cost the same: the slow hash is always computed and one row always looked up.
    """
    derived = derive(hash_key, codename)
    details = session.scalar(select(TipDetails).where(TipDetails.codename_hash == derived.lookup))
    if details is None or details.reply_public_key is None:
        return None
    if expired(details, now):
        return None
    if not hmac.compare_digest(details.reply_public_key, derived.public_key):
        return None
    return SourceAccess(details.submission_id, derived.private_key)


def expired(details: TipDetails, now: datetime | None = None) -> bool:
    """Whether the tip's codename has stopped working (it never got a reply in time)."""
    until = details.codename_expires_at
    return until is not None and until <= (now or utcnow())


def keep_after_reply(details: TipDetails) -> None:
    """The newsroom replied: the codename no longer expires by the no-reply rule."""
    details.codename_expires_at = None


# --- sealing to the source ----------------------------------------------------------------------


def seal_for_source(reply_public_key: bytes, data: Mapping[str, Any]) -> bytes:
    """`data` as JSON, sealed to the source's reply key: only their codename opens it."""
    plaintext = json.dumps(dict(data), ensure_ascii=False).encode()
    return bytes(SealedBox(PublicKey(reply_public_key)).encrypt(plaintext))


def open_for_source(private_key: bytes, sealed: bytes) -> dict[str, Any]:
    """What `seal_for_source` sealed, opened with the codename's key; CodenameError if not."""
    try:
        data = json.loads(SealedBox(PrivateKey(private_key)).decrypt(sealed).decode())
    except (CryptoError, ValueError) as exc:
        raise CodenameError("this key does not open it") from exc
    if not isinstance(data, dict):
        raise CodenameError("sealed content is not an object")
    return data
