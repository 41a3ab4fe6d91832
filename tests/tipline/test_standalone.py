"""`tipline standalone` end to end: real processes, real HTTP, real signals.

A reader comments on the demo article and sees the comment published by the worker (through the
embedded broker); the demo admin logs in with the printed password; Ctrl-C stops every process.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import Settings
from core.models import Article, StaffUser
from tests.support import csrf_token, new_queue_name, settings_env, wait_for
from tipline.demo import DEMO_ADMIN_EMAIL, DEMO_ARTICLE_SLUG, DEMO_ARTICLE_TITLE

TIPLINE = Path(sys.executable).with_name("tipline")
BANNER = {
    "public": r"Public site \(readers\):\s+(\S+)",
    "article": r"Demo article:\s+(\S+)",
    "staff": r"Staff site \(moderators\):\s+(\S+)",
    "email": r"Admin login:\s+(\S+)",
    "password": r"One-time password:\s+(\S+)",
}
COMMENT = (
    "En Centro Habana llevamos tres días con cortes de más de diez horas. "
    "Gracias por contarlo, aquí nadie más lo cuenta."
)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def descendants(pid: int) -> dict[int, str]:
    """Every process below `pid`, with its command line."""
    found: dict[int, str] = {}
    pending = [pid]
    while pending:
        parent = pending.pop()
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                pids = [int(p) for p in children.read_text().split()]
            except OSError:
                continue
            for child in pids:
                try:
                    cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
                except OSError:
                    continue
                found[child] = cmdline.replace(b"\0", b" ").decode(errors="replace")
                pending.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether `pid` still runs (a zombie waiting to be reaped does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def listening(port: int) -> bool:
    """Whether something accepts connections on the loopback port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class Standalone:
    """A running `tipline standalone` and where its output goes."""

    popen: subprocess.Popen[bytes]
    log: Path
    instance: Path
    intake_port: int
    moderation_port: int

    def output(self) -> str:
        """Everything it printed so far."""
        return self.log.read_text(errors="replace")

    def wait_until_running(self) -> dict[str, str]:
        """Wait for its banner and return what it says (URLs, e-mail, password)."""
        wait_for(
            lambda: "Press Ctrl-C" in self.output() or self.popen.poll() is not None,
            timeout=180,
            what="the standalone banner",
        )
        text = self.output()
        assert self.popen.poll() is None, f"standalone exited:\n{text[-5000:]}"
        banner = {}
        for key, pattern in BANNER.items():
            match = re.search(pattern, text)
            assert match, f"{key} missing from the banner:\n{text[-3000:]}"
            banner[key] = match.group(1)
        return banner

    def interrupt(self, timeout: float = 90) -> int:
        """Ctrl-C: SIGINT to standalone alone (its children are in their own sessions)."""
        self.popen.send_signal(signal.SIGINT)
        return self.popen.wait(timeout=timeout)


StartStandalone = Callable[..., Standalone]


@pytest.fixture
def start_standalone(tmp_path: Path) -> Iterator[StartStandalone]:
    """Start `tipline standalone` with free ports; whatever happens, stop it at the end."""
    started: list[Standalone] = []

    def start(extra_env: dict[str, str] | None = None, *args: str) -> Standalone:
        intake_port, moderation_port = free_port(), free_port()
        instance = tmp_path / "instance"
        # Nothing of the test run's own TIPLINE_* settings leaks in, unless given.
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIPLINE_")}
        env.update(extra_env or {})
        env["TIPLINE_INSTANCE_PATH"] = str(instance)
        log = tmp_path / f"standalone-{len(started)}.log"
        command = [
            *(str(TIPLINE), "standalone"),
            *("--intake-port", str(intake_port), "--moderation-port", str(moderation_port)),
            *args,
        ]
        with log.open("wb") as out:
            popen = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path
            )
        process = Standalone(popen, log, instance, intake_port, moderation_port)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.popen.poll() is None:
            leftovers = descendants(process.popen.pid)
            process.popen.terminate()
            try:
                process.popen.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.popen.kill()
            for pid in leftovers:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)


