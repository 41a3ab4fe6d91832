"""The policy table, and the error path: a check that fails holds the submission for a person."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap

import pytest

from core.config import ConfigError, Settings
from core.enums import Kind, ModerationMode, Status, Verdict
from tests.support import ROOT, settings_env
from tests.worker.sample_checks import BrokenCheck, WrongTypeCheck
from tests.worker.test_checks import CONFIG
from worker.checks import Content, Result, load_checks
from worker.checks.base import Action, Env
from worker.pipeline import run_checks
from worker.policy import decide

V = Verdict
POST, PRE, CLOSED = ModerationMode.post, ModerationMode.pre, ModerationMode.closed


@pytest.mark.parametrize(
    ("kind", "verdicts", "mode", "status"),
    [
        (Kind.comment, [V.ok, V.ok], POST, Status.published),
        (Kind.comment, [V.ok, V.ok], PRE, Status.pending),
        (Kind.comment, [V.ok, V.ok], CLOSED, Status.pending),
        (Kind.comment, [V.ok], None, Status.pending),
        (Kind.comment, [V.ok, V.suspect], POST, Status.pending),
        (Kind.comment, [V.ok, V.error], POST, Status.pending),
        (Kind.comment, [V.suspect, V.spam], POST, Status.spam),
        (Kind.comment, [V.error, V.spam], PRE, Status.spam),
        (Kind.tip, [V.ok, V.ok], None, Status.new),
        (Kind.tip, [V.suspect, V.ok], None, Status.new),
        (Kind.tip, [V.error], None, Status.new),
        (Kind.tip, [V.suspect, V.spam], None, Status.spam),
    ],
)
def test_policy_table(
    kind: Kind, verdicts: list[Verdict], mode: ModerationMode | None, status: Status
) -> None:
    assert decide(kind, [Result(v, 0.0, "") for v in verdicts], mode) is status


def test_a_check_that_raises_gives_an_error_naming_it_and_the_comment_is_held() -> None:
    checks = (*load_checks(CONFIG.checks), BrokenCheck())
    content = Content(kind=Kind.comment, text="Un comentario normal y corriente.")

    outcomes = run_checks(checks, content, Env.of(CONFIG))

    assert [o.name for o in outcomes] == [*CONFIG.checks, "broken"]
    broken = outcomes[-1].result
    assert broken.verdict is Verdict.error
    assert broken.reason % broken.params == "check broken failed (RuntimeError)"
    status = decide(Kind.comment, [o.result for o in outcomes], POST)
    assert status is Status.pending  # never published unseen


def test_a_check_returning_garbage_is_an_error_too() -> None:
    content = Content(kind=Kind.comment, text="Hola a todos")
    [outcome] = run_checks([WrongTypeCheck()], content, Env.of(CONFIG))
    assert outcome.result.verdict is Verdict.error
    assert outcome.result.params == {"check": "wrongtype", "error": "TypeError"}


def test_a_failing_check_on_a_tip_keeps_the_tip_and_never_logs_its_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "El jefe de sector cobra sobornos en Cienfuegos"
    content = Content(kind=Kind.tip, text=secret, contact="+53 5 111 2222")
    with caplog.at_level(logging.DEBUG):
        outcomes = run_checks([BrokenCheck()], content, Env.of(CONFIG))
    assert decide(Kind.tip, [o.result for o in outcomes], None) is Status.new
    assert "broken" in caplog.text
    assert "Cienfuegos" not in caplog.text and "sobornos" not in caplog.text
    assert "Cienfuegos" not in repr(outcomes)


def test_checks_over_their_time_budget_are_errors_even_if_they_catch_everything() -> None:
    # In a process of its own: pytest-timeout's alarm is armed in this one, and the budget
    # steps aside for an outer alarm (see worker.pipeline.time_budget).
    script = textwrap.dedent(
        """
        import time
        from pathlib import Path
        from core.config import Settings
        from core.enums import Kind
        from tests.worker.sample_checks import HangingCheck, StubbornCheck
        from worker.checks import Content
        from worker.checks.base import Action, Env
        from worker.pipeline import run_checks

        config = Env.of(Settings(Path("."), "sqlite://", "memory://", "memory://"))
        started = time.monotonic()
        outcomes = run_checks(
            [HangingCheck(), StubbornCheck()], Content(Kind.comment, "Hola a todos"), config
        )
        for o in outcomes:
            print(o.name, o.result.verdict.value, o.result.reason % o.result.params)
        print("elapsed", round(time.monotonic() - started))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "hanging error check hanging took longer than 1.0 seconds",
        "stubborn error check stubborn took longer than 0.5 seconds",
        "elapsed 2",
    ]


