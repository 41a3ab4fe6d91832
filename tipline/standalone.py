"""`tipline standalone`: the whole service on one machine, for a newcomer, in one command.

It creates the instance (secrets, SQLite database) if needed, starts the embedded broker unless
TIPLINE_BROKER_URL is set, migrates, seeds a demo article and admin, then runs both sites under
gunicorn, a Celery worker and Celery beat as child processes, each in its own process group, and
relays their output. SIGINT or SIGTERM stops every one of them; so does one of them dying.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import http.client
import importlib.metadata
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from kombu.utils.url import maybe_sanitize_url

from core.config import Settings
from core.db import make_engine, session_scope
from core.migrate import upgrade
from tipline import broker
from tipline.database import safe_url
from tipline.demo import DEMO_ADMIN_EMAIL, reset_demo_admin, seed_demo_article
from tipline.instance import SECRET_NAMES, init_instance, instance_path

Echo = Callable[[str], None]

BEAT_SCHEDULE_FILE = "celerybeat-schedule"
# How long the children get to finish what they are doing before they are killed.
STOP_GRACE_SECONDS = 20.0
BROKER_STOP_GRACE_SECONDS = 5.0
BROKER_START_SECONDS = 15.0


class StandaloneError(Exception):
    """Standalone cannot start as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Options:
    """What the command line can change."""

    host: str = "127.0.0.1"
    intake_port: int = 5000
    moderation_port: int = 5001
    web_workers: int = 2
    worker_concurrency: int = 2
    admin_email: str = DEMO_ADMIN_EMAIL
    # Seed the demo article and (re)set the demo admin's password.
    demo: bool = True
    ready_timeout: float = 90.0


@dataclass
class Child:
    """A process standalone started; it leads its own process group."""

    name: str
    popen: subprocess.Popen[bytes]
    partial: bytes = b""
    stopping: bool = False

    @property
    def pid(self) -> int:
        """The child's process id, which is also its process group id."""
        return self.popen.pid


@dataclass
class _Signals:
    """SIGINT/SIGTERM set `stop`; a second one while stopping sets `hurry` (kill at once)."""

    stop: bool = False
    hurry: bool = False
    received: str = ""
    previous: dict[int, Any] = field(default_factory=dict)

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self.previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.stop:
            self.hurry = True
        self.stop = True
        self.received = signal.Signals(signum).name


