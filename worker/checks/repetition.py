"""Repetition: a long run of one character ("!!!!!!!!!!!!!!!", "aaaaaaaaaaaaaaaa")."""

from __future__ import annotations

import re
from functools import lru_cache

from core.enums import Verdict
from core.i18n import N_
from worker.checks.base import Check, Content, Env, Result, result


@lru_cache(maxsize=8)
def _run_longer_than(limit: int) -> re.Pattern[str]:
    # Whitespace is left out: runs of spaces or blank lines are layout, not shouting.
    return re.compile(rf"(\S)\1{{{limit},}}")


def longest_run_over(text: str, limit: int) -> int:
    """The length of the longest run of one character longer than `limit`, or 0."""
    runs = [len(m.group(0)) for m in _run_longer_than(limit).finditer(text)]
    return max(runs, default=0)


class RepetitionCheck(Check):
    """Suspect when one character repeats more than settings.max_repeated_chars times."""

    name = "repetition"
    version = "1"

    def run(self, content: Content, env: Env) -> Result:
        """suspect over the limit, else ok."""
        config = env.settings
        limit = config.max_repeated_chars
        run = longest_run_over(content.text, limit)
        if run:
            # The character itself is not stored: for a tip it would be a piece of its text.
            return result(
                Verdict.suspect,
                N_("a character repeated %(count)d times, more than the limit of %(max)d"),
                count=run,
                max=limit,
            )
        return result(Verdict.ok, N_("no long repetitions"))
