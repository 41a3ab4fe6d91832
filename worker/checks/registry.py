"""Which check each name in settings.checks stands for.

The built-in checks have short names ("length", "links", "words", "repetition"). Any other check
is named `package.module:Class` and imported; it must subclass worker.checks.base.Check.
"""

from __future__ import annotations

import importlib
from functools import lru_cache

from core.config import ConfigError
from worker.checks.base import Check
from worker.checks.length import LengthCheck
from worker.checks.links import LinksCheck
from worker.checks.repetition import RepetitionCheck
from worker.checks.words import BlockedWordsCheck

BUILTIN: dict[str, type[Check]] = {
    check.name: check for check in (LengthCheck, LinksCheck, BlockedWordsCheck, RepetitionCheck)
}


@lru_cache(maxsize=8)
def load_checks(names: tuple[str, ...]) -> tuple[Check, ...]:
    """The checks `names` stand for, in order; ConfigError names any that cannot be found."""
    checks = tuple(_check_class(name)() for name in names)
    seen: set[str] = set()
    for check in checks:
        # Results are stored one per (submission, check name).
        if check.name in seen:
            raise ConfigError(f"TIPLINE_CHECKS names the check {check.name!r} twice")
        seen.add(check.name)
    return checks


def _check_class(name: str) -> type[Check]:
    if ":" not in name:
        try:
            return BUILTIN[name]
        except KeyError:
            known = ", ".join(sorted(BUILTIN))
            raise ConfigError(
                f"TIPLINE_CHECKS: unknown check {name!r} (known: {known}, or module:Class)"
            ) from None
    module_name, _, class_name = name.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"TIPLINE_CHECKS: cannot import {name!r}: {exc}") from None
    if not (isinstance(found, type) and issubclass(found, Check)):
        raise ConfigError(f"TIPLINE_CHECKS: {name!r} is not a subclass of worker.checks.Check")
    return found
