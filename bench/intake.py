#!/usr/bin/env python3
"""Throughput of the public comment form against a bare route, and proof that nothing is lost.

    python bench/intake.py [--duration 30] [--connections 50]

Starts the public app under gunicorn (2 sync workers) on PostgreSQL + Redis with a Celery worker
running, drives it with wrk from another process on loopback, and prints:
  - requests/s, p50 and p99 latency and errors for GET /healthz (the "hello" baseline);
  - the same for valid comment POSTs (each with a session cookie and its CSRF token);
  - accepted submissions/s as a share of the hello figure (the number we track);
  - after the worker drains the queue: checked/s and lost (accepted == stored == checked).
Needs PostgreSQL and Redis (defaults: 127.0.0.1) and wrk (`apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
from common import PG, REDIS, rig  # type: ignore[import-not-found]
from sqlalchemy import Engine, func, select

from core.db import session_scope
from core.enums import Kind, ModerationMode, Status
from core.models import Article, Submission

FORM_RE = re.compile(r'<form[^>]*method="post"[^>]*action="(/articles/[^"#]*)', re.I)
TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class WrkResult:
    """What wrk printed, parsed."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int

    def line(self, label: str) -> str:
        return (
            f"{label:<18} {self.rps:>9.0f} req/s   p50 {self.p50_ms:>7.1f} ms   "
            f"p99 {self.p99_ms:>7.1f} ms   errors {self.errors}"
        )


def _ms(value: str) -> float:
    match = re.match(r"([\d.]+)([a-z]+)", value)
    assert match, f"not a wrk duration: {value!r}"
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(url: str, duration: int, connections: int, script: Path | None = None) -> WrkResult:
    args = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    if script is not None:
        args += ["-s", str(script)]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    assert total, out
    seconds = float(total.group(2)) * {"s": 1.0, "m": 60.0, "ms": 0.001}[total.group(3)]
    errors = 0
    non_ok = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_ok:
        errors += int(non_ok.group(1))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket:
        errors += sum(int(g) for g in socket.groups())
    return WrkResult(
        requests=int(total.group(1)),
        seconds=seconds,
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
        p99_ms=_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
        errors=errors,
    )


def lua_script(path: Path, form_path: str, sessions: list[tuple[str, str]]) -> None:
    """A wrk script posting valid comments, rotating over pre-opened sessions."""
    entries = ",\n".join(f'  {{"{cookie}", "{token}"}}' for cookie, token in sessions)
    path.write_text(
        f"""
local sessions = {{
{entries}
}}
local n = 0
wrk.method = "POST"
request = function()
  n = n + 1
  local s = sessions[(n % #sessions) + 1]
  local body = "csrf_token=" .. s[2] .. "&author_name=Lectora&email=&body=" ..
    "Comentario+de+prueba+numero+" .. n .. "+sobre+el+articulo&topic="
  return wrk.format("POST", "{form_path}", {{
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = s[1],
  }}, body)
end
"""
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--pg", default=PG, help="PostgreSQL server (a database is made)")
    parser.add_argument("--redis", default=REDIS)
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--worker-nice", type=int, default=0, help="nice value of worker, beat")
    parser.add_argument(
        "--worker-after", action="store_true", help="start worker and beat after the load"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")

    # The load comes from one address; the limiter still runs (and costs) on every POST.
    with rig(args.pg, args.redis, TIPLINE_SUBMIT_RATE_LIMIT="10000000 per minute") as bench:
        with session_scope(bench.engine) as session:
            session.add(
                Article(slug="bench", title="Bench", body="Texto.", mode=ModerationMode.post)
            )
            session.commit()
        bench.spawn(
            *("gunicorn", "-w", "2", "--threads", str(args.threads)),
            *("-b", f"127.0.0.1:{args.port}", "intake.wsgi:app"),
        )

        # The worker and beat share the two cores with the web app, as on a one-machine
        # install; --worker-nice lowers their priority, --worker-after starts them only once
        # the load is over, to show the web path on its own.
        def start_checks() -> None:
            bench.worker(nice=args.worker_nice)
            bench.beat(nice=args.worker_nice)

        if not args.worker_after:
            start_checks()
        return measure(
            args,
            bench.engine,
            f"http://127.0.0.1:{args.port}",
            bench.instance,
            start_checks if args.worker_after else lambda: None,
        )


def measure(
    args: argparse.Namespace,
    engine: Engine,
    base: str,
    instance: Path,
    after_load: Callable[[], None],
) -> int:
    """Drive the running app with wrk, wait for the checks, print the figures."""
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(base + "/healthz", timeout=1).ok:
                break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("the public app did not start")
        time.sleep(0.2)

    sessions: list[tuple[str, str]] = []
    form_path = ""
    for _ in range(args.connections):
        client = requests.Session()
        page = client.get(base + "/articles/bench", timeout=5).text
        form_path = FORM_RE.search(page).group(1)  # type: ignore[union-attr]
        token = TOKEN_RE.search(page).group(1)  # type: ignore[union-attr]
        cookie = "; ".join(f"{c.name}={c.value}" for c in client.cookies)
        sessions.append((cookie, token))
    script = instance / "post.lua"
    lua_script(script, form_path, sessions)

    print(
        f"# {args.connections} connections, {args.duration} s each, "
        f"gunicorn -w 2 --threads {args.threads}, "
        f"PostgreSQL + Redis, a Celery worker (-c 1) and beat "
        f"{'started after the load' if args.worker_after else 'running'} "
        f"(nice {args.worker_nice}), {os.cpu_count()} cores",
        flush=True,
    )
    hello = run_wrk(base + "/healthz", args.duration, args.connections)
    print(hello.line("GET /healthz"), flush=True)
    started = time.time()
    post = run_wrk(base + form_path, args.duration, args.connections, script)
    print(post.line("POST comment"), flush=True)
    accepted = post.requests - post.errors
    print(
        f"accepted          {accepted / post.seconds:>9.0f} /s   "
        f"= {100 * post.rps / hello.rps:.0f} % of the hello route",
        flush=True,
    )

    after_load()
    with session_scope(engine) as session:

        def count(*where: object) -> int:
            return session.scalar(select(func.count(Submission.id)).where(*where)) or 0

        drain_deadline = time.monotonic() + 600
        while count(Submission.status == Status.received) and time.monotonic() < drain_deadline:
            session.rollback()
            time.sleep(1)
        stored = count(Submission.kind == Kind.comment)
        checked = count(Submission.status != Status.received)
        first, last = session.execute(
            select(func.min(Submission.created_at), func.max(Submission.updated_at))
        ).one()
    span = (last - first).total_seconds() if first and last else float("nan")
    print(
        f"checked           {checked / span:>9.0f} /s   ({checked} in {span:.0f} s, "
        f"from the first insert to the last check)"
    )
    lost = max(0, accepted - stored) + (stored - checked)
    print(
        f"accepted {accepted}  stored {stored}  checked {checked}  "
        f"(in flight at the cut-off: {stored - accepted})"
    )
    print(f"lost: {lost}")
    print(f"wall time {time.time() - started:.0f} s")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
