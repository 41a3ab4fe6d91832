#!/usr/bin/env python3
"""What confidential tips cost: submissions/s, sealing, file cleaning, an editor opening a tip.

    python bench/tips.py [--count 400] [--connections 2] [--runs 200]

On a throw-away PostgreSQL database, with an editor holding the newsroom's tip key:

(a) text-only tips through the real public site under gunicorn (2 sync workers, the production
    gunicorn config): each client thread fetches the form once for its session's CSRF token,
    then POSTs tips one after another; tips/s over the whole run, p50/p95 of each POST (the
    303 to the codename page; the page itself is not fetched). The rate limit is set far out of
    the way; nothing else is changed.
(b) the same with a 1 MB photo-like JPEG (about 4 megapixels) carrying EXIF (GPS, artist)
    attached, cleaned and encrypted by the site; only if the tip route stores files (a probe
    tip must leave one Attachment row), otherwise the output says it was skipped.
(c) in-process, `--runs` times each: record_tip (sealed to the tip key and to the worker)
    against the same rows inserted unsealed; strip + encrypt + write of the 1 MB JPEG
    (core.attachments.prepare and store). The issue's target: encryption and stripping add
    at most 30 ms p95 to a text-only tip. The codename's Argon2id, which every tip pays, is
    shown for scale.
(d) a Celery worker checks the tips (and deletes their check copies), then the editor logs in
    through the staff site's form (unlocking the tip key) and opens `--runs` different tips
    one at a time: GET /tips/<id>, decryption included; then, in-process, the decryption
    alone (the session's stored keys found and opened, the tip opened).

Prints a table with targets and PASS/FAIL; exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import requests
from common import PG, REDIS, Rig, rig  # type: ignore[import-not-found, unused-ignore]
from PIL import Image
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from core import attachments, codenames, tipkeys
from core.config import Settings
from core.crypto import seal
from core.db import session_scope
from core.enums import Kind, Role, Status
from core.models import Attachment, StaffUser, Submission, TipDetails, new_ref
from core.staff import create_staff_user
from intake.forms import TipForm
from intake.submissions import record_tip

EDITOR = "bench-editor@example.org"
PASSWORD = "bench-password-1234"
TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TIP_TEXT = (
    "En el almacén de la empresa provincial desaparecen cada mes unas doscientas cajas de "
    "pollo que luego se venden en el mercado negro. Tengo las planillas de entrada y salida."
)
CONTACT = "Signal +53 5 555 0101"

# (scenario key, target p95 in ms). The issue sets the first; opening a tip borrows the desk's
# target for a comment's page (bench/desk.py), as it is the same kind of page plus decryption.
TARGET_ADDED = 30.0
TARGET_OPEN = 30.0


@dataclass
class Timing:
    """Latencies of one scenario, in milliseconds; a target applies to its p95 if given."""

    label: str
    samples: list[float]
    target: float | None = None

    def percentile(self, p: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    @property
    def passed(self) -> bool:
        return self.target is None or self.percentile(95) <= self.target

    def line(self, extra: str = "") -> str:
        verdict = "" if self.target is None else ("PASS" if self.passed else "FAIL")
        target = "" if self.target is None else f"≤ {self.target:.0f}"
        return (
            f"| {self.label} | {extra} | {statistics.median(self.samples):.1f} | "
            f"{self.percentile(95):.1f} | {self.percentile(99):.1f} | {target} | {verdict} |"
        )


@dataclass
class Added:
    """What one step adds: the difference of two timings' p95 (and p50), against a target."""

    label: str
    base: Timing
    more: Timing
    target: float

    @property
    def p95(self) -> float:
        return self.more.percentile(95) - self.base.percentile(95)

    @property
    def passed(self) -> bool:
        return self.p95 <= self.target

    def line(self) -> str:
        p50 = statistics.median(self.more.samples) - statistics.median(self.base.samples)
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"| {self.label} | (c) difference | {p50:.1f} | {self.p95:.1f} | | "
            f"≤ {self.target:.0f} | {verdict} |"
        )


