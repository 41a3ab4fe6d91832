"""The checks a submission goes through; each is pure and explains its verdict."""

from worker.checks.base import Check, Content, Result
from worker.checks.registry import load_checks

__all__ = ["Check", "Content", "Result", "load_checks"]
