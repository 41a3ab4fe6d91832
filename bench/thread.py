#!/usr/bin/env python3
"""Reading a hot article's thread through the JSON API: cached against uncached.

    python bench/thread.py [--duration 15] [--connections 16] [--rate 300]

Loads one article with 200 published comments (140 comments, 60 replies under 30 of them, 3
featured) into a fresh PostgreSQL database, then starts the public app twice under gunicorn
(2 sync workers each, one at a time): with the Redis thread cache, and with it turned off
(TIPLINE_CACHE_URL=off). For each it prints:
  - the most requests/s wrk gets from `GET /api/v1/articles/hot/comments` (closed loop,
    --connections connections), with p50/p99;
  - p50/p99/slowest at a fixed rate (--rate requests/s, evenly spaced, open loop: see
    common.open_loop), the issue's target being p99 <= 20 ms at 300 requests/s with the cache.
Then the cached/uncached throughput ratio (target >= 5). Every request goes through the whole
stack readers' browsers meet: the Origin check and CORS headers, the read limit's count of the
read in Redis (its limit raised so that one client never trips it), the thread cache.
Needs PostgreSQL and Redis (defaults: 127.0.0.1) and wrk (`apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from common import PG, REDIS, Rig, open_loop, rig  # type: ignore[import-not-found]
from sqlalchemy import Engine, insert

from core.db import session_scope
from core.enums import Kind, ModerationMode, Status
from core.models import Article, Submission, new_ref
from core.site_settings import save

ORIGIN = "https://www.outlet.example"
TOP_LEVEL = 140
REPLIES = 60
PARENTS = 30
FEATURED = 3
PATH = "/api/v1/articles/hot/comments"


def load(engine: Engine) -> None:
    """One article with 200 published comments and the outlet's origin allowed."""
    start = datetime.now(UTC) - timedelta(days=1)
    with session_scope(engine) as session:
        article = Article(slug="hot", title="A hot article", url=f"{ORIGIN}/hot", body="")
        article.mode = ModerationMode.post
        session.add(article)
        session.flush()

        def row(i: int, parent: int | None) -> dict[str, object]:
            return {
                "ref": new_ref(),
                "kind": Kind.comment,
                "status": Status.published,
                "article_id": article.id,
                "parent_id": parent,
                "author_name": f"Lector {i}",
                "body": f"Comentario número {i} sobre los apagones en La Habana. " * 4,
                "locale": "es",
                "created_at": start + timedelta(seconds=i * 60),
                "updated_at": start + timedelta(seconds=i * 60),
                "featured_at": start if i < FEATURED else None,
            }

        ids = list(
            session.scalars(
                insert(Submission).returning(Submission.id),
                [row(i, None) for i in range(TOP_LEVEL)],
            )
        )
        session.execute(
            insert(Submission),
            [row(TOP_LEVEL + i, ids[i % PARENTS]) for i in range(REPLIES)],
        )
        session.commit()
        save(session, None, "bench", embed_origins=ORIGIN)


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def wrk(url: str, duration: int, connections: int) -> tuple[float, float, float]:
    """requests/s, p50 ms, p99 ms of a closed-loop run."""
    out = subprocess.run(
        [
            *("wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency"),
            *("-H", f"Origin: {ORIGIN}", url),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    non_ok = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_ok:
        raise SystemExit(f"wrk saw {non_ok.group(1)} failed responses:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return rps, _percentile(out, "50%"), _percentile(out, "99%")


def _percentile(out: str, label: str) -> float:
    match = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)", out)
    assert match, out
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]


def serve(bench: Rig, port: int, cache: bool) -> subprocess.Popen[bytes]:
    """The public app under gunicorn, with the thread cache or without it."""
    return bench.spawn(
        *("gunicorn", "-w", "2", "--config", "python:core.gunicorn_conf"),
        *("-b", f"127.0.0.1:{port}", "intake.wsgi:app"),
        env={} if cache else {"TIPLINE_CACHE_URL": "off"},
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, 15)
    process.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=PG)
    parser.add_argument("--redis", default=REDIS)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rate", type=int, default=300)
    parser.add_argument("--port", type=int, default=5090)
    args = parser.parse_args()

    with rig(
        args.pg,
        args.redis,
        # One client must never trip the limit, but each read is still counted in Redis.
        TIPLINE_API_READ_RATE_LIMIT="100000000 per minute",
    ) as bench:
        load(bench.engine)
        base = f"http://127.0.0.1:{args.port}"
        url = base + PATH
        print(
            f"# {TOP_LEVEL + REPLIES} published comments ({REPLIES} replies, {FEATURED} "
            f"featured), first page (20 comments with their replies); gunicorn -w 2 (sync); "
            f"PostgreSQL + Redis; {os.cpu_count()} cores",
            flush=True,
        )
        size = 0
        figures: dict[bool, float] = {}
        for cache in (True, False):
            process = serve(bench, args.port, cache)
            wait_for(base + "/healthz")
            first = requests.get(url, headers={"Origin": ORIGIN}, timeout=5)
            first.raise_for_status()
            size = len(first.content)
            wrk(url, 3, args.connections)  # warm-up: imports, connections, the cache filled
            rps, p50, p99 = wrk(url, args.duration, args.connections)
            figures[cache] = rps
            label = "cached  " if cache else "uncached"
            print(
                f"{label} max  {rps:>8.0f} req/s   p50 {p50:>6.1f} ms   p99 {p99:>6.1f} ms   "
                f"({args.connections} connections, closed loop)",
                flush=True,
            )
            fixed = open_loop(url, args.rate, args.duration, {"Origin": ORIGIN})
            target = "  (target p99 <= 20 ms)" if cache else ""
            print(
                f"{label} at {args.rate}/s: {fixed.rate:>6.0f} req/s   p50 {fixed.p50:>6.1f} ms   "
                f"p99 {fixed.p99:>6.1f} ms   slowest {fixed.slowest:>6.1f} ms   "
                f"failed {fixed.failed}{target}",
                flush=True,
            )
            stop(process)
            time.sleep(1)
        ratio = figures[True] / figures[False]
        print(f"response {size / 1024:.1f} KiB; cached / uncached = {ratio:.1f}x (target >= 5x)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
