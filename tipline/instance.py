"""The instance folder and its generated secrets: what `tipline init` writes and who needs what."""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.config import SECRETS_FILE, read_secrets
from core.crypto import generate_keypair

# Every secret Settings.from_env reads from secrets.json (its `get()` and `key()` names).
SECRET_NAMES = (
    "intake_secret_key",
    "moderation_secret_key",
    "hash_key",
    "tip_public_key",
    "tip_private_key",
    "worker_public_key",
    "worker_private_key",
)

# Which process gets which secret when they run on different hosts. The public site faces the
# internet, so it holds no private key: whoever breaks into it can seal tips but never open one.
# Public keys are not secret; they go wherever they are useful.
HOSTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "intake": (
        "public site",
        ("intake_secret_key", "hash_key", "tip_public_key", "worker_public_key"),
    ),
    # The staff site holds no tip key: editors' logins unlock it (core.tipkeys).
    "moderation": (
        "staff site",
        ("moderation_secret_key", "hash_key"),
    ),
    "worker": (
        "workers and beat",
        ("hash_key", "tip_public_key", "worker_public_key", "worker_private_key"),
    ),
}


@dataclass(frozen=True)
class InitResult:
    """What `init_instance` did: the secrets file and whether it was created just now."""

    path: Path
    created: bool
    missing: tuple[str, ...] = ()


def instance_path(environ: Mapping[str, str] | None = None) -> Path:
    """The instance folder, by the same rule as core.config.Settings.from_env."""
    env = os.environ if environ is None else environ
    return Path(env.get("TIPLINE_INSTANCE_PATH", "instance")).resolve()


def generate_secrets() -> dict[str, str]:
    """Fresh values for every secret, hex-encoded."""
    tip = generate_keypair()
    worker = generate_keypair()
    return {
        "intake_secret_key": secrets.token_hex(32),
        "moderation_secret_key": secrets.token_hex(32),
        "hash_key": secrets.token_hex(32),
        "tip_public_key": tip.public.hex(),
        "tip_private_key": tip.private.hex(),
        "worker_public_key": worker.public.hex(),
        "worker_private_key": worker.private.hex(),
    }


def init_instance(instance: Path) -> InitResult:
    """Create the instance folder (0700) and its secrets file (0600); never overwrite one."""
    if not instance.exists():
        instance.mkdir(mode=0o700, parents=True)
        instance.chmod(0o700)  # mkdir's mode is filtered by the umask
    path = instance / SECRETS_FILE
    data = json.dumps(generate_secrets(), indent=2) + "\n"
    try:
        # O_EXCL: if the file appeared meanwhile it is left alone, never truncated.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        present = read_secrets(instance)
        missing = tuple(name for name in SECRET_NAMES if not present.get(name))
        return InitResult(path=path, created=False, missing=missing)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(data)
    return InitResult(path=path, created=True)


def loose_permissions(path: Path) -> bool:
    """Whether anyone but the owner may read or enter `path`."""
    return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def env_lines(instance: Path, host: str | None = None) -> list[str]:
    """`TIPLINE_NAME=value` lines for the secrets `host` needs (all of them for None)."""
    present = read_secrets(instance)
    names = SECRET_NAMES if host is None else HOSTS[host][1]
    return [f"TIPLINE_{name.upper()}={present.get(name, '')}" for name in names]


def describe_hosts() -> list[str]:
    """One line per host naming the variables it needs."""
    width = max(len(f"{host} ({label})") for host, (label, _) in HOSTS.items())
    lines = []
    for host, (label, names) in HOSTS.items():
        variables = " ".join(f"TIPLINE_{n.upper()}" for n in names)
        lines.append(f"  {f'{host} ({label})':<{width}}  {variables}")
    return lines