def test_a_newcomer_gets_the_whole_service_and_ctrl_c_stops_it_all(
    start_standalone: StartStandalone,
) -> None:
    assert TIPLINE.exists(), "the `tipline` console script is not installed"
    standalone = start_standalone()
    banner = standalone.wait_until_running()
    public, staff = banner["public"].rstrip("/"), banner["staff"].rstrip("/")
    assert public == f"http://127.0.0.1:{standalone.intake_port}"
    assert staff == f"http://127.0.0.1:{standalone.moderation_port}"
    assert banner["article"] == f"{public}/articles/{DEMO_ARTICLE_SLUG}"
    assert banner["email"] == DEMO_ADMIN_EMAIL
    assert (standalone.instance / "secrets.json").exists()

    # A reader opens the demo article and comments through the real form.
    reader = requests.Session()
    page = reader.get(banner["article"], timeout=10)
    assert page.status_code == 200
    assert DEMO_ARTICLE_TITLE in page.text
    receipt = reader.post(
        banner["article"],
        data={
            "csrf_token": csrf_token(page.text),
            "author_name": "Marta, Centro Habana",
            "email": "",
            "body": COMMENT,
            "topic": "",
        },
        timeout=10,
    )
    assert receipt.status_code == 200, receipt.text[:2000]
    assert "/receipts/" in receipt.url
    # The worker checks it through the embedded broker and publishes it on the article.
    wait_for(
        lambda: COMMENT in reader.get(banner["article"], timeout=10).text,
        timeout=60,
        what="the comment to be published",
    )

    # The demo admin logs in to the staff site with the printed one-time password.
    staff_browser = requests.Session()
    login = staff_browser.get(f"{staff}/login", timeout=10)
    assert login.status_code == 200
    landing = staff_browser.post(
        f"{staff}/login",
        data={
            "csrf_token": csrf_token(login.text),
            "email": banner["email"],
            "password": banner["password"],
        },
        timeout=10,
    )
    assert landing.status_code == 200
    assert not landing.url.endswith("/login"), "the printed password did not log in"
    assert 'action="/logout"' in landing.text

    processes = descendants(standalone.popen.pid)
    commands = list(processes.values())
    assert sum("gunicorn" in c and "intake.wsgi:app" in c for c in commands) >= 3
    assert sum("gunicorn" in c and "moderation.wsgi:app" in c for c in commands) >= 3
    assert any("celery" in c and " worker " in f"{c} " for c in commands), commands
    assert any("celery" in c and " beat " in f"{c} " for c in commands), commands
    assert any("redis-server" in c for c in commands), commands

    assert standalone.interrupt() == 0
    still_running = {pid: c for pid, c in processes.items() if alive(pid)}
    assert still_running == {}, still_running
    assert not (standalone.instance / "broker.sock").exists()
    assert not listening(standalone.intake_port)
    assert not listening(standalone.moderation_port)
    output = standalone.output()
    # gunicorn's access log stays off: no request lines, so no readers' addresses.
    assert "GET /articles" not in output and "POST /articles" not in output
    assert output.count(banner["password"]) == 1


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_with_configured_services_it_uses_them_and_stops_when_a_child_dies(
    start_standalone: StartStandalone, settings: Settings, session: Session
) -> None:
    env = {**settings_env(settings), "TIPLINE_TASK_QUEUE": new_queue_name()}
    standalone = start_standalone(env)
    standalone.wait_until_running()
    output = standalone.output()
    assert f"using the broker at {settings.broker_url}" in output
    processes = descendants(standalone.popen.pid)
    assert not any("redis-server" in c for c in processes.values())
    # The demo data went to the configured PostgreSQL database.
    assert session.scalars(select(Article.slug)).all() == [DEMO_ARTICLE_SLUG]
    assert session.scalars(select(StaffUser.email)).all() == [DEMO_ADMIN_EMAIL]
    session.rollback()

    beat = next(pid for pid, c in processes.items() if " beat " in f"{c} ")
    os.kill(beat, signal.SIGKILL)
    assert standalone.popen.wait(timeout=90) == 1
    assert f"beat (pid {beat}) was killed by SIGKILL unexpectedly" in standalone.output()
    still_running = {pid: c for pid, c in processes.items() if alive(pid)}
    assert still_running == {}, still_running


def test_a_busy_port_is_refused_with_a_clear_message(
    start_standalone: StartStandalone, tmp_path: Path
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        standalone = start_standalone(None, "--moderation-port", str(port))
        assert standalone.popen.wait(timeout=60) == 1
    output = standalone.output()
    assert f"port {port} on 127.0.0.1 is already in use" in output
    assert "--moderation-port" in output
    assert "Traceback" not in output


def test_without_demo_data_it_seeds_nothing_and_sigterm_stops_it(
    start_standalone: StartStandalone,
) -> None:
    standalone = start_standalone(None, "--no-demo")
    wait_for(
        lambda: "Press Ctrl-C" in standalone.output() or standalone.popen.poll() is not None,
        timeout=180,
        what="the standalone banner",
    )
    assert standalone.popen.poll() is None, standalone.output()[-5000:]
    output = standalone.output()
    assert "Public site (readers):" in output
    assert "One-time password" not in output and "Demo article" not in output
    public = requests.get(f"http://127.0.0.1:{standalone.intake_port}/", timeout=10)
    assert public.status_code == 200
    assert DEMO_ARTICLE_TITLE not in public.text
    processes = descendants(standalone.popen.pid)

    standalone.popen.send_signal(signal.SIGTERM)
    assert standalone.popen.wait(timeout=90) == 0
    assert "SIGTERM received" in standalone.output()
    assert {pid: c for pid, c in processes.items() if alive(pid)} == {}
