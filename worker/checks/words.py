"""Blocked words: a configurable list of words and phrases that mark a submission as spam.

Matching is on whole words or whole phrases, after folding both the text and the list the same
way (NFKC, accents removed, case-folded, invisible formatting characters dropped), so
"VIAGRA" and "víagra" match "viagra" but "recargas" does not match inside "sobrecargas".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from core.config import Settings
from core.enums import Verdict
from core.i18n import N_
from worker.checks.base import Check, Content, Result, result


def fold(text: str) -> str:
    """`text` in the form we compare: NFKC, without accents or format characters, case-folded."""
    text = unicodedata.normalize("NFKC", text)
    decomposed = unicodedata.normalize("NFKD", text)
    kept = (c for c in decomposed if unicodedata.category(c) not in {"Mn", "Cf"})
    return unicodedata.normalize("NFC", "".join(kept).casefold())


@lru_cache(maxsize=32)
def _patterns(terms: tuple[str, ...]) -> list[tuple[str, re.Pattern[str]]]:
    patterns = []
    for term in terms:
        words = fold(term).split()
        if not words:
            continue
        # Whole words only; the words of a phrase may be separated by any run of spaces.
        body = r"\s+".join(re.escape(word) for word in words)
        patterns.append((term, re.compile(rf"(?<!\w){body}(?!\w)")))
    return patterns


def find_blocked(text: str, terms: tuple[str, ...]) -> str | None:
    """The first term of `terms` that `text` contains as a whole word or phrase, if any."""
    folded = fold(text)
    for term, pattern in _patterns(terms):
        if pattern.search(folded):
            return term
    return None


class BlockedWordsCheck(Check):
    """Spam when the text or the sender's name contains a term of settings.blocked_words."""

    name = "words"
    version = "1"

    def run(self, content: Content, config: Settings) -> Result:
        """spam naming the matched term, else ok."""
        for text in (content.text, content.name):
            term = find_blocked(text, config.blocked_words)
            if term is not None:
                return result(Verdict.spam, N_("matched blocked word %(word)s"), word=term)
        return result(Verdict.ok, N_("no blocked words"))
