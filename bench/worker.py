#!/usr/bin/env python3
"""How fast one worker process checks a backlog, and what each check costs it in CPU.

    python bench/worker.py [--count 5000]

Stores `count` unchecked comments in a fresh PostgreSQL database, starts a Celery worker (one
prefork child) and beat (whose sweeper relays them in batches), and prints checks per second and
the worker's CPU time per check (main process and child, from /proc), the figure that decides
how much of a one-machine install the checks take from the web apps.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

import psutil
from common import rig  # type: ignore[import-not-found]
from sqlalchemy import func, insert, select

from core.db import session_scope
from core.enums import Kind, ModerationMode, Status
from core.models import Article, Submission


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children, user and system."""
    process = psutil.Process(pid)
    total = sum(process.cpu_times()[:2])
    for child in process.children(recursive=True):
        total += sum(child.cpu_times()[:2])
    return total


WORDS = [
    "apagón",
    "luz",
    "agua",
    "barrio",
    "gobierno",
    "precio",
    "pollo",
    "guagua",
    "médico",
    "escuela",
    "calle",
    "noche",
    "mercado",
    "pesos",
    "dólar",
    "salario",
    "hospital",
    "medicinas",
    "gasolina",
    "cola",
    "bodega",
    "libreta",
    "vecinos",
    "reporte",
    "artículo",
    "gracias",
    "verdad",
    "mentira",
    "provincia",
    "Holguín",
    "Santiago",
    "Camagüey",
]


def comment_text(i: int) -> str:
    """A different comment for each i: the flood check must not take the run for a flood."""
    rng = random.Random(i)
    return "Comentario sobre " + " ".join(rng.choice(WORDS) for _ in range(14)) + "."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=5000)
    args = parser.parse_args()
    with rig() as bench:
        with session_scope(bench.engine) as session:
            article = Article(slug="bench", title="Bench", mode=ModerationMode.post)
            session.add(article)
            session.commit()
            rows = [
                {
                    "kind": Kind.comment,
                    "article_id": article.id,
                    "author_name": "Lectora",
                    "body": comment_text(i),
                    "locale": "es",
                    "ref": f"B{i:09d}",
                }
                for i in range(args.count)
            ]
            session.execute(insert(Submission), rows)
            session.commit()
        worker = bench.worker()
        time.sleep(5)  # let it start before the clock does
        cpu_before, started = cpu_seconds(worker.pid), time.monotonic()
        bench.beat()
        with session_scope(bench.engine) as session:
            while session.scalar(select(func.count()).where(Submission.status == Status.received)):
                session.rollback()
                time.sleep(0.2)
        elapsed, cpu = time.monotonic() - started, cpu_seconds(worker.pid) - cpu_before
        print(f"# {args.count} comments, 1 worker (prefork, 1 child), PostgreSQL + Redis")
        print(f"checked           {args.count / elapsed:>7.0f} /s   ({elapsed:.1f} s in all)")
        print(f"worker CPU        {1000 * cpu / args.count:>7.2f} ms per check")
    return 0


if __name__ == "__main__":
    sys.exit(main())
