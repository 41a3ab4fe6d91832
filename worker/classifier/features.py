"""Text to hashed features: the same code at training and at prediction time, numpy only.

A text is cleaned (U+FEFF and other invisible format characters dropped, HTML tags and entities
undone, NFKC) and folded (accents stripped, case-folded). URLs, e-mail addresses and phone
numbers become one placeholder character each, and every other digit becomes "0", so that the
short codes "87121" and "80082" look alike. Each URL also gives its domain ("dom=bit.ly") and
top-level domain as features, and the text gives a few shape features: its share of capitals,
its "!" count, its length and its number of links.

The features are word 1-2 grams, byte 3-6 grams of the folded UTF-8 text (characters, for the
Latin-script text we see once accents are gone), and those special tokens, in three blocks.
Each is hashed into `n_buckets` buckets: words and special tokens with zlib.crc32, byte n-grams
by packing their bytes exactly into one 64-bit integer, and every key is then mixed with the
splitmix64 finaliser in numpy. That is stable across processes and platforms (unlike Python's
salted hash()) and several times faster than one crc32 call per n-gram. In each block a bucket
counted c times weighs 1 + ln(c), and the block is scaled to unit length and then to its
configured weight, so repeating a word cannot outweigh the rest of the text.
"""

from __future__ import annotations

import html
import re
import unicodedata
import zlib
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

# Raised whenever a change here gives a trained model different features for the same text;
# a model records the version it was trained with and is refused by code of another version.
FEATURES_VERSION = 1

Indices = npt.NDArray[np.int64]
Values = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FeatureConfig:
    """What `vectorise` extracts; stored with each model so that it is read back the same way."""

    n_buckets: int = 2**18
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (3, 6)
    # Weights of the blocks once each is scaled to unit length.
    word_weight: float = 1.0
    # Character n-grams at half the words' weight: +0.005 F1 and a point less ham flagged on
    # YouTube cross-video, SMS no worse (docs/spam-data.md).
    char_weight: float = 0.5
    meta_weight: float = 1.0
    version: int = FEATURES_VERSION

    def __post_init__(self) -> None:
        if self.n_buckets < 2 or self.n_buckets & (self.n_buckets - 1) or self.n_buckets > 2**31:
            raise ValueError(f"n_buckets must be a power of two up to 2**31, not {self.n_buckets}")
        if not 1 <= self.word_ngrams[0] <= self.word_ngrams[1]:
            raise ValueError(f"bad word n-gram range {self.word_ngrams}")
        # A byte n-gram is packed whole into one 64-bit key.
        if not 1 <= self.char_ngrams[0] <= self.char_ngrams[1] <= 8:
            raise ValueError(f"bad character n-gram range {self.char_ngrams} (at most 8)")

    @property
    def block_weights(self) -> Values:
        """The weights of the word, character and special-token blocks."""
        return np.array((self.word_weight, self.char_weight, self.meta_weight))

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain JSON values."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        """The configuration `to_dict` wrote; ValueError for a features version we do not know."""
        if data.get("version") != FEATURES_VERSION:
            raise ValueError(
                f"the model's features are version {data.get('version')!r} but this code "
                f"computes version {FEATURES_VERSION}; rebuild the model"
            )
        try:
            return cls(
                n_buckets=int(data["n_buckets"]),
                word_ngrams=(int(data["word_ngrams"][0]), int(data["word_ngrams"][1])),
                char_ngrams=(int(data["char_ngrams"][0]), int(data["char_ngrams"][1])),
                word_weight=float(data["word_weight"]),
                char_weight=float(data["char_weight"]),
                meta_weight=float(data["meta_weight"]),
            )
        except (KeyError, IndexError, TypeError) as exc:
            raise ValueError(f"the model's feature configuration is incomplete: {exc!r}") from None


# What stands for a URL, an e-mail address and a phone number in the text: one private-use
# character each, so that each is one word and a handful of byte n-grams rather than the many
# n-grams of a placeholder word, which outweighed the rest of a tip full of contact details.
URL, EMAIL, PHONE = "\ue001", "\ue002", "\ue003"

# The crc32 start value for special tokens, so that the token "caps0" is not the word "caps0".
_META_SEED = 0x5EED0002

# Real tags (YouTube's <br /> and <a href=...>) go before entities are undone, so that the SMS
# set's "&lt;#&gt;" becomes the text "<#>" and is not taken for a tag.
_HREF = re.compile(r"""<a\s[^<>]*?href\s*=\s*["']?([^"'\s<>]+)[^<>]*>""", re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,300}>")
# Unicode's format characters (category Cf) as of Unicode 15: U+FEFF, which ends most YouTube
# comments, zero-width spaces and joiners, bidi controls, soft hyphens. Listed rather than tested
# one character at a time with unicodedata.category, which costs 10 µs a text.
_FORMAT = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)
# Combining marks: what is left of an accent once NFKD has split it from its letter.
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# The look-behind starts a match only at the start of a run of name characters: without it every
# character of every word is tried as an address's start.
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A URL with a scheme or "www.", or a bare domain on a common or spam-favoured top-level domain
# ("bit.ly/x", "promo.xyz"); Spanish words that are also top-level domains ("es") are left out.
_URL = re.compile(
    r"(?:\bhttps?://|\bwww\.)[^\s<>\"']+"
    r"|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*"
    r"\.(?:com|net|org|info|biz|ru|cn|xyz|top|io|ly|cu|gl|tk|co|uk|us|tv|online|site|shop"
    r"|club|click|link|live|app)\b(?:/[^\s<>\"']*)?"
    # Telegram's and WhatsApp's links; ".me" itself would take "gracias.me gustó" for a link.
    r"|\b(?:t|wa)\.me/[^\s<>\"']+"
)
# Seven to fifteen digits, optionally led by "+" and split by spaces, dots, dashes or brackets.
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d(?:[ ().-]{0,2}\d){6,14}(?!\w)")
# ...but not an amount with dots between thousands, as Spanish writes them: "1.500.000".
_THOUSANDS = re.compile(r"\d{1,3}(?:\.\d{3})+")
_WORD = re.compile(f"\\w+|[{URL}{EMAIL}{PHONE}]")
_DIGITS = str.maketrans("123456789", "000000000")
_UPPER = bytes(range(ord("A"), ord("Z") + 1))
_LETTERS = _UPPER + bytes(range(ord("a"), ord("z") + 1))
# Second-level labels under which registries sell names: "bbc.co.uk" is bbc's, not co.uk's.
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "gov", "edu", "ac", "gob", "nic"})

