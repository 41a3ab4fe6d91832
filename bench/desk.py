#!/usr/bin/env python3
"""How fast the moderation desk answers with a real backlog: queue, item, decision, counts.

    python bench/desk.py [--count 1000000] [--keep] [--requests 200]

Loads `count` comments (a tenth pending, the rest decided) on 2,000 articles into a PostgreSQL
database with COPY, with check results and audit rows, then starts the staff app under gunicorn
(2 sync workers), logs one moderator in through the login form and times sequential requests
per scenario (after a warm-up): the pending queue (first page and a deep page through the
keyset cursor), the queue filtered (article, check, language and dates), the queue with a search
term (a frequent, a middling and a rare word), a comment's page, a decision (each on a different
pending comment, with its current version) and /counts.json. Prints p50/p95/p99 against the
issue's targets, then EXPLAIN (ANALYZE, BUFFERS) of the statements the app runs for each page:
they are captured while the app itself serves the same URLs in-process, so they are the app's
real queries and parameters.

--keep leaves the database (tipline_bench_desk) in place and reuses it when it holds `count`
comments; the decisions a run makes are undone at its end, so reruns start from the same state.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import requests
from common import PG, REDIS, copy_lines, rig  # type: ignore[import-not-found]
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from core import tallies
from core.db import session_scope
from core.enums import Role, Status
from core.staff import create_staff_user

DBNAME = "tipline_bench_desk"
ARTICLES = 2000
SENDERS = 200_000
DAYS = 90
PASSWORD = "bench-password-1234"
MODERATOR = "bench@example.org"

# (scenario, target p95 in ms)
TARGETS = {"queue": 50.0, "item": 30.0, "decision": 30.0, "counts": 20.0}

# Common words first: drawn with Zipf weights (rank r has weight 1/r), so the first few are in
# nearly every comment and the last ones in about one in a hundred.
ES_WORDS = tuple(
    """
    de la que el en y a los se no las por un con para una es lo como más pero sus le ya o este
    sí porque esta entre cuando muy sin sobre también me hasta hay donde quien desde todo nos
    durante todos uno les ni contra otros ese eso ante ellos e esto mí antes algunos qué unos
    yo otro otras otra él tanto esa estos mucho quienes nada muchos cual poco ella gobierno
    gente país luz agua precio barrio calle salario apagón pueblo verdad mentira comida
    escuela médico hospital medicinas gasolina transporte guagua mercado dólar pesos familia
    trabajo ciudad provincia noticia periódico artículo gracias problema situación derecho
    justicia policía presidente ministro elecciones economía inflación pensión jubilados
    alquiler vivienda corriente electricidad internet teléfono libreta bodega pollo arroz
    frijoles pan leche huevos colas vecinos madre hijos niños escuelas maestros salud vacuna
    ómnibus tren carretera lluvia ciclón huracán sequía calor campo cosecha
    """.split()  # noqa: SIM905
)
EN_WORDS = tuple(
    """
    the of and to a in is that for it as was with be by on not he this are or his from at
    which but have an they you were her she there their one all we can has been if more will
    would who so no what up out about them into just some than could then only other also
    people government city council water power price rent school hospital police mayor
    election vote tax budget road traffic bus train housing jobs wages prices inflation report
    article thanks problem truth story community neighbours family children teachers health
    vaccine doctor nurses clinic weather storm flood drought heat farm harvest market store
    gas fuel bridge park library museum court judge lawyer reporter newspaper editor
    """.split()  # noqa: SIM905
)
# Rare words: each is in about one comment in ten thousand.
RARE_SYLLABLES = tuple(
    """
    ba be bi bo ca co cu da de do fa fe ga go la le li lo ma me mi mo na ne no ra re ri ro sa
    se so ta te to va ve za
    """.split()  # noqa: SIM905
)


def _rare_words(n: int, rng: random.Random) -> list[str]:
    made: set[str] = set()
    while len(made) < n:
        made.add("".join(rng.choice(RARE_SYLLABLES) for _ in range(rng.randint(3, 4))))
    return sorted(made)


@dataclass
class Corpus:
    """Word lists with their cumulative Zipf weights, and the rare words."""

    es: tuple[str, ...]
    es_weights: list[float]
    en: tuple[str, ...]
    en_weights: list[float]
    rare: list[str]


def corpus(rng: random.Random) -> Corpus:
    def cumulative(n: int) -> list[float]:
        total, out = 0.0, []
        for rank in range(1, n + 1):
            total += 1.0 / rank
            out.append(total)
        return out

    return Corpus(
        ES_WORDS,
        cumulative(len(ES_WORDS)),
        EN_WORDS,
        cumulative(len(EN_WORDS)),
        _rare_words(500, rng),
    )


def body_text(rng: random.Random, words: Corpus, locale: str) -> str:
    """A comment of 8–45 words in `locale`; one in twenty has a rare word."""
    vocabulary, weights = (
        (words.es, words.es_weights) if locale == "es" else (words.en, words.en_weights)
    )
    chosen = rng.choices(vocabulary, cum_weights=weights, k=rng.randint(8, 45))
    if rng.random() < 0.05:
        chosen.insert(rng.randrange(len(chosen)), rng.choice(words.rare))
    return " ".join(chosen).capitalize() + "."


def load(database_url: str, count: int, seed: int = 1) -> None:
    """Fill the database: articles, staff, comments, their check results and audit rows."""
    rng = random.Random(seed)
    words = corpus(rng)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=DAYS)
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("SET synchronous_commit = off")
        connection.execute("SET maintenance_work_mem = '1GB'")
        # Indexes are dropped during the load and rebuilt after it, with their own definitions
        # (much faster than maintaining them, the GIN one above all, row by row).
        indexes = connection.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "AND tablename IN ('submissions', 'check_results', 'audit_events') "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        ).fetchall()
        for name, _definition in indexes:
            connection.execute(f'DROP INDEX "{name}"')
        # The queues' tallies (core.tallies) are counted once after the load, not row by row.
        connection.execute("ALTER TABLE submissions DISABLE TRIGGER submissions_tally")

        moderators = [
            connection.execute(
                "INSERT INTO staff_users (email, password_hash, role, is_active, session_token, "
                "created_at) VALUES (%s, 'x', 'moderator', true, %s, %s) RETURNING id",
                (f"mod{i}@example.org", os.urandom(16).hex(), start),
            ).fetchone()[0]  # type: ignore[index]
            for i in range(5)
        ]

        def articles() -> Iterator[str]:
            for i in range(1, ARTICLES + 1):
                at = start - timedelta(days=10) + timedelta(seconds=i * DAYS * 86400 // ARTICLES)
                mode = "pre" if i % 5 == 0 else "post"
                title = f"Artículo número {i}"
                yield f"{i}\tarticle-{i}\t{title}\t\\N\tTexto.\t{mode}\t{at.isoformat()}\n"

        copy_lines(
            connection,
            "COPY articles (id, slug, title, url, body, mode, created_at) FROM STDIN",
            articles(),
        )
        connection.execute("SELECT setval('articles_id_seq', (SELECT max(id) FROM articles))")

        pending = set(rng.sample(range(count), count // 10))
        decided = (Status.published, Status.rejected, Status.spam, Status.reported)
        decided_weights = (80, 10, 8, 2)
        senders = [hashlib.sha256(f"s{i}".encode()).hexdigest() for i in range(SENDERS)]
        networks = [hashlib.sha256(f"n{i}".encode()).hexdigest() for i in range(SENDERS // 2)]
        span = DAYS * 86400
        # Popular articles get most comments: article r has weight 1/r.
        article_weights: list[float] = []
        total = 0.0
        for rank in range(1, ARTICLES + 1):
            total += 1.0 / rank
            article_weights.append(total)
        article_ids = list(range(1, ARTICLES + 1))
        rng.shuffle(article_ids)

        rows: list[tuple[int, str, datetime, str]] = []  # id, status, created_at, flagged check

        def submissions() -> Iterator[str]:
            for i in range(count):
                ident = i + 1
                created = start + timedelta(seconds=span * i / count + rng.random())
                locale = "es" if rng.random() < 0.6 else "en"
                status = (
                    Status.pending
                    if i in pending
                    else rng.choices(decided, weights=decided_weights)[0]
                )
                # Held comments are more often the ones a check flagged.
                flagged = ""
                if rng.random() < (0.5 if status == Status.pending else 0.28):
                    flagged = rng.choice(("links", "words"))
                rows.append((ident, status.value, created, flagged))
                article = article_ids[_bisect(article_weights, rng.random() * article_weights[-1])]
                sender = senders[int(SENDERS * rng.random() ** 2)]
                network = networks[int(len(networks) * rng.random() ** 2)]
                if status == Status.pending:
                    version, decided_by, decided_at = 2, "\\N", "\\N"
                else:
                    version = 3
                    decided_by = str(rng.choice(moderators))
                    decided_at = (created + timedelta(minutes=rng.randint(5, 600))).isoformat()
                body = body_text(rng, words, locale)
                iso = created.isoformat()
                updated = iso if decided_at == "\\N" else decided_at
                yield (
                    f"{ident}\tD{ident:09d}\tcomment\t{status.value}\t{version}\t{article}\t"
                    f"{locale}\tLector {int(sender[:6], 16) % 9973}\t{body}\t{sender}\t"
                    f"{network}\t{iso}\t{updated}\t{iso}\t"
                    f"{decided_by}\t{decided_at}\n"
                )

        started = time.monotonic()
        copy_lines(
            connection,
            "COPY submissions (id, ref, kind, status, version, article_id, locale, author_name, "
            "body, email_hash, ip_hash, created_at, updated_at, enqueued_at, decided_by_id, "
            "decided_at) FROM STDIN",
            submissions(),
        )
        connection.execute("SELECT setval('submissions_id_seq', (SELECT max(id) FROM submissions))")
        print(f"# loaded {count} comments in {time.monotonic() - started:.0f} s", flush=True)

        def check_results() -> Iterator[str]:
            ident = 0
            for submission_id, _status, created, flagged in rows:
                at = (created + timedelta(seconds=2)).isoformat()
                for name in ("links", "words"):
                    ident += 1
                    if name == flagged:
                        verdict = "suspect" if rng.random() < 0.67 else "spam"
                        reason = (
                            "link shortener: %(domain)s"
                            if name == "links"
                            else ("suspect word: %(word)s")
                        )
                        params = '{"domain": "bit.ly"}' if name == "links" else '{"word": "x"}'
                        score = "0.8"
                    else:
                        verdict, score, params = "ok", "0.0", "{}"
                        reason = "links: %(count)d" if name == "links" else "no listed words"
                        if name == "links":
                            params = '{"count": 0}'
                    yield (
                        f"{ident}\t{submission_id}\t{name}\t1\t{verdict}\t{score}\t{reason}\t"
                        f"{params}\t{at}\n"
                    )

        copy_lines(
            connection,
            "COPY check_results (id, submission_id, name, version, verdict, score, reason, "
            "reason_params, created_at) FROM STDIN",
            check_results(),
        )
        connection.execute(
            "SELECT setval('check_results_id_seq', (SELECT max(id) FROM check_results))"
        )

        def audit_events() -> Iterator[str]:
            # The checks' move out of `received`, and for decided ones the moderator's decision.
            ident = 0
            for submission_id, status, created, _flagged in rows:
                ident += 1
                at = (created + timedelta(seconds=3)).isoformat()
                yield (
                    f"{ident}\t{at}\t\\N\tsystem\tchecks\t{submission_id}\treceived\tpending\t"
                    "checks\n"
                )
                if status != "pending":
                    ident += 1
                    moderator = rng.choice(moderators)
                    at = (created + timedelta(minutes=rng.randint(5, 600))).isoformat()
                    yield (
                        f"{ident}\t{at}\t{moderator}\tmod{moderators.index(moderator)}@example.org"
                        f"\tstatus\t{submission_id}\tpending\t{status}\t\n"
                    )

        copy_lines(
            connection,
            "COPY audit_events (id, at, actor_id, actor_label, action, submission_id, "
            "from_status, to_status, reason) FROM STDIN",
            audit_events(),
        )
        connection.execute(
            "SELECT setval('audit_events_id_seq', (SELECT max(id) FROM audit_events))"
        )
        rebuilt = time.monotonic()
        for _name, definition in indexes:
            connection.execute(definition)
        print(f"# rebuilt {len(indexes)} indexes in {time.monotonic() - rebuilt:.0f} s", flush=True)
        connection.execute("ALTER TABLE submissions ENABLE TRIGGER submissions_tally")
        connection.execute("DELETE FROM status_tallies")
        connection.execute(
            "INSERT INTO status_tallies (kind, status, n) SELECT kind, status, count(*) "
            "FROM submissions WHERE status <> 'received' GROUP BY kind, status"
        )
        connection.execute("VACUUM ANALYZE")
        print(f"# load, indexes and ANALYZE: {time.monotonic() - started:.0f} s", flush=True)


def _bisect(cumulative: list[float], value: float) -> int:
    lo, hi = 0, len(cumulative) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cumulative[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


def loaded_count(engine: Engine) -> int:
    """How many comments the database holds (0 when it is empty or not migrated)."""
    with engine.connect() as connection:
        return connection.scalar(text("SELECT count(*) FROM submissions")) or 0


def ensure_moderator(engine: Engine) -> None:
    """The account the run logs in with."""
    with session_scope(engine) as session:
        exists = session.execute(
            text("SELECT 1 FROM staff_users WHERE email = :e"), {"e": MODERATOR}
        ).first()
        if not exists:
            create_staff_user(session, MODERATOR, PASSWORD, Role.moderator)
            session.commit()


@dataclass
class Timing:
    """Latencies of one scenario, in milliseconds."""

    label: str
    target: float
    samples: list[float]

    def percentile(self, p: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def line(self) -> str:
        p95 = self.percentile(95)
        verdict = "PASS" if p95 <= self.target else "FAIL"
        return (
            f"| {self.label} | {statistics.median(self.samples):.1f} | {p95:.1f} | "
            f"{self.percentile(99):.1f} | ≤ {self.target:.0f} | {verdict} |"
        )


def timed(
    label: str, target: float, send: Callable[[int], requests.Response], n: int, warm: int
) -> Timing:
    """Send `warm` then `n` requests one after another; time the last `n`."""
    samples: list[float] = []
    for i in range(warm + n):
        started = time.perf_counter()
        response = send(i)
        elapsed = 1000 * (time.perf_counter() - started)
        if response.status_code not in (200, 303):
            raise SystemExit(f"{label}: {response.status_code} for {response.url}")
        if i >= warm:
            samples.append(elapsed)
    return Timing(label, target, samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per scenario")
    parser.add_argument("--warm", type=int, default=20, help="untimed requests first")
    parser.add_argument("--keep", action="store_true", help=f"keep and reuse {DBNAME}")
    parser.add_argument("--pg", default=PG)
    parser.add_argument("--redis", default=REDIS)
    parser.add_argument("--port", type=int, default=18081)
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--no-explain", action="store_true")
    args = parser.parse_args()

    name = DBNAME if args.keep else None
    with rig(
        args.pg,
        args.redis,
        name=name,
        keep=args.keep,
        TIPLINE_LOGIN_RATE_LIMIT="1000 per minute",
    ) as bench:
        have = loaded_count(bench.engine)
        if have != args.count:
            if have:
                raise SystemExit(
                    f"{DBNAME} holds {have} comments, not {args.count}: "
                    f"drop it first (psql -c 'DROP DATABASE \"{DBNAME}\"')"
                )
            load(bench.database_url, args.count)
        else:
            print(f"# reusing {DBNAME} with {have} comments", flush=True)
        ensure_moderator(bench.engine)
        # What beat does every minute: the tallies of the last run's decisions folded.
        with Session(bench.engine) as session:
            tallies.compact(session)
        os.environ.update(bench.env)
        with bench.engine.connect() as connection:
            mark = connection.scalar(text("SELECT coalesce(max(id), 0) FROM audit_events"))
        bench.spawn(
            *("gunicorn", "-w", "2", "--threads", str(args.threads)),
            *("-b", f"127.0.0.1:{args.port}", "moderation.wsgi:app"),
        )
        decided: list[int] = []
        try:
            code = measure(args, bench.engine, f"http://127.0.0.1:{args.port}", decided)
            if not args.no_explain:
                explain(bench.engine, decided)
        except SystemExit:
            # The app's traceback, if it failed, is in its log: show the end of it.
            log = (bench.instance / "processes.log").read_text(errors="replace")
            print(log[-3000:], file=sys.stderr)
            raise
        finally:
            undo(bench.engine, decided, mark)
        return code


@dataclass
class Probe:
    """Values the scenarios need, read from the loaded data."""

    deep_cursor: str
    article: int
    since: str
    until: str
    frequent: str
    middling: str
    rare: str
    items: list[int]
    pending: list[tuple[int, int]]


def probe(engine: Engine, n: int) -> Probe:
    from moderation.review import Cursor

    with engine.connect() as connection:
        pending_total = connection.scalar(
            text("SELECT count(*) FROM submissions WHERE status = 'pending'")
        )
        deep = connection.execute(
            text(
                "SELECT created_at, id FROM submissions WHERE status = 'pending' "
                "ORDER BY created_at, id OFFSET :o LIMIT 1"
            ),
            {"o": (pending_total or 1) // 2},
        ).one()
        # A popular article: the one with the most pending comments.
        article = connection.scalar(
            text(
                "SELECT article_id FROM submissions WHERE status = 'pending' "
                "GROUP BY article_id ORDER BY count(*) DESC LIMIT 1"
            )
        )
        newest = connection.scalar(text("SELECT max(created_at) FROM submissions"))
        rare = connection.scalar(
            text(
                "SELECT w FROM (SELECT unnest(string_to_array(lower(body), ' ')) AS w "
                "FROM submissions WHERE id % 997 = 0) words "
                "WHERE length(w) >= 6 AND w NOT LIKE '%.%' "
                "GROUP BY w ORDER BY count(*), w LIMIT 1"
            )
        )
        items = list(
            connection.scalars(
                text("SELECT id FROM submissions ORDER BY random() LIMIT :n"), {"n": n}
            )
        )
        pending = [
            (row.id, row.version)
            for row in connection.execute(
                text(
                    "SELECT id, version FROM submissions WHERE status = 'pending' "
                    "ORDER BY random() LIMIT :n"
                ),
                {"n": n},
            )
        ]
    until = newest.date() - timedelta(days=30)
    return Probe(
        deep_cursor=Cursor(deep.created_at, deep.id).encode(),
        article=article,
        since=(until - timedelta(days=14)).isoformat(),
        until=until.isoformat(),
        frequent="gobierno",
        middling="huracán",
        rare=rare or "zzz",
        items=items,
        pending=pending,
    )


def scenarios(p: Probe) -> list[tuple[str, str, str]]:
    """(label, target key, URL) of each GET scenario."""
    return [
        ("queue, pending, first page", "queue", "/queue?status=pending"),
        (
            "queue, pending, deep page (cursor)",
            "queue",
            f"/queue?status=pending&after={p.deep_cursor}",
        ),
        ("queue, newest first", "queue", "/queue?status=pending&order=newest"),
        ("queue, all tabs", "queue", "/queue?status=all"),
        ("queue, by article", "queue", f"/queue?status=pending&article={p.article}"),
        ("queue, by check (links)", "queue", "/queue?status=pending&check=links"),
        (
            "queue, language + 2 weeks",
            "queue",
            f"/queue?status=pending&language=en&from={p.since}&to={p.until}",
        ),
        (
            f"queue, search frequent ({p.frequent})",
            "queue",
            f"/queue?status=pending&q={p.frequent}",
        ),
        (
            f"queue, search middling ({p.middling})",
            "queue",
            f"/queue?status=pending&q={p.middling}",
        ),
        (f"queue, search rare ({p.rare})", "queue", f"/queue?status=pending&q={p.rare}"),
        ("queue, search all tabs (frequent)", "queue", f"/queue?status=all&q={p.frequent}"),
        # A name no comment has: the planner must not walk the whole queue looking for it.
        ("queue, search all tabs (no match)", "queue", "/queue?status=all&q=zqxjkvw"),
        ("counts (/counts.json)", "counts", "/counts.json"),
    ]


def log_in(base: str) -> tuple[requests.Session, str]:
    """A session logged in through the real login form, and its CSRF token."""
    import re

    token_re = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
    deadline = time.monotonic() + 30
    client = requests.Session()
    while True:
        try:
            page = client.get(base + "/login", timeout=2)
            break
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise SystemExit("the staff app did not start") from None
            time.sleep(0.2)
    token = token_re.search(page.text).group(1)  # type: ignore[union-attr]
    answer = client.post(
        base + "/login",
        data={"csrf_token": token, "email": MODERATOR, "password": PASSWORD},
        allow_redirects=False,
    )
    if answer.status_code != 303:
        raise SystemExit(f"login failed: {answer.status_code}")
    page = client.get(base + "/queue?status=pending")
    token = token_re.search(page.text).group(1)  # type: ignore[union-attr]
    return client, token


def measure(args: argparse.Namespace, engine: Engine, base: str, decided: list[int]) -> int:
    """Time each scenario and print the table; 1 when a target is missed."""
    n, warm = args.requests, args.warm
    client, token = log_in(base)
    p = probe(engine, n + warm)
    print(
        f"# {args.count} comments, {ARTICLES} articles; gunicorn -w 2 --threads {args.threads} "
        f"(sync workers); {warm} warm-up + {n} timed requests per scenario, one at a time; "
        f"{os.cpu_count()} cores",
        flush=True,
    )
    print("| scenario | p50 ms | p95 ms | p99 ms | target p95 | |")
    print("|---|---|---|---|---|---|")
    results: list[Timing] = []
    for label, key, path in scenarios(p):

        def get(_i: int, path: str = path) -> requests.Response:
            return client.get(base + path, allow_redirects=False)

        results.append(timed(label, TARGETS[key], get, n, warm))
        print(results[-1].line(), flush=True)

    def item(i: int) -> requests.Response:
        return client.get(f"{base}/submissions/{p.items[i]}", allow_redirects=False)

    results.append(timed("comment page", TARGETS["item"], item, n, warm))
    print(results[-1].line(), flush=True)

    def decide(i: int) -> requests.Response:
        ident, version = p.pending[i]
        decided.append(ident)
        response = client.post(
            f"{base}/submissions/{ident}/status",
            data={"csrf_token": token, "version": str(version), "to": "published"},
            allow_redirects=False,
        )
        if response.status_code != 303:
            raise SystemExit(f"decision on {ident}: {response.status_code}")
        return response

    results.append(timed("decision (approve, next waiting)", TARGETS["decision"], decide, n, warm))
    print(results[-1].line(), flush=True)
    missed = [r.label for r in results if r.percentile(95) > r.target]
    print(f"missed: {', '.join(missed) if missed else 'none'}")
    return 1 if missed else 0


def undo(engine: Engine, decided: list[int], mark: int) -> None:
    """Put the comments decided by the run back in the queue, drop the run's audit rows."""
    if not decided:
        return
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE submissions SET status = 'pending', decided_by_id = NULL, "
                "decided_at = NULL WHERE id = ANY(:ids)"
            ),
            {"ids": decided},
        )
        connection.execute(text("DELETE FROM audit_events WHERE id > :m"), {"m": mark})
        connection.execute(text("DELETE FROM claims"))


