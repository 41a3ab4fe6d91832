"""Text as the word lists compare it, so that disguised words still match and real ones do not.

Every text is read in two forms, and a term matches if it is a whole word (or a whole phrase)
of either:

- the *folded* form: NFKC (full-width and styled letters become plain ones), case-folded,
  accents removed (but not the tilde of "ñ": "año" is not "ano"), invisible characters such as
  zero-width joiners removed;
- the *unmasked* form, built from the folded one for texts that hide words: letters spaced out
  ("r e c a r g a s", "v.i.a.g.r.a", "v-i-a-g-r-a") joined up, digits and symbols read as the
  letters they imitate ("v1agra", "R3CARGAS", "c@sino", "$exo") but only inside a word that also
  has letters, so phone numbers and prices stay as they are; look-alike Cyrillic and Greek
  letters read as Latin ones; and a letter repeated three times or more read once ("viaaagra").

Whole words means that "recargas" does not match "sobrecargas" or "recargasbaratas", and
"casino" does not match "casinos": admins add the forms they mean. The words of a phrase may be
separated by any spaces or punctuation ("casino, online"). Matching looks words up in a table,
so its cost grows with the text, not with the length of the lists.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Characters that show nothing: format characters (zero-width spaces and joiners, bidi
# controls, soft hyphens, tags), combining marks (accents, once split off a letter), and the
# blank "filler" letters spammers use to split a word without a visible gap.
_INVISIBLE_CATEGORIES = frozenset({"Mn", "Me", "Cf"})
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# A word: letters and digits (an underscore separates words, as spaces do).
_WORD = re.compile(r"[^\W_]+")
# Three or more single letters or digits, each set apart by one to three spaces or marks:
# "r e c a r g a s", "v.i.a.g.r.a", "v - i - a". Leet symbols count as letters here.
_GAP = r"[\s.\-_*·•,:;/~]"
_SPACED = re.compile(rf"(?<![^\W_])[^\W_](?:{_GAP}{{1,3}}(?:[^\W_]|[@$])(?![^\W_])){{2,}}")
_SPACED_GAP = re.compile(rf"{_GAP}+")
# The quick search for one (run on the text after a space): ASCII classes and a short list
# of what may come before, which the search skips ahead to, cost a fraction of the above.
_SPACED_HINT = re.compile(
    r"[\s(¡¿\"'*][a-z0-9ñ][\s.\-_*·•,:;/~]{1,3}[a-z0-9ñ@$][\s.\-_*·•,:;/~]{1,3}"
    r"[a-z0-9ñ@$](?![a-z0-9ñ])"
)
# A letter next to a digit, or a symbol inside a word: the hint that a text uses leetspeak.
# Each branch starts at the digit or symbol, so that the search skips ahead to those.
_LEET_HINT = re.compile(
    r"[0-9@$€!|+](?:(?<=[^\W\d_][0-9])|(?<=[0-9])(?=[^\W\d_])"
    r"|(?<=[^\W_][@$€!|+])(?=[^\W_])|(?<![^\W_][@$])(?<=[@$])(?=[^\W\d_]))"
)
# A word as leetspeak writes it: letters, digits, symbols inside it, a leading "$" or "@".
_LEET_WORD = re.compile(r"[$@]?[^\W_]+(?:[@$€!|+][^\W_]+)*")
_LEET_SYMBOLS = frozenset("@$€!|+")
_LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "9": "g",
        "@": "a",
        "$": "s",
        "€": "e",
        "!": "i",
        "|": "l",
        "+": "t",
    }
)
# A letter three times or more ("viaaagra"); not "w", for "www". The quick search finds any
# character three times: mostly "...", "!!!" or "000", skipped in Python.
_REPEATED = re.compile(r"([a-vx-zñ])\1{2,}")
_REPEATED_HINT = re.compile(r"(.)\1\1")
_SQUEEZED = frozenset("abcdefghijklmnopqrstuvxyzñ")
# Cyrillic and Greek letters that look like Latin ones, and Latin small capitals (after case
# folding, so lower case only); the hint is a search for any letter of those blocks.
_LOOKALIKE_HINT = re.compile(r"[\u0250-\u02af\u0370-\u04ff\u0500-\u052f\u1d00-\u1d2b\ua730-\ua731]")
_LOOKALIKES = str.maketrans(
    {
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "і": "i",
        "ј": "j",
        "ѕ": "s",
        "һ": "h",
        "ԁ": "d",
        "ԛ": "q",
        "ԝ": "w",
        "ү": "y",
        "α": "a",
        "β": "b",
        "ε": "e",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ı": "i",
        "ᴀ": "a",
        "ʙ": "b",
        "ᴄ": "c",
        "ᴅ": "d",
        "ᴇ": "e",
        "ɢ": "g",
        "ʜ": "h",
        "ɪ": "i",
        "ᴊ": "j",
        "ᴋ": "k",
        "ʟ": "l",
        "ᴍ": "m",
        "ɴ": "n",
        "ᴏ": "o",
        "ᴘ": "p",
        "ʀ": "r",
        "ꜱ": "s",
        "ᴛ": "t",
        "ᴜ": "u",
        "ᴠ": "v",
        "ᴡ": "w",
        "ʏ": "y",
        "ᴢ": "z",
    }
)


def clean(text: str) -> str:
    """`text` in NFKC without invisible characters; case and accents kept (links use this)."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKC", text)
    for char in set(_NON_ASCII.findall(text)):
        if _invisible(char):
            text = text.replace(char, "")
    return text