# splitmix64's finaliser (Steele, Lea, Flood 2014), applied to every packed n-gram at once.
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S27, _S30, _S31 = np.uint64(27), np.uint64(30), np.uint64(31)
_BYTE_STEP = np.uint64(256)
# An odd 64-bit constant (the golden ratio's), so that word n-gram keys spread over all bits.
_WORD_STEP = np.uint64(0x9E3779B97F4A7C15)


def clean(text: str) -> str:
    """`text` without format characters (U+FEFF...), HTML tags and entities; NFKC."""
    if "<" in text:
        text = _HREF.sub(r" \1 ", text)
        text = _TAG.sub(" ", text)
    if "&" in text:
        # Twice, for the doubly escaped "&amp;#39;" some exports carry.
        text = html.unescape(html.unescape(text))
    if text.isascii():
        return text
    return _FORMAT.sub("", unicodedata.normalize("NFKC", text))


def strip_accents(text: str) -> str:
    """`text` with the accents of its letters removed: "Holguín" -> "Holguin"."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFC", _MARKS.sub("", unicodedata.normalize("NFKD", text)))


def domain(url: str) -> str:
    """The registered domain of `url`: "http://www.bit.ly/x?y" -> "bit.ly"."""
    host = url.split("://", 1)[-1]
    for stop in "/?#:":
        host = host.split(stop, 1)[0]
    labels = [label for label in host.split(".") if label]
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def normalise(text: str) -> tuple[str, list[str]]:
    """The folded placeholder text the n-grams are taken from, and the special tokens beside it."""
    text = strip_accents(clean(text))
    specials = [f"bang{min(3, text.count('!'))}", f"len{min(11, len(text).bit_length())}"]
    # Capitals are counted among ASCII letters only, which is what Spanish and English text is
    # once accents are gone; bytes.translate counts them in C.
    ascii_bytes = text.encode("ascii", "ignore")
    letters = len(ascii_bytes) - len(ascii_bytes.translate(None, _LETTERS))
    if letters >= 8:
        capitals = len(ascii_bytes) - len(ascii_bytes.translate(None, _UPPER))
        specials.append(f"caps{5 * capitals // (letters + 1)}")
    text = text.casefold()
    if "@" in text:
        text = _EMAIL.sub(f" {EMAIL} ", text)
    if "." in text:
        links = 0

        def link(match: re.Match[str]) -> str:
            nonlocal links
            links += 1
            name = domain(match.group())
            specials.append("dom=" + name)
            specials.append("tld=" + name.rpartition(".")[2])
            return f" {URL} "

        text = _URL.sub(link, text)
        if links:
            specials.append(f"links{min(3, links)}")
    text = _PHONE.sub(_phone, text).translate(_DIGITS)
    return " ".join(text.split()), specials


def _phone(match: re.Match[str]) -> str:
    number = match.group()
    return number if _THOUSANDS.fullmatch(number) else f" {PHONE} "


def _mix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64's finaliser, in place: every input bit moves every output bit."""
    x ^= x >> _S30
    x *= _MIX1
    x ^= x >> _S27
    x *= _MIX2
    x ^= x >> _S31
    return x


