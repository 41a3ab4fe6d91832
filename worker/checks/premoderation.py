"""Pre-moderation: the admins' site-wide setting that holds comments for a moderator.

core.site_settings' `premoderation` says which comments wait, on top of the article's own mode
and the other checks: all of them, those of new commenters (no published comment yet), or
those with links. Tips are never held by it: editors see every tip anyway.

A commenter is known by their e-mail hash when they gave an address (their record from
worker.environment.standings); otherwise by their network hash. A network is shared by many
readers (a café, a carrier's NAT), so it stands in only when there is no address.
"""

from __future__ import annotations

from core.enums import Kind, Premoderation, Verdict
from core.i18n import N_
from worker.checks.base import Check, Content, Env, Result, result
from worker.checks.links import link_hosts, listed, shorteners


class PremoderationCheck(Check):
    """Hold comments the site-wide pre-moderation setting names."""

    name = "premoderation"
    version = "1"

    def run(self, content: Content, env: Env) -> Result:
        """suspect when the setting applies to this comment, ok otherwise."""
        mode = env.site.premoderation
        if content.kind is not Kind.comment:
            return result(Verdict.ok, N_("site-wide pre-moderation applies to comments only"))
        if mode is Premoderation.all:
            return result(Verdict.suspect, N_("site-wide pre-moderation: all comments"))
        if mode is Premoderation.new_commenters and is_new_commenter(content, env):
            return result(
                Verdict.suspect,
                N_("site-wide pre-moderation: new commenter, no published comment yet"),
            )
        if mode is Premoderation.links:
            count = counted_links(content.text, env)
            if count:
                return result(
                    Verdict.suspect,
                    N_("site-wide pre-moderation: comment with links (%(count)d)"),
                    count=count,
                )
        if mode is Premoderation.off:
            return result(Verdict.ok, N_("site-wide pre-moderation is off"))
        return result(Verdict.ok, N_("site-wide pre-moderation does not apply"))


def is_new_commenter(content: Content, env: Env) -> bool:
    """Whether the sender has no published comment (by e-mail, else by network)."""
    if content.email_hash:
        standing = env.standings.get(content.email_hash)
        return standing is None or standing.approved == 0
    if content.ip_hash:
        return content.ip_hash not in env.published_networks
    return True


def counted_links(text: str, env: Env) -> int:
    """How many links `text` has, leaving out those to allowed domains (the outlet's own)."""
    known = (shorteners(env.settings.url_shorteners), env.lists.blocked_domains)
    return sum(1 for host in link_hosts(text, known) if not listed(host, env.lists.allowed_domains))