def fold(text: str) -> str:
    """`text` as terms are compared: NFKC, case-folded, without accents or invisible characters.

    "ñ" is kept: in Spanish "año" and "ano" are different words (see TermIndex for the other
    way round).
    """
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKC", text).casefold()
    # Character by character, each distinct one once: a text has few distinct non-ASCII
    # characters, and this costs a fraction of decomposing and filtering the whole text.
    for char in set(_NON_ASCII.findall(text)):
        folded = _fold_char(char)
        if folded != char:
            text = text.replace(char, folded)
    return text


def _invisible(char: str) -> bool:
    return unicodedata.category(char) in _INVISIBLE_CATEGORIES or char in _FILLERS


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    # One character of an NFKC, case-folded text: without its accents (but "ñ" stays).
    if char == "ñ" or _invisible(char):
        return "" if char != "ñ" else char
    decomposed = unicodedata.normalize("NFKD", char)
    if decomposed == char:
        return char
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not _invisible(c)))


def unmask(folded: str) -> str:
    """A folded text with spaced-out letters joined, leetspeak and look-alikes read as letters."""
    return _unmask(folded)[0]


def _unmask(folded: str, squeeze: bool = True) -> tuple[str, tuple[str, ...]]:
    # The unmasked text, and the letters of each spaced-out run (unmasked too).
    text = folded
    runs: list[str] = []
    # Each step is skipped unless a quick search finds what it undoes: most texts hide nothing.
    if not text.isascii() and _LOOKALIKE_HINT.search(text):
        text = text.translate(_LOOKALIKES)
    if _SPACED_HINT.search(" " + text):

        def join(match: re.Match[str]) -> str:
            letters = _SPACED_GAP.sub("", match.group())
            runs.append(letters)
            return letters

        text = _SPACED.sub(join, text)
    if _LEET_HINT.search(text):
        text = _unleet_text(text)
    if squeeze and any(m.group(1) in _SQUEEZED for m in _REPEATED_HINT.finditer(text)):
        text = _REPEATED.sub(r"\1", text)
    return text, tuple(_REPEATED.sub(r"\1", _LEET_WORD.sub(_unleet, run)) for run in runs)


def _unleet_text(text: str) -> str:
    # Only the words around what the hint finds: most words of a text that has "2do" or
    # "abc123" somewhere are plain, and calling back into Python for each would cost more.
    parts: list[str] = []
    done = 0
    for hint in _LEET_HINT.finditer(text):
        at = hint.start()
        if at < done:
            continue
        start = at
        while start > done and (text[start - 1].isalnum() or text[start - 1] in _LEET_SYMBOLS):
            start -= 1
        word = _LEET_WORD.search(text, start)
        if word is None or not word.start() <= at < word.end():
            continue
        parts += (text[done : word.start()], _unleet(word))
        done = word.end()
    parts.append(text[done:])
    return "".join(parts)


def _unleet(match: re.Match[str]) -> str:
    word = match.group()
    # Only words that mix letters with digits or symbols: "v1agra", not "2024" or "+53".
    if word.isalpha() or not any(c.isalpha() for c in word):
        return word
    return word.translate(_LEET)


@dataclass(frozen=True, slots=True)
class Normalised:
    """A text's folded and unmasked forms, and the words of each (None: same as folded).

    `runs` holds the letters of each spaced-out run ("r e c a r g a s a" -> "recargasa"):
    where its words begin and end is not known ("recargas a"), so terms are looked for
    anywhere inside one.
    """

    folded: str
    unmasked: str
    words: tuple[str, ...]
    unmasked_words: tuple[str, ...] | None
    runs: tuple[str, ...] = ()


def normalise(text: str) -> Normalised:
    """Both forms of `text` and their words, computed once for every list that is checked."""
    folded = fold(text)
    unmasked, runs = _unmask(folded)
    words = tuple(_WORD.findall(folded))
    if unmasked == folded:
        return Normalised(folded, unmasked, words, None)
    return Normalised(folded, unmasked, words, tuple(_WORD.findall(unmasked)), runs)


