"""The staff site as a WSGI server loads it: configured from the environment alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import Settings
from tests.support import ROOT, settings_env

LOAD = "from moderation.wsgi import app; print(app.name, app.config['SESSION_COOKIE_NAME'])"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_wsgi_module_builds_the_app_from_the_environment(settings: Settings) -> None:
    env = {**os.environ, **settings_env(settings), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", LOAD], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["moderation", "tipline_staff"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_without_its_secret_key_the_staff_site_refuses_to_start(
    settings: Settings, tmp_path: Path
) -> None:
    env = {**os.environ, **settings_env(settings), "PYTHONPATH": str(ROOT)}
    env["TIPLINE_MODERATION_SECRET_KEY"] = ""
    env["TIPLINE_INSTANCE_PATH"] = str(tmp_path)  # no secrets file to fall back on
    done = subprocess.run(
        [sys.executable, "-c", LOAD], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "TIPLINE_MODERATION_SECRET_KEY" in done.stderr and "tipline init" in done.stderr
