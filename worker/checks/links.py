"""Links: where they go and how many there are.

- A link to a blocked domain (or any subdomain of one) makes a comment spam. A tip is only held:
  a source may send a link to a bad site as evidence.
- A link through a URL shortener (settings.url_shorteners) hides where it goes: held.
- Links to allowed domains (the outlet's own site, major news sites, the list admins manage)
  are never counted; more of the others than a kind allows holds the submission.

Tips often carry evidence (links to documents, a phone number, an e-mail address), so phone
numbers and e-mail addresses are never links, and no number of links alone makes anything spam.
Reasons name the domain as it is on the list, not the link the sender wrote.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache

from core.enums import Kind, Verdict
from core.i18n import N_
from worker.checks.base import Check, Content, Env, Result, result
from worker.normalize import clean

# E-mail addresses are removed before looking for links, so that "ana@example.com" is not
# one. Not after "://" or inside a word: "http://bbc.com@promo.xyz" is a link to promo.xyz.
EMAIL = re.compile(r"(?<![\w.+\-/:])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# "bit[.]ly", "bit(dot)ly": dots written so that a text is not turned into a link.
HIDDEN_DOT = re.compile(r"\s?[\[({]\s*(?:\.|dot|punto)\s*[\])}]\s?", re.IGNORECASE)
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# Top-level domains spammers favour: a bare "promo.xyz" is a link even without a path. Those
# that are also Spanish words ("es", "me") are left out so that "tarde.es un problema" (a
# missing space) is not a link; any host followed by a path ("ejemplo.es/oferta") is one.
SPAM_TLDS = frozenset(
    {"com", "net", "org", "info", "biz", "ru", "cn", "xyz", "top", "io", "ly", "cu"}
    | {"online", "site", "shop", "club", "click", "link", "live"}
)
CANDIDATE = re.compile(r"\.[a-z]|://", re.IGNORECASE)
NON_SPACE = re.compile(r"\S*")
LINK = re.compile(
    # A URL with a scheme (also "hxxp", written so as not to be clickable) or "www.".
    r"(?:\b(?:https?|hxxps?|ftp)://|\bwww\.)(?P<url>[^\s<>\"']+)"
    # A bare host name, with an optional path.
    rf"|(?<![\w@.-])(?P<host>(?:{_LABEL}\.)+[a-z]{{2,24}})(?![\w-])(?P<path>/[^\s<>\"']*)?",
    re.IGNORECASE,
)


def link_hosts(text: str, known: tuple[Collection[str], ...] = ()) -> list[str]:
    """The host of each link in `text`, lower-cased, e-mail addresses and phone numbers aside.

    A bare host name counts as a link when it has a path, is on a top-level domain spammers
    favour, or is (under) a domain of one of the `known` sets (shorteners, blocked domains).
    """
    text = clean(text)
    if "." not in text:
        return []
    if "[" in text or "(" in text or "{" in text:
        text = HIDDEN_DOT.sub(".", text)
    hosts: list[str] = []
    end = 0
    # Only the words around a dot followed by a letter, or around "://", can hold a link: a
    # quick search for those, then the full pattern on each such word alone.
    for candidate in CANDIDATE.finditer(text):
        at = candidate.start()
        if at < end:
            continue
        start = max(text.rfind(" ", 0, at), text.rfind("\n", 0, at), text.rfind("\t", 0, at)) + 1
        end = NON_SPACE.match(text, at).end()  # type: ignore[union-attr]
        word = text[start:end]
        if "@" in word:
            word = EMAIL.sub(" ", word)
        hosts.extend(_hosts(word, known))
    return hosts


def _hosts(word: str, known: tuple[Collection[str], ...]) -> list[str]:
    hosts = []
    for match in LINK.finditer(word):
        url = match.group("url")
        if url is not None:
            host = url
            for stop in "/?#\\":
                host = host.split(stop, 1)[0]
            host = host.rsplit("@", 1)[-1].split(":", 1)[0]
        else:
            host = match.group("host")
            if not match.group("path"):
                tld = host.rsplit(".", 1)[-1].lower()
                if tld not in SPAM_TLDS and not any(listed(host.lower(), d) for d in known):
                    continue
        host = host.strip(".").lower()
        if host:
            hosts.append(host)
    return hosts


def count_links(text: str) -> int:
    """How many links `text` holds, e-mail addresses and phone numbers excluded."""
    return len(link_hosts(text))


def listed(host: str, domains: Collection[str]) -> str | None:
    """The entry of `domains` that `host` is or is under ("m.bbc.com" -> "bbc.com"), if any."""
    if not domains:
        return None
    labels = host.split(".")
    for i in range(len(labels) - 1):
        candidate = ".".join(labels[i:])
        if candidate in domains:
            return candidate
    return host if host in domains else None


@lru_cache(maxsize=16)
def shorteners(names: tuple[str, ...]) -> frozenset[str]:
    """settings.url_shorteners as a set of lower-case domains."""
    return frozenset(name.strip().lower().removeprefix("www.") for name in names if name.strip())


class LinksCheck(Check):
    """Blocked domains, URL shorteners and the number of links not to allowed domains."""

    name = "links"
    version = "2"

    def run(self, content: Content, env: Env) -> Result:
        """spam (a comment) or suspect (a tip) on a blocked domain; suspect on a shortener or
        over the limit; else ok with the count."""
        lists = env.lists
        short = shorteners(env.settings.url_shorteners)
        blocked_entry = shortener = None
        count = 0
        for host in link_hosts(content.text, (short, lists.blocked_domains)):
            blocked = listed(host, lists.blocked_domains)
            if blocked is None and listed(host, lists.allowed_domains) is not None:
                continue
            count += 1
            if blocked is not None:
                blocked_entry = blocked_entry or blocked
            elif shortener is None:
                shortener = listed(host, short)
        if blocked_entry is not None:
            verdict = Verdict.suspect if content.kind is Kind.tip else Verdict.spam
            return result(verdict, N_("link to a blocked domain: %(domain)s"), domain=blocked_entry)
        if shortener is not None:
            return result(Verdict.suspect, N_("link shortener: %(domain)s"), domain=shortener)
        config = env.settings
        limit = config.max_links_tip if content.kind is Kind.tip else config.max_links_comment
        if count > limit:
            return result(
                Verdict.suspect,
                N_("links: %(count)d, more than the limit of %(max)d"),
                count=count,
                max=limit,
            )
        return result(Verdict.ok, N_("links: %(count)d"), count=count)
