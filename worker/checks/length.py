"""Length: the body must fit the limits of its kind (core.limits.BODY, shared with the forms)."""

from __future__ import annotations

from core.enums import Verdict
from core.i18n import N_
from core.limits import BODY
from worker.checks.base import Check, Content, Env, Result, result


class LengthCheck(Check):
    """Holds a body shorter or longer than its kind allows (the forms refuse these already)."""

    name = "length"
    version = "1"

    def run(self, content: Content, env: Env) -> Result:
        """ok within the limits, suspect outside them."""
        limit = BODY[content.kind]
        length = len(content.text.strip())
        if length < limit.min:
            return result(
                Verdict.suspect,
                N_("length %(length)d, under the minimum of %(min)d"),
                length=length,
                min=limit.min,
            )
        if length > limit.max:
            return result(
                Verdict.suspect,
                N_("length %(length)d, over the maximum of %(max)d"),
                length=length,
                max=limit.max,
            )
        return result(Verdict.ok, N_("length %(length)d"), length=length)
