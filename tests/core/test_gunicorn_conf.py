"""gunicorn as the sites run it writes no client address, agent or referrer to any log."""

from __future__ import annotations

import socket
import sys
import urllib.request
from pathlib import Path

import pytest

from core.config import Settings
from core.gunicorn_conf import scrub_addresses
from tests.support import start_process, wait_for
from tests.worker.conftest import free_port

AGENT = "canary-agent-31f0"
REFERRER = "https://canary-referrer-8c1d.example/"
FORWARDED = "203.0.113.91"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_even_with_an_access_log_turned_on_no_client_detail_is_written(
    settings: Settings, log_dir: Path, tmp_path: Path
) -> None:
    port = free_port()
    access, errors = tmp_path / "access.log", tmp_path / "error.log"
    args = [
        *(sys.executable, "-m", "gunicorn", "intake.wsgi:app"),
        "--config=python:core.gunicorn_conf",
        f"--bind=127.0.0.1:{port}",
        "--workers=1",
        # What an operator might add: the access log must still say nothing about readers.
        f"--access-logfile={access}",
        f"--error-logfile={errors}",
    ]
    server = start_process("gunicorn", args, settings, log_dir)
    try:
        wait_for(lambda: "Booting worker" in _read(errors), timeout=30, what="gunicorn to boot")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/tip?canary-query-77",
            headers={"User-Agent": AGENT, "Referer": REFERRER, "X-Forwarded-For": FORWARDED},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        # A malformed request: gunicorn's own message names the client's address.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(b"GET /tip HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n")
            raw.recv(1024)
        wait_for(lambda: "Invalid request" in _read(errors), timeout=10, what="the error line")
        wait_for(lambda: "GET /tip" in _read(access), timeout=10, what="the access line")
    finally:
        server.stop()

    access_log, error_log = _read(access), _read(errors)
    assert '"GET /tip" 200' in access_log
    assert "Invalid request from ip=(address hidden)" in error_log
    for detail in ("127.0.0.1", FORWARDED, AGENT, "canary-referrer", "canary-query"):
        assert detail not in access_log, detail
    client_lines = [line for line in error_log.splitlines() if "Listening at" not in line]
    assert not [line for line in client_lines if "127.0.0.1" in line]


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Invalid request from ip=203.0.113.7: x", "Invalid request from ip=(address hidden): x"),
        ("peer ('2001:db8::1', 5)", "peer ('(address hidden)', 5)"),
        ("from ::ffff:10.0.0.1.", "from (address hidden)."),
        ("at 12:30:45, version 1.2, 2026-11-30", "at 12:30:45, version 1.2, 2026-11-30"),
    ],
)
def test_addresses_are_scrubbed_and_nothing_else(text: str, expected: str) -> None:
    assert scrub_addresses(text) == expected