def explain(engine: Engine, decided: list[int]) -> None:
    """Each page served in-process: its statements and their times, then EXPLAIN of the reads."""
    import re

    from moderation import create_app

    app = create_app()
    p = probe(engine, 2)
    pages = [(label, path) for label, _key, path in scenarios(p)]
    pages.append(("comment page", f"/submissions/{p.items[0]}"))
    captured: list[list[Any]] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append([statement, parameters, time.perf_counter()])

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured[-1][2] = 1000 * (time.perf_counter() - captured[-1][2])

    token_re = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
    runs: list[tuple[str, list[list[Any]]]] = []
    # No app context around the requests: each must get its own `g` (session, CSRF token).
    client = app.test_client()
    token = token_re.search(client.get("/login").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"csrf_token": token, "email": MODERATOR, "password": PASSWORD})
    # Every engine: the app reads through an engine derived from its own.
    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    try:
        for label, path in pages:
            client.get(path)  # warm: the first request of a kind loads templates
            captured.clear()
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            found = token_re.search(response.get_data(as_text=True))
            token = found.group(1) if found else token
            runs.append((label, list(captured)))
        ident, version = p.pending[1]
        decided.append(ident)  # undone with the others at the end
        captured.clear()
        response = client.post(
            f"/submissions/{ident}/status",
            data={"csrf_token": token, "version": str(version), "to": "published"},
        )
        assert response.status_code == 303, response.status_code
        runs.append(("decision", list(captured)))
    finally:
        event.remove(Engine, "before_cursor_execute", before)
        event.remove(Engine, "after_cursor_execute", after)
    dsn = engine.url.render_as_string(hide_password=False).replace(
        "postgresql+psycopg://", "postgresql://"
    )
    print("\n# Statements per page (in-process, ms each), then the plans of the reads")
    with psycopg.connect(dsn) as connection:
        for label, statements in runs:
            total = sum(ms for _s, _p, ms in statements)
            print(f"\n## {label}: {len(statements)} statements, {total:.1f} ms in the database")
            for statement, _params, ms in statements:
                print(f"   {ms:8.1f} ms  {' '.join(statement.split())[:150]}")
            if label == "decision":
                continue
            for statement, params, ms in statements:
                if not statement.lstrip().upper().startswith("SELECT") or ms < 1.0:
                    continue  # the plans worth reading: what takes time
                with connection.cursor() as cursor:
                    rows = cursor.execute(
                        "EXPLAIN (ANALYZE, BUFFERS) " + statement, params or None
                    ).fetchall()
                print(f"-- {' '.join(statement.split())[:300]}")
                for (line,) in rows:
                    print("   " + line)
            connection.rollback()


if __name__ == "__main__":
    sys.exit(main())