class Supervisor:
    """Starts children in their own process groups, relays their output and stops them all."""

    def __init__(self, echo: Echo, signals: _Signals) -> None:
        self.echo = echo
        self.signals = signals
        self.children: list[Child] = []
        self.selector = selectors.DefaultSelector()

    def start(self, name: str, args: list[str], env: Mapping[str, str]) -> Child:
        """Start `args` as `name`, with its output relayed line by line."""
        popen = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=dict(env),
            # Its own session: the terminal's Ctrl-C reaches only us, and we stop the children
            # in order; killpg then reaches gunicorn's and Celery's own worker processes too.
            start_new_session=True,
            # Safe here: standalone starts no threads, so nothing can hold a lock at fork time.
            preexec_fn=_die_with_parent,
        )
        assert popen.stdout is not None
        os.set_blocking(popen.stdout.fileno(), False)
        child = Child(name=name, popen=popen)
        self.selector.register(popen.stdout, selectors.EVENT_READ, child)
        self.children.append(child)
        return child

    def pump(self, timeout: float) -> None:
        """Relay whatever the children print, for up to `timeout` seconds."""
        if not self.selector.get_map():
            time.sleep(timeout)
            return
        for key, _ in self.selector.select(timeout):
            child: Child = key.data
            try:
                data = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            if not data:
                self.selector.unregister(key.fileobj)
                if child.partial:
                    self._line(child, child.partial)
                    child.partial = b""
                continue
            *lines, child.partial = (child.partial + data).split(b"\n")
            for line in lines:
                self._line(child, line)

    def _line(self, child: Child, line: bytes) -> None:
        text = line.rstrip(b"\r").decode("utf-8", errors="replace")
        self.echo(f"{child.name:<10} | {text}")

    def died(self) -> Child | None:
        """A child that exited although nobody asked it to, if any."""
        for child in self.children:
            if not child.stopping and child.popen.poll() is not None:
                return child
        return None

    def stop(self, children: list[Child], grace: float) -> None:
        """SIGTERM each child's process group; SIGKILL whatever is left after `grace` s."""
        for child in children:
            child.stopping = True
            _signal_group(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while any(_alive(c) for c in children):
            if self.signals.hurry or time.monotonic() > deadline:
                for child in children:
                    if _alive(child):
                        self.echo(f"standalone | {child.name} did not stop in time; killing it")
                        _signal_group(child.pid, signal.SIGKILL)
                break
            self.pump(0.1)
        for child in children:
            try:
                child.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.echo(f"standalone | {child.name} (pid {child.pid}) could not be stopped")
        # Relay the last words of the children that are gone.
        for _ in range(20):
            if not self.selector.get_map():
                break
            self.pump(0.05)

    def stop_all(self) -> None:
        """Stop every child: first the apps and workers, then the broker they talk to."""
        first = [c for c in self.children if c.name != "broker"]
        last = [c for c in self.children if c.name == "broker"]
        if first:
            self.stop(first, STOP_GRACE_SECONDS)
        if last:
            self.stop(last, BROKER_STOP_GRACE_SECONDS)
        for key in list(self.selector.get_map().values()):
            self.selector.unregister(key.fileobj)
        for child in self.children:
            if child.popen.stdout is not None:
                child.popen.stdout.close()
        self.selector.close()


def run(options: Options, environ: Mapping[str, str] | None = None, echo: Echo = print) -> int:
    """Run everything until SIGINT/SIGTERM (exit 0) or until a child dies (exit 1)."""
    env = dict(os.environ if environ is None else environ)
    echo = _quiet_when_closed(echo)
    signals = _Signals()
    signals.install()
    supervisor = Supervisor(echo, signals)
    try:
        return _run(options, env, supervisor, signals, echo)
    finally:
        if supervisor.children:
            echo("standalone | stopping every process")
        supervisor.stop_all()
        signals.restore()


def _run(
    options: Options,
    env: dict[str, str],
    supervisor: Supervisor,
    signals: _Signals,
    echo: Echo,
) -> int:
    instance = instance_path(env)
    _init(instance, echo)
    intake_url = _url(options.host, options.intake_port)
    moderation_url = _url(options.host, options.moderation_port)
    env["TIPLINE_INSTANCE_PATH"] = str(instance)
    env.setdefault("TIPLINE_INTAKE_URL", intake_url)
    env.setdefault("TIPLINE_MODERATION_URL", moderation_url)
    env["PYTHONUNBUFFERED"] = "1"
    settings = Settings.from_env(env)
    settings.require_secrets(*SECRET_NAMES)
    _check_port_free(options.host, options.intake_port, "--intake-port")
    _check_port_free(options.host, options.moderation_port, "--moderation-port")

    if env.get("TIPLINE_BROKER_URL"):
        echo(f"standalone | using the broker at {maybe_sanitize_url(settings.broker_url)}")
    else:
        _start_broker(settings, env, supervisor, signals)
    if signals.stop:
        return 0

    echo(f"standalone | upgrading the database at {safe_url(settings.database_url)}")
    upgrade(settings.database_url)
    demo = _seed_demo(settings, options.admin_email) if options.demo else None
    if signals.stop:
        return 0

    python = sys.executable
    schedule = instance / BEAT_SCHEDULE_FILE
    commands = {
        "intake": _gunicorn("intake", options.host, options.intake_port, options.web_workers),
        "moderation": _gunicorn(
            "moderation", options.host, options.moderation_port, options.web_workers
        ),
        "worker": [
            *(python, "-m", "celery", "-A", "worker.celery_app", "worker"),
            "--loglevel=INFO",
            f"--concurrency={options.worker_concurrency}",
            "--without-gossip",
            "--without-mingle",
            "--hostname=standalone@%h",
        ],
        "beat": [
            *(python, "-m", "celery", "-A", "worker.celery_app", "beat"),
            # Beat would log every sweep it sends (each few seconds); the worker logs them too.
            "--loglevel=WARNING",
            f"--schedule={schedule}",
        ],
    }
    for name, args in commands.items():
        supervisor.start(name, args, env)

    ready = _wait_until_answering(
        supervisor,
        signals,
        {"intake": options.intake_port, "moderation": options.moderation_port},
        _probe_host(options.host),
        options.ready_timeout,
    )
    if not ready:
        return 0 if signals.stop else 1

    for line in _banner(intake_url, moderation_url, demo):
        echo(line)
    while not signals.stop:
        supervisor.pump(0.5)
        dead = supervisor.died()
        if dead is not None:
            _report_death(dead, echo)
            return 1
    echo(f"standalone | {signals.received} received")
    return 0


def _quiet_when_closed(echo: Echo) -> Echo:
    # If our output goes away (a pager quit, a closed terminal), the children must still be
    # supervised and stopped: a failed write may not end the loop or skip the clean-up.
    def emit(line: str) -> None:
        with contextlib.suppress(OSError):
            echo(line)

    return emit


def _init(instance: Path, echo: Echo) -> None:
    # An existing file is left alone; a secret missing from it and from the environment is
    # reported by Settings.require_secrets below.
    result = init_instance(instance)
    if result.created:
        echo(f"standalone | created {result.path} with new secrets (`tipline init`)")


def _start_broker(
    settings: Settings, env: dict[str, str], supervisor: Supervisor, signals: _Signals
) -> None:
    sock = broker.socket_path_of(settings.broker_url)
    broker.clear_stale_socket(sock)
    child = supervisor.start("broker", broker.server_args(sock), env)
    deadline = time.monotonic() + BROKER_START_SECONDS
    while not broker.answers(sock):
        if signals.stop:
            return
        if child.popen.poll() is not None:
            supervisor.pump(0.1)
            raise StandaloneError("the embedded broker (redis-server) exited at start")
        if time.monotonic() > deadline:
            raise StandaloneError(f"the embedded broker did not answer at {sock}")
        supervisor.pump(0.1)
    supervisor.echo(f"standalone | embedded broker (Redis) listening at {sock}")


def _gunicorn(app: str, host: str, port: int, workers: int) -> list[str]:
    # No --access-logfile: gunicorn's access log would record every reader's IP address; and
    # core.gunicorn_conf removes client addresses from its error log too.
    args = [
        *(sys.executable, "-m", "gunicorn", f"{app}.wsgi:app"),
        "--config=python:core.gunicorn_conf",
        f"--bind={_bind(host, port)}",
        f"--workers={workers}",
        "--worker-class=sync",
        "--graceful-timeout=5",
        f"--name=tipline-{app}",
        "--error-logfile=-",
    ]
    if _gunicorn_has_control_socket():
        # Both servers would otherwise share one control socket in the user's home folder.
        args.append("--no-control-socket")
    return args


def _gunicorn_has_control_socket() -> bool:
    try:
        version = importlib.metadata.version("gunicorn")
    except importlib.metadata.PackageNotFoundError:
        return False
    major, minor = (int(part) for part in version.split(".")[:2])
    return (major, minor) >= (25, 1)


def _wait_until_answering(
    supervisor: Supervisor,
    signals: _Signals,
    ports: dict[str, int],
    host: str,
    timeout: float,
) -> bool:
    waiting = dict(ports)
    deadline = time.monotonic() + timeout
    while waiting:
        for name, port in list(waiting.items()):
            if _answers(host, port):
                del waiting[name]
        supervisor.pump(0.3)
        if signals.stop:
            return False
        dead = supervisor.died()
        if dead is not None:
            _report_death(dead, supervisor.echo)
            return False
        if time.monotonic() > deadline:
            names = " and ".join(waiting)
            supervisor.echo(f"standalone | {names} did not answer within {timeout:.0f} s")
            return False
    return True


def _answers(host: str, port: int) -> bool:
    """Whether the site on host:port answers its health check."""
    connection = http.client.HTTPConnection(host, port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _report_death(child: Child, echo: Echo) -> None:
    code = child.popen.returncode
    how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with {code}"
    echo(f"standalone | {child.name} (pid {child.pid}) {how} unexpectedly; stopping the rest")


@dataclass(frozen=True)
class Demo:
    """What the demo data gives a newcomer: an article to open and an admin to log in as."""

    article_slug: str
    admin_email: str
    password: str


def _seed_demo(settings: Settings, admin_email: str) -> Demo:
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            article = seed_demo_article(session)
            admin, password = reset_demo_admin(session, admin_email, settings.tip_private_key)
            return Demo(article_slug=article.slug, admin_email=admin.email, password=password)
    finally:
        engine.dispose()


def _banner(intake_url: str, moderation_url: str, demo: Demo | None) -> list[str]:
    rule = "=" * 72
    lines = [
        rule,
        "Tipline is running.",
        f"  Public site (readers):   {intake_url}/",
        f"  Staff site (moderators): {moderation_url}/",
    ]
    if demo is not None:
        # The article's address follows intake's URL rule (intake/articles.py).
        lines[3:3] = [f"  Demo article:            {intake_url}/articles/{demo.article_slug}"]
        lines += [
            f"  Admin login:             {demo.admin_email}",
            f"  One-time password:       {demo.password}",
            "  (a new password is made at every start; it is shown only here)",
        ]
    return [*lines, "Press Ctrl-C to stop every process.", rule]


def _check_port_free(host: str, port: int, option: str) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # Same as gunicorn: a port in TIME_WAIT is free; only a listener makes it busy.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StandaloneError(
                    f"port {port} on {host} is already in use: choose another with {option}"
                ) from None
            raise StandaloneError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _probe_host(host: str) -> str:
    if host in ("", "0.0.0.0"):  # noqa: S104 (we connect to it, we do not bind it)
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def _url(host: str, port: int) -> str:
    shown = _probe_host(host)
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def _alive(child: Child) -> bool:
    """Whether the child or anything left in its process group still runs."""
    return child.popen.poll() is None or bool(_group_members(child.pid))


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group `pgid`."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        return [pgid]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: if standalone itself is killed (SIGKILL, a
    # crash), the kernel sends the child SIGTERM instead of leaving it running unsupervised.
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
