"""Links: more links than a kind allows holds the submission for a person.

Tips often carry evidence (links to documents, a phone number, an e-mail address), so a tip is
never called spam for those alone: too many links only make it suspect, and phone numbers and
e-mail addresses are not counted at all.
"""

from __future__ import annotations

import re

from core.config import Settings
from core.enums import Kind, Verdict
from core.i18n import N_
from worker.checks.base import Check, Content, Result, result

# E-mail addresses are removed before counting, so that "ana@example.com" is not a link.
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A URL with a scheme or "www.", or a bare domain on a top-level domain spammers favour
# ("bit.ly/x", "promo.xyz"). Ambiguous ones that are also Spanish words ("es", "me") are left
# out so that "tarde.es un problema" (a missing space) is not a link.
LINK = re.compile(
    r"(?:\bhttps?://|\bwww\.)[^\s<>\"']+"
    r"|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*"
    r"\.(?:com|net|org|info|biz|ru|cn|xyz|top|io|ly|cu|online|site|shop|club|click|link|live)"
    r"\b(?:/[^\s<>\"']*)?",
    re.IGNORECASE,
)


def count_links(text: str) -> int:
    """How many links `text` holds, e-mail addresses excluded."""
    return len(LINK.findall(EMAIL.sub(" ", text)))


class LinksCheck(Check):
    """Counts links against settings.max_links_comment / max_links_tip."""

    name = "links"
    version = "1"

    def run(self, content: Content, config: Settings) -> Result:
        """ok up to the limit, suspect over it (never spam on links alone)."""
        limit = config.max_links_tip if content.kind is Kind.tip else config.max_links_comment
        count = count_links(content.text)
        if count > limit:
            return result(
                Verdict.suspect,
                N_("links: %(count)d, more than the limit of %(max)d"),
                count=count,
                max=limit,
            )
        return result(Verdict.ok, N_("links: %(count)d"), count=count)
