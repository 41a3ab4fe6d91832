"""docker-compose.yml: valid for Compose, healthy start order, each service only its secrets.

No Docker engine runs here; Debian's docker-compose (v1) validates and resolves the file without
one. The env file is made the way docs/operations.md says: .env.example plus `tipline env`.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tests.support import ROOT
from tipline.cli import cli
from tipline.instance import HOSTS

DOCKER_COMPOSE = Path("/usr/bin/docker-compose")
APP_SERVICES = {"intake", "moderation", "worker", "beat"}
SERVICES = APP_SERVICES | {"postgres", "redis", "migrate", "mailpit"}

pytestmark = pytest.mark.skipif(
    not DOCKER_COMPOSE.exists(), reason="Debian's docker-compose is not installed"
)


def _compose(env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A clean environment: Compose lets shell variables override the env file.
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(env_file.parent)}
    return subprocess.run(
        [str(DOCKER_COMPOSE), "-f", "docker-compose.yml", "--env-file", str(env_file), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """.env made as the docs say: the example, a database password, then `tipline env`."""
    folder = tmp_path_factory.mktemp("compose")
    instance = {"TIPLINE_INSTANCE_PATH": str(folder / "instance")}
    runner = CliRunner()
    assert runner.invoke(cli, ["init"], env=instance).exit_code == 0
    secrets = runner.invoke(cli, ["env"], env=instance).output
    example = (ROOT / ".env.example").read_text()
    assert "\nPOSTGRES_PASSWORD=\n" in example
    filled = example.replace("\nPOSTGRES_PASSWORD=\n", "\nPOSTGRES_PASSWORD=s3cr3tpassw0rd\n")
    path = folder / ".env"
    path.write_text(filled + secrets)
    return path


@pytest.fixture(scope="module")
def resolved(env_file: Path) -> dict[str, Any]:
    """The file as Compose understands it, variables filled in."""
    result = _compose(env_file, "config")
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def test_the_file_is_valid_compose(env_file: Path) -> None:
    result = _compose(env_file, "config", "-q")
    assert result.returncode == 0, result.stderr


def test_without_secrets_compose_refuses_to_start_and_says_why() -> None:
    result = _compose(ROOT / ".env.example", "config", "-q")
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_every_service_is_health_checked_or_waits_for_healthy_ones(
    resolved: dict[str, Any],
) -> None:
    services: dict[str, Any] = resolved["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            wanted = condition["condition"]
            if dependency == "migrate":
                assert wanted == "service_completed_successfully", name
            else:
                # Waiting for "healthy" only works if the dependency has a health check.
                assert wanted == "service_healthy", (name, dependency)
                assert "healthcheck" in services[dependency], dependency
        if name not in {"migrate", "beat"}:
            assert services[name]["healthcheck"]["test"], name
    for name in APP_SERVICES:
        assert set(services[name]["depends_on"]) >= {"migrate", "redis"}, name
    assert services["migrate"]["command"] == ["tipline", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"


def test_each_service_gets_only_the_secrets_its_host_needs(resolved: dict[str, Any]) -> None:
    services: dict[str, Any] = resolved["services"]
    for service, host in (
        ("intake", "intake"),
        ("moderation", "moderation"),
        ("worker", "worker"),
        ("beat", "worker"),
    ):
        environment: dict[str, str] = services[service]["environment"]
        given = {name for name in environment if name.endswith("_KEY")}
        assert given == {f"TIPLINE_{name.upper()}" for name in HOSTS[host][1]}, service
        assert all(environment[name] for name in given), service
    assert not [k for k in services["intake"]["environment"] if "PRIVATE" in k]
    assert not [k for k in services["migrate"]["environment"] if k.endswith("_KEY")]
    for name in ("postgres", "redis", "mailpit"):
        assert not [k for k in services[name].get("environment", {}) if k.startswith("TIPLINE")]


def test_sites_keep_no_access_log_and_listen_on_loopback_only(resolved: dict[str, Any]) -> None:
    services: dict[str, Any] = resolved["services"]
    for name, port in (("intake", 5000), ("moderation", 5001)):
        command = services[name]["command"]
        command = command if isinstance(command, str) else " ".join(command)
        assert command.startswith("gunicorn ")
        assert "access-log" not in command  # it would record readers' IP addresses
        assert f"--bind 0.0.0.0:{port}" in command
        # Compose v1 prints "127.0.0.1:5000:5000/tcp"; a proxy on the host forwards to it.
        assert [str(p) for p in services[name]["ports"]] == [f"127.0.0.1:{port}:{port}/tcp"]
        assert f"127.0.0.1:{port}/healthz" in " ".join(services[name]["healthcheck"]["test"])
    assert "ports" not in services["postgres"] and "ports" not in services["redis"]


def test_the_image_runs_as_an_unprivileged_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text().splitlines()
    assert [line for line in dockerfile if line.startswith("FROM ")] == ["FROM python:3.11-slim"]
    users = [line.split()[1] for line in dockerfile if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