def jpeg_with_exif(target_bytes: int = 1_000_000) -> bytes:
    """A photo-like JPEG of about `target_bytes` with GPS, artist and camera tags.

    Smooth gradients with grain, like a photo: about 4 megapixels for a megabyte. (Pure noise
    would reach a megabyte with a third of the pixels, and cleaning costs per pixel.)
    """
    rng = np.random.default_rng(5)
    width, height = 2400, 1800
    data = b""
    for _ in range(6):
        x = np.linspace(0, 1, width)[None, :, None]
        y = np.linspace(0, 1, height)[:, None, None]
        planes = [x * 200 + y * 40, y * 180 + 20 * np.sin(x * 30), x * y * 255]
        base = np.concatenate(np.broadcast_arrays(*planes), axis=2)
        pixels = np.clip(base + rng.normal(0, 12, (height, width, 3)), 0, 255).astype(np.uint8)
        exif = Image.Exif()
        exif[0x013B] = "Bench Autora"  # Artist
        exif[0x0110] = "BenchCam X100"  # Model
        exif[0x8825] = {1: "N", 2: (23.0, 8.0, 12.5), 3: "W", 4: (82.0, 21.0, 56.25)}  # GPSInfo
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, "JPEG", quality=85, exif=exif)
        data = out.getvalue()
        if abs(len(data) - target_bytes) < target_bytes * 0.05:
            break
        scale = (target_bytes / len(data)) ** 0.5
        width, height = int(width * scale), int(height * scale)
    return data


def describe(jpeg: bytes) -> str:
    """'1.00 MB JPEG, 3.9 MP'."""
    with Image.open(io.BytesIO(jpeg)) as image:
        pixels = image.size[0] * image.size[1]
    return f"{len(jpeg) / 1e6:.2f} MB JPEG, {pixels / 1e6:.1f} MP"


def wait_for(url: str, what: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start")
        time.sleep(0.2)


def open_form(base: str) -> tuple[requests.Session, str]:
    """A session on the public site and the tip form's CSRF token."""
    client = requests.Session()
    page = client.get(base + "/tip", timeout=5).text
    match = TOKEN_RE.search(page)
    if match is None:
        raise SystemExit("no CSRF token on /tip")
    return client, match.group(1)


def send_tip(
    client: requests.Session, base: str, token: str, n: int, jpeg: bytes | None
) -> requests.Response:
    """POST one tip (with the JPEG as its file if given); the response, not followed."""
    data = {
        "csrf_token": token,
        "text": f"{TIP_TEXT} Número {n}.",
        "contact": CONTACT,
        "name": "",
        "topic": "",
    }
    files = {"files": ("IMG_2041.jpg", jpeg, "image/jpeg")} if jpeg is not None else None
    return client.post(base + "/tip", data=data, files=files, allow_redirects=False, timeout=60)


@dataclass
class Load:
    """What a run of submissions did: latencies, tips/s, failures."""

    timing: Timing
    rate: float
    failures: int


def submit_many(base: str, count: int, connections: int, jpeg: bytes | None, label: str) -> Load:
    """`count` tips from `connections` threads, each its own session; their timings."""
    sessions = [open_form(base) for _ in range(connections)]
    samples: list[float] = []
    failures = 0
    lock = threading.Lock()
    counter = iter(range(count))

    def work(session: tuple[requests.Session, str]) -> None:
        nonlocal failures
        client, token = session
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            started = time.perf_counter()
            response = send_tip(client, base, token, n, jpeg)
            elapsed = 1000 * (time.perf_counter() - started)
            with lock:
                if response.status_code == 303 and "/tip/codename" in response.headers.get(
                    "Location", ""
                ):
                    samples.append(elapsed)
                else:
                    failures += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(work, sessions))
    wall = time.perf_counter() - started
    if not samples:
        raise SystemExit(f"{label}: every tip failed")
    return Load(Timing(label, samples), len(samples) / wall, failures)


def files_stored_by_site(base: str, engine: Engine, jpeg: bytes) -> str | None:
    """None if a tip sent with a file leaves an Attachment row; else why (b) cannot run."""
    if not hasattr(TipForm, "files"):
        return "the tip form has no file field"
    with session_scope(engine) as session:
        before = session.scalar(select(func.count(Attachment.id))) or 0
    client, token = open_form(base)
    response = send_tip(client, base, token, 0, jpeg)
    if response.status_code != 303:
        return f"the site answered {response.status_code} to a tip with a JPEG"
    with session_scope(engine) as session:
        after = session.scalar(select(func.count(Attachment.id))) or 0
    if after != before + 1:
        return "the tip route accepts the form but stores no file yet"
    return None