def _ngrams(
    items: npt.NDArray[np.uint64], low: int, high: int, step: np.uint64
) -> list[npt.NDArray[np.uint64]]:
    """Keys for the low..high-grams of `items`: key(n) = key(n-1) * step + next item."""
    parts = []
    packed = items
    for n in range(1, high + 1):
        if n > 1:
            packed = packed[:-1] * step + items[n - 1 :]
        if n >= low and len(packed):
            parts.append(packed)
    return parts


def _keys(folded: str, specials: list[str], config: FeatureConfig) -> npt.NDArray[np.int64]:
    """One key per word n-gram, byte n-gram and special token: its bucket plus its block's base."""
    words = _WORD.findall(folded)
    word_hashes = np.fromiter(
        map(zlib.crc32, map(str.encode, words)), dtype=np.uint64, count=len(words)
    )
    # Byte n-grams are packed exactly (n bytes in the low 8n bits); word n-grams combine their
    # words' crc32 polynomially, modulo 2**64 (numpy's uint64 arithmetic wraps silently).
    word_parts = _ngrams(word_hashes, *config.word_ngrams, step=_WORD_STEP)
    text = np.frombuffer(b" " + folded.encode() + b" ", dtype=np.uint8).astype(np.uint64)
    char_parts = _ngrams(text, *config.char_ngrams, step=_BYTE_STEP)
    meta = np.fromiter(
        (zlib.crc32(token.encode(), _META_SEED) for token in specials),
        dtype=np.uint64,
        count=len(specials),
    )
    n_words = sum(len(part) for part in word_parts)
    n_chars = sum(len(part) for part in char_parts)
    x = _mix(np.concatenate([*word_parts, *char_parts, meta]))
    keys = (x & np.uint64(config.n_buckets - 1)).astype(np.int64)
    # Each block keeps its own buckets: key = bucket + block * n_buckets.
    keys[n_words : n_words + n_chars] += config.n_buckets
    keys[n_words + n_chars :] += 2 * config.n_buckets
    return keys


def vectorise(text: str, config: FeatureConfig) -> tuple[Indices, Values]:
    """The features of `text`: bucket indices and their values (an index may repeat)."""
    folded, specials = normalise(text)
    keys = _keys(folded, specials, config)
    keys.sort()
    # np.unique(keys, return_counts=True), but in a third of its time: bounds holds the start
    # of each run of equal keys, and the end of the last.
    n = len(keys)
    edges = np.ones(n + 1, dtype=bool)
    np.not_equal(keys[1:], keys[:-1], out=edges[1:n])
    bounds = np.flatnonzero(edges)
    unique = keys[bounds[:-1]]
    values = np.log(bounds[1:] - bounds[:-1]) + 1.0
    shift = config.n_buckets.bit_length() - 1
    block = unique >> shift
    lengths = np.sqrt(np.bincount(block, weights=values * values, minlength=3))
    lengths[lengths == 0] = 1.0
    return unique & (config.n_buckets - 1), values * (config.block_weights / lengths)[block]