def term_words(term: str) -> tuple[str, ...]:
    """The words a term is matched as: folded, punctuation dropped. Empty: it never matches."""
    return tuple(_WORD.findall(fold(term)))


# Terms shorter than this must be a whole spaced-out run to match one.
_RUN_MIN = 4


class TermIndex:
    """A list of terms indexed by their first word, for whole-word lookups in a text."""

    def __init__(self, terms: tuple[str, ...]) -> None:
        index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        # Each term's letters without spaces, for the spaced-out runs: short ones whole, the
        # others by their first four letters.
        short: dict[str, str] = {}
        by_start: dict[str, list[tuple[str, str]]] = {}
        for term in terms:
            words = term_words(term)
            # A term written with "ñ" also matches the spelling of keyboards without it
            # ("pequeño", "pequeno"); a term without one never matches a word with one. A
            # term an admin typed disguised ("r3cargas") also matches what it stands for.
            plain = tuple(w.replace("ñ", "n") for w in words)
            # Not with repeated letters squeezed: "xxx" must not become "x".
            unmasked = tuple(_WORD.findall(_unmask(fold(term), squeeze=False)[0])) if words else ()
            for key in dict.fromkeys((words, plain, unmasked)):
                if key:
                    index.setdefault(key[0], []).append((key, term))
                    letters = "".join(key)
                    if len(letters) < _RUN_MIN:
                        short.setdefault(letters, term)
                    else:
                        by_start.setdefault(letters[:_RUN_MIN], []).append((letters, term))
        self._index = index
        # Most texts hold no term at all: a set operation in C says so before any Python loop.
        self._first_words = frozenset(index)
        self._short = short
        self._by_start = by_start
        self._terms = terms

    def find(self, text: Normalised) -> str | None:
        """The first term found in the folded words, else in the unmasked ones; as typed."""
        found = self._first(text.words)
        if found is None and text.unmasked_words is not None:
            found = self._first(text.unmasked_words)
        if found is None and text.runs:
            found = next(iter(self._in_runs(text.runs)), None)
        return found

    def find_all(self, text: Normalised) -> list[str]:
        """Every term found in either form, in the lists' order (for the admins' "try it")."""
        found = set(self._all(text.words))
        if text.unmasked_words is not None:
            found.update(self._all(text.unmasked_words))
        found.update(self._in_runs(text.runs))
        return [term for term in dict.fromkeys(self._terms) if term in found]

    def _first(self, words: tuple[str, ...]) -> str | None:
        if self._first_words.isdisjoint(words):
            return None
        index = self._index
        for i, word in enumerate(words):
            candidates = index.get(word)
            if candidates:
                for term_words_, term in candidates:
                    n = len(term_words_)
                    if n == 1 or words[i : i + n] == term_words_:
                        return term
        return None

    def _in_runs(self, runs: tuple[str, ...]) -> list[str]:
        # A short term must be a whole run: "ayoeu" ("a y o e u") must not match "yo".
        found = []
        for run in runs:
            if run in self._short:
                found.append(self._short[run])
            for i in range(len(run) - _RUN_MIN + 1):
                for letters, term in self._by_start.get(run[i : i + _RUN_MIN], ()):
                    if run.startswith(letters, i):
                        found.append(term)
        return found

    def _all(self, words: tuple[str, ...]) -> list[str]:
        if self._first_words.isdisjoint(words):
            return []
        index = self._index
        found = []
        for i, word in enumerate(words):
            for term_words_, term in index.get(word, ()):
                n = len(term_words_)
                if n == 1 or words[i : i + n] == term_words_:
                    found.append(term)
        return found


@lru_cache(maxsize=64)
def _build(terms: tuple[str, ...]) -> TermIndex:
    return TermIndex(terms)


_lock = threading.Lock()
_by_identity: dict[int, tuple[tuple[str, ...], TermIndex]] = {}


def term_index(terms: tuple[str, ...]) -> TermIndex:
    """The index of `terms`, built once per list.

    The worker passes the same tuple for every submission until the lists are read again, so
    it is found by identity first: hashing a long tuple on every call would cost more than
    the lookup itself.
    """
    entry = _by_identity.get(id(terms))
    if entry is not None and entry[0] is terms:
        return entry[1]
    index = _build(terms)
    with _lock:
        if len(_by_identity) >= 64:
            _by_identity.clear()
        # The tuple is kept with its index, so its id cannot be reused while the entry exists.
        _by_identity[id(terms)] = (terms, index)
    return index


def find_term(text: str, terms: tuple[str, ...]) -> str | None:
    """The first of `terms` that `text` holds as a whole word or phrase, as typed; else None."""
    return term_index(terms).find(normalise(text))