def timed(label: str, runs: int, warm: int, step: Callable[[int], None]) -> Timing:
    """Run `step` warm + runs times; time the last `runs` (ms)."""
    samples: list[float] = []
    for i in range(warm + runs):
        started = time.perf_counter()
        step(i)
        elapsed = 1000 * (time.perf_counter() - started)
        if i >= warm:
            samples.append(elapsed)
    return Timing(label, samples)


def in_process(engine: Engine, settings: Settings, runs: int, jpeg: bytes) -> list[Timing | Added]:
    """(c): sealing against an unsealed insert; strip + encrypt of the JPEG; the codename."""
    warm = max(5, runs // 10)
    results: list[Timing | Added] = []
    with Session(engine) as session:

        def unsealed(i: int) -> None:
            # The same two rows with the JSON that would be sealed stored as it is (the schema
            # refuses a tip's text in `body`), and no key looked up.
            plain = json.dumps({"text": f"{TIP_TEXT} {i}", "contact": CONTACT, "name": ""})
            submission = Submission(
                ref=new_ref(),
                kind=Kind.tip,
                status=Status.received,
                sealed=plain.encode(),
                check_copy=plain.encode(),
                locale=settings.default_locale,
            )
            session.add_all([submission, TipDetails(submission=submission)])
            session.commit()

        def sealed(i: int) -> None:
            record_tip(session, settings, text=f"{TIP_TEXT} {i}", contact=CONTACT, name=None)

        base = timed("insert a tip unsealed (baseline)", runs, warm, unsealed)
        more = timed("record_tip: sealed to tip key + worker", runs, warm, sealed)
        results += [base, more, Added("sealing adds", base, more, TARGET_ADDED)]

        key = tipkeys.current_public_key(session)
        assert key is not None
        content = {"text": TIP_TEXT, "contact": CONTACT, "name": ""}
        results.append(
            timed(
                "seal alone (2 sealed boxes)",
                runs,
                warm,
                lambda _i: _seal_twice(settings, key, content),
            )
        )
        results.append(
            timed(
                "codename (Argon2id), every tip pays it",
                max(20, runs // 5),
                2,
                lambda _i: _derive_codename(settings),
            )
        )

        files = _file_timings(session, settings, runs, warm, jpeg, key)
        results += files
    return results


def _derive_codename(settings: Settings) -> None:
    codenames.derive(settings.hash_key, codenames.generate("es"))


def _seal_twice(settings: Settings, key: tipkeys.PublicTipKey, content: dict[str, str]) -> None:
    tipkeys.seal_to(key, content)
    seal(settings.worker_public_key, content)


def _file_timings(
    session: Session,
    settings: Settings,
    runs: int,
    warm: int,
    jpeg: bytes,
    key: tipkeys.PublicTipKey,
) -> list[Timing | Added]:
    tip = record_tip(session, settings, text=TIP_TEXT, contact=CONTACT, name=None)
    submission = tip.details.submission
    upload = attachments.Upload("IMG_2041.jpg", jpeg)
    strip: list[float] = []
    encrypt: list[float] = []
    both: list[float] = []
    for i in range(warm + runs):
        started = time.perf_counter()
        cleaned = attachments.prepare([upload])
        middle = time.perf_counter()
        written = attachments.store(session, settings.instance_path, submission, cleaned, key)
        ended = time.perf_counter()
        session.rollback()
        attachments.remove_files(written)
        if i == 0 and (b"Bench Autora" in cleaned[0].data or _has_gps(cleaned[0].data)):
            raise SystemExit("the cleaned JPEG still carries its artist or GPS tags")
        if i >= warm:
            strip.append(1000 * (middle - started))
            encrypt.append(1000 * (ended - middle))
            both.append(1000 * (ended - started))
    size = describe(jpeg)
    return [
        Timing(f"strip metadata ({size})", strip),
        Timing("encrypt + write (fsync) + seal its key", encrypt),
        Timing("strip + encrypt adds", both, TARGET_ADDED),
    ]


def forget_since(engine: Engine, mark: int) -> None:
    """Delete the rows (c) inserted: the unsealed ones are no tips a worker or editor can open."""
    with session_scope(engine) as session:
        session.execute(delete(TipDetails).where(TipDetails.submission_id > mark))
        session.execute(delete(Submission).where(Submission.id > mark))
        session.commit()


def _has_gps(jpeg: bytes) -> bool:
    with Image.open(io.BytesIO(jpeg)) as image:
        return bool(image.getexif().get_ifd(0x8825))


def set_up_editor(engine: Engine) -> None:
    """An editor holding the newsroom's tip key (made now)."""
    with session_scope(engine) as session:
        editor = create_staff_user(session, EDITOR, PASSWORD, Role.editor)
        session.commit()
        tipkeys.set_up(session, editor, PASSWORD)


def log_in(base: str) -> requests.Session:
    """The editor, logged in through the staff site's form (which unlocks the tip key)."""
    wait_for(base + "/healthz", "the staff app")
    client = requests.Session()
    page = client.get(base + "/login", timeout=5).text
    token = TOKEN_RE.search(page).group(1)  # type: ignore[union-attr]
    answer = client.post(
        base + "/login",
        data={"csrf_token": token, "email": EDITOR, "password": PASSWORD},
        allow_redirects=False,
    )
    if answer.status_code != 303:
        raise SystemExit(f"login failed: {answer.status_code}")
    return client


def wait_checked(engine: Engine, limit: float = 300) -> tuple[int, int]:
    """Wait until no tip is `received`; (tips checked, check copies left)."""
    deadline = time.monotonic() + limit
    with session_scope(engine) as session:
        while True:
            waiting = session.scalar(
                select(func.count(Submission.id)).where(Submission.status == Status.received)
            )
            if not waiting or time.monotonic() > deadline:
                break
            session.rollback()
            time.sleep(1)
        checked = session.scalar(
            select(func.count(Submission.id)).where(Submission.status != Status.received)
        )
        copies = session.scalar(
            select(func.count(Submission.id)).where(
                Submission.status != Status.received, Submission.check_copy.is_not(None)
            )
        )
    return checked or 0, copies or 0


def decryption_alone(engine: Engine, runs: int) -> Timing:
    """(d) in-process: find a session's stored keys by its secret, open them, open a tip."""
    with session_scope(engine) as session:
        editor = session.scalar(select(StaffUser).where(StaffUser.email == EDITOR))
        assert editor is not None
        secret = tipkeys.store_unlocked(session, editor, tipkeys.unlock(session, editor, PASSWORD))
        rows = session.execute(
            select(Submission.id, Submission.sealed, TipDetails.tip_key_id)
            .join(TipDetails, TipDetails.submission_id == Submission.id)
            .where(Submission.sealed.is_not(None))
            .limit(runs + 20)
        ).all()
        editor_id = editor.id

        def step(i: int) -> None:
            keys = tipkeys.load_unlocked(session, editor_id, secret)
            assert keys is not None
            row = rows[i % len(rows)]
            tipkeys.open_sealed(keys, row.tip_key_id, row.sealed)
            session.rollback()

        return timed("decryption alone: session's keys + the tip", runs, 20, step)


def open_tips(base: str, engine: Engine, runs: int) -> Timing:
    """(d): the editor opens `runs` different tips, one at a time."""
    client = log_in(base)
    with session_scope(engine) as session:
        ids = list(
            session.scalars(
                select(Submission.id)
                .where(Submission.kind == Kind.tip, Submission.sealed.is_not(None))
                .order_by(Submission.id.desc())
                .limit(runs + 20)
            )
        )
    if len(ids) < runs + 20:
        raise SystemExit(f"only {len(ids)} tips to open; raise --count")
    marker = TIP_TEXT[:40]

    def get(i: int) -> None:
        response = client.get(f"{base}/tips/{ids[i]}", allow_redirects=False)
        if response.status_code != 200 or marker not in response.text:
            raise SystemExit(f"tip {ids[i]}: {response.status_code}, or its text is not shown")

    timing = timed("editor opens a tip (GET /tips/<id>)", runs, 20, get)
    timing.target = TARGET_OPEN
    return timing


def gunicorn(bench: Rig, app: str, port: int) -> None:
    bench.spawn(
        *("gunicorn", "--config=python:core.gunicorn_conf", "-w", "2"),
        *("-b", f"127.0.0.1:{port}", app),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--count", type=int, default=400, help="tips sent per HTTP scenario")
    parser.add_argument("--connections", type=int, default=2, help="client threads")
    parser.add_argument("--runs", type=int, default=200, help="timed runs in (c) and (d)")
    parser.add_argument("--pg", default=PG)
    parser.add_argument("--redis", default=REDIS)
    parser.add_argument("--port", type=int, default=18082)
    args = parser.parse_args()

    with rig(
        args.pg,
        args.redis,
        TIPLINE_SUBMIT_RATE_LIMIT="10000000 per minute",
        TIPLINE_LOGIN_RATE_LIMIT="1000 per minute",
    ) as bench:
        try:
            return run(args, bench)
        except SystemExit:
            log = (bench.instance / "processes.log").read_text(errors="replace")
            print(log[-3000:], file=sys.stderr)
            raise


def run(args: argparse.Namespace, bench: Rig) -> int:
    """Every scenario in turn; the table; 1 if a target is missed."""
    # Other work on the machine skews every figure: the load average is printed with them.
    load = os.getloadavg()[0]
    os.environ.update(bench.env)
    settings = Settings.from_env()
    set_up_editor(bench.engine)
    jpeg = jpeg_with_exif()
    public, staff = f"http://127.0.0.1:{args.port}", f"http://127.0.0.1:{args.port + 1}"
    gunicorn(bench, "intake.wsgi:app", args.port)
    wait_for(public + "/healthz", "the public app")
    print(
        f"# PostgreSQL; gunicorn -w 2 (sync, core.gunicorn_conf) per site; "
        f"{args.connections} client threads; {args.count} tips per HTTP scenario; "
        f"{args.runs} runs in-process and for opening; {os.cpu_count()} cores",
        flush=True,
    )
    rows: list[str] = []
    verdicts: list[bool] = []

    text = submit_many(public, args.count, args.connections, None, "(a) text-only tip, POST /tip")
    rows.append(text.timing.line(f"{text.rate:.1f} tips/s, {text.failures} failed"))
    skipped = files_stored_by_site(public, bench.engine, jpeg)
    if skipped is None:
        label = f"(b) tip + {describe(jpeg)} (EXIF, GPS)"
        with_file = submit_many(public, args.count, args.connections, jpeg, label)
        rows.append(
            with_file.timing.line(f"{with_file.rate:.1f} tips/s, {with_file.failures} failed")
        )
        with session_scope(bench.engine) as session:
            stored = session.scalar(select(func.count(Attachment.id))) or 0
        leftover = [p for p in (settings.instance_path / "attachments").glob("*") if p.is_file()]
        rows.append(
            f"| (b) files stored / encrypted files on disk | {stored} / {len(leftover)} | | | | | |"
        )
    else:
        rows.append(f"| (b) tip + 1 MB JPEG | skipped: {skipped} | | | | | |")

    with bench.engine.connect() as connection:
        mark = connection.scalar(select(func.max(Submission.id))) or 0
    for result in in_process(bench.engine, settings, args.runs, jpeg):
        rows.append(result.line() if isinstance(result, Added) else result.line("(c) in-process"))
        verdicts.append(result.passed)
    forget_since(bench.engine, mark)

    # The checks, as in production: the sweeper hands the tips to a worker, which opens each
    # check copy, stores the reasons and deletes the copy.
    bench.worker()
    bench.beat()
    checked, copies = wait_checked(bench.engine)
    rows.append(
        f"| tips checked by the worker / check copies left | {checked} / {copies} | | | | | |"
    )
    gunicorn(bench, "moderation.wsgi:app", args.port + 1)
    opening = open_tips(staff, bench.engine, args.runs)
    rows.append(opening.line("decryption included"))
    verdicts.append(opening.passed)
    rows.append(decryption_alone(bench.engine, args.runs).line("(d) in-process"))

    print(f"# load average (1 min) at the start {load:.1f}, at the end {os.getloadavg()[0]:.1f}")
    print("| scenario | figures | p50 ms | p95 ms | p99 ms | target p95 | |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    missed = sum(1 for ok in verdicts if not ok)
    print(f"missed: {missed} target(s)" if missed else "missed: none")
    if skipped is not None:
        print(f"(b) was not measured: {skipped}.")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
