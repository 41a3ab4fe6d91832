"""`tipline init` and `tipline env`: private secrets that every process can use."""

from __future__ import annotations

import dataclasses
import json
import stat
from pathlib import Path

from click.testing import CliRunner
from nacl.public import PrivateKey

from core.config import Settings
from core.crypto import seal, unseal
from tipline.cli import cli
from tipline.instance import SECRET_NAMES


def _init(instance: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["init"], env={"TIPLINE_INSTANCE_PATH": str(instance)})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_init_creates_a_private_folder_and_secrets_every_process_can_use(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    code, output = _init(instance)
    assert code == 0
    secrets_file = instance / "secrets.json"
    assert str(secrets_file) in output
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600

    settings = Settings.from_env({"TIPLINE_INSTANCE_PATH": str(instance)})
    # Every secret the settings read is there; a process asking for any of them starts.
    settings.require_secrets(*SECRET_NAMES)
    # Akismet's key is an outside service's, which an admin sets (or not): init makes ours.
    key_fields = {f.name for f in dataclasses.fields(Settings) if f.name.endswith("_key")} - {
        "akismet_key"
    }
    assert key_fields <= set(SECRET_NAMES), "Settings reads a secret that init does not make"
    assert len(settings.hash_key) == 32
    assert settings.intake_secret_key != settings.moderation_secret_key
    # The key pairs match: what the public site seals, the staff site and the worker can open.
    assert bytes(PrivateKey(settings.tip_private_key).public_key) == settings.tip_public_key
    assert bytes(PrivateKey(settings.worker_private_key).public_key) == settings.worker_public_key
    sealed = seal(settings.tip_public_key, {"text": "hola"})
    assert unseal(settings.tip_private_key, sealed) == {"text": "hola"}


def test_init_tells_which_host_needs_which_secret(tmp_path: Path) -> None:
    code, output = _init(tmp_path / "instance")
    assert code == 0
    lines = {line.split()[0]: line for line in output.splitlines() if line.startswith("  ")}
    assert "TIPLINE_TIP_PUBLIC_KEY" in lines["intake"]
    assert "PRIVATE" not in lines["intake"]
    # No host holds the tip private key: editors' passwords guard it (core.tipkeys).
    assert "PRIVATE" not in lines["moderation"]
    assert "TIPLINE_WORKER_PRIVATE_KEY" in lines["worker"]
    assert "tipline tips setup --import-secrets-key" in output


def test_init_never_overwrites_existing_secrets(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    assert _init(instance)[0] == 0
    secrets_file = instance / "secrets.json"
    before = secrets_file.read_bytes()

    code, output = _init(instance)
    assert code == 0
    assert "already exists" in output
    assert secrets_file.read_bytes() == before


def test_init_names_the_secrets_an_old_file_lacks_and_leaves_it_alone(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o700)
    secrets_file = instance / "secrets.json"
    secrets_file.write_text(json.dumps({"hash_key": "ab" * 32}))
    before = secrets_file.read_bytes()

    code, output = _init(instance)
    assert code == 1
    assert "tip_private_key" in output and "hash_key" not in output.split("lacks")[1]
    assert "Traceback" not in output
    assert secrets_file.read_bytes() == before


def test_env_prints_only_what_the_public_site_may_hold(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    _init(instance)
    stored = json.loads((instance / "secrets.json").read_text())
    env = {"TIPLINE_INSTANCE_PATH": str(instance)}

    result = CliRunner().invoke(cli, ["env", "--host", "intake"], env=env)
    assert result.exit_code == 0
    printed = dict(line.split("=", 1) for line in result.output.splitlines())
    assert printed["TIPLINE_TIP_PUBLIC_KEY"] == stored["tip_public_key"]
    assert printed["TIPLINE_INTAKE_SECRET_KEY"] == stored["intake_secret_key"]
    assert not [name for name in printed if "PRIVATE" in name or "MODERATION" in name]

    everything = CliRunner().invoke(cli, ["env"], env=env)
    assert len(everything.output.splitlines()) == len(SECRET_NAMES)


def test_env_without_init_says_what_to_do(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["env"], env={"TIPLINE_INSTANCE_PATH": str(tmp_path)})
    assert result.exit_code == 1
    assert "tipline init" in result.output


def test_init_on_a_file_says_so_without_a_traceback(tmp_path: Path) -> None:
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("")
    for place in (a_file, a_file / "below"):
        code, output = _init(place)
        assert code == 1
        assert "Traceback" not in output
        assert ("is a file, not a folder" in output) or ("cannot create" in output)
