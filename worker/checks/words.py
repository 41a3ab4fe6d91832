"""Word lists: a banned word or phrase makes a submission spam, a suspect one holds it.

The lists are the ones admins manage in the staff site and with `tipline lists` (the banned
words also hold settings.blocked_words). Terms match whole words or phrases of the text or the
sender's name, however they are disguised (worker.normalize: accents, capitals, zero-width
characters, "v1agra", "r e c a r g a s"). A tipster's contact is never checked: it is theirs to
write as they need. The reason names the term as it is on the list, never the text around it.
"""

from __future__ import annotations

from core.enums import Verdict
from core.i18n import N_
from worker.checks.base import Check, Content, Env, Result, result
from worker.normalize import normalise, term_index


class BlockedWordsCheck(Check):
    """Spam on a banned word, suspect on a suspect word, in the text or the sender's name."""

    name = "words"
    version = "2"

    def run(self, content: Content, env: Env) -> Result:
        """spam or suspect naming the first term matched (banned words first), else ok."""
        banned = term_index(env.lists.banned_words)
        suspect = term_index(env.lists.suspect_words)
        text = normalise(content.text)
        name = normalise(content.name) if content.name else None
        for reason, where, index, verdict in (
            (N_("banned word: %(word)s"), text, banned, Verdict.spam),
            (N_("banned word in the name: %(word)s"), name, banned, Verdict.spam),
            (N_("suspect word: %(word)s"), text, suspect, Verdict.suspect),
            (N_("suspect word in the name: %(word)s"), name, suspect, Verdict.suspect),
        ):
            term = index.find(where) if where is not None else None
            if term is not None:
                return result(verdict, reason, word=term)
        return result(Verdict.ok, N_("no listed words"))