# --- outcomes beyond the verdicts, and the table's overrides -------------------------------------

BANNED = Result(V.spam, 1.0, "sender banned", action=Action.reject)
TRUSTED = Result(V.ok, 0.0, "trusted sender", action=Action.trust)
OK = Result(V.ok, 0.0, "fine")
SUSPECT = Result(V.suspect, 0.5, "hmm")


@pytest.mark.parametrize(
    ("kind", "results", "mode", "status"),
    [
        (Kind.comment, [OK, BANNED], POST, Status.spam),
        (Kind.comment, [OK, BANNED], PRE, Status.spam),
        (Kind.tip, [OK, BANNED], None, Status.spam),
        (Kind.comment, [OK, TRUSTED], PRE, Status.published),
        (Kind.comment, [OK, TRUSTED], CLOSED, Status.pending),
        (Kind.comment, [SUSPECT, TRUSTED], POST, Status.pending),
    ],
)
def test_bans_and_trust(
    kind: Kind, results: list[Result], mode: ModerationMode | None, status: Status
) -> None:
    assert decide(kind, results, mode) is status


def test_a_banned_comment_can_still_be_rejected_by_configuration() -> None:
    settings = Settings.from_env(
        {"TIPLINE_POLICY": '{"comment": {"post": {"banned": "rejected"}}}'}
    )
    assert decide(Kind.comment, [OK, BANNED], POST, settings) is Status.rejected
    assert decide(Kind.comment, [OK, BANNED], PRE, settings) is Status.spam


def test_the_table_takes_overrides_from_the_environment() -> None:
    settings = Settings.from_env({"TIPLINE_POLICY": '{"comment": {"pre": {"trusted": "pending"}}}'})
    assert decide(Kind.comment, [OK, TRUSTED], PRE, settings) is Status.pending
    # Only that cell changed.
    assert decide(Kind.comment, [OK, TRUSTED], POST, settings) is Status.published
    assert decide(Kind.comment, [SUSPECT], PRE, settings) is Status.pending


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ('{"comment": {"post": {"error": "published"}}}', "must wait for a person"),
        ('{"tip": {"any": {"ok": "published"}}}', "a tip cannot go to published"),
        ('{"tip": {"any": {"error": "spam"}}}', "must wait for a person"),
        ('{"review": {}}', "unknown kind"),
        ('{"comment": {"someday": {}}}', "has no mode"),
        ('{"comment": {"post": {"fine": "published"}}}', "is not an outcome"),
        ('{"comment": {"post": {"ok": "gone"}}}', "is not an outcome"),
    ],
)
def test_an_unsafe_or_unknown_table_is_refused_with_a_message(policy: str, message: str) -> None:
    settings = Settings.from_env({"TIPLINE_POLICY": policy})
    with pytest.raises(ConfigError, match=message):
        decide(Kind.comment, [OK], POST, settings)


def test_a_policy_that_is_not_json_is_refused_at_start() -> None:
    with pytest.raises(ConfigError, match="TIPLINE_POLICY is not valid JSON"):
        Settings.from_env({"TIPLINE_POLICY": "{comment: pre}"})


def test_the_worker_does_not_start_with_an_unsafe_policy(settings: Settings) -> None:
    env = {
        **os.environ,
        **settings_env(settings),
        "TIPLINE_POLICY": '{"comment": {"post": {"error": "published"}}}',
    }
    done = subprocess.run(
        [sys.executable, "-c", "import worker.celery_app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "a comment whose checks failed must wait for a person" in done.stderr
