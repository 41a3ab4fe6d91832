"""The canary: a tip full of unique markers, sent from a known address, leaves no trace.

The public site runs under gunicorn as in production (behind one trusted proxy, with
core.gunicorn_conf, and with an access log turned on to prove that even that says nothing),
a real worker checks the tip, beat relays it. Then everything the system wrote is searched:
a dump of the database (pg_dump on PostgreSQL, the raw file and its WAL on SQLite), the
attachments folder and every other file in the instance folder, every process's log, every
Redis key and value in the broker's database. No marker may appear, nor any form of the
client's address (its keyed hash, which the rate limit uses, is fine).

E-mail: the editor has asked for an alert of every new tip and an hourly digest; both go out
through a real SMTP server (aiosmtpd) after the tip is checked, and every byte it received is
searched too.
"""

from __future__ import annotations

import html
import http.cookiejar
import ipaddress
import logging
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from core import attachments
from core.config import Settings
from core.db import utcnow
from core.enums import DigestFrequency, Status, TipAlerts
from core.models import Attachment, DigestPreference, Submission
from tests.e2e.conftest import status_of
from tests.intake.test_tip_privacy import _database_text, redis_text
from tests.support import Process, csrf_token, start_process, wait_for
from tests.support_mail import Inbox, mail_settings
from tests.support_tips import make_editor_with_tip_key
from tests.worker.conftest import free_port
from worker import digest_delivery, tip_alerts

RUN = os.urandom(4).hex()
MARKERS = {
    "text": f"canario-texto-{RUN}",
    "contact": f"canario-contacto-{RUN}@example.org",
    "name": f"Canario Nombre {RUN}",
    "agent": f"canario-agente-{RUN}",
    "referrer": f"canario-referente-{RUN}",
    "file name": f"canario-nombre-de-archivo-{RUN}",
    "file content": f"canario-contenido-de-archivo-{RUN}",
}
# A documentation address (RFC 5737) no other test uses, as the proxy reports it.
CLIENT = "203.0.113.219"


def _address_forms(address: str) -> list[bytes]:
    ip = ipaddress.IPv4Address(address)
    forms = [address, f"::ffff:{address}", str(int(ip)), ip.packed.hex(), address.replace(".", "-")]
    return [form.encode() for form in forms]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # the test reads the receipt's address from Location itself


def _multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = f"canary{os.urandom(8).hex()}"
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for name, (filename, data) in files.items():
        head = (
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{name}"; filename="{filename}"\r\nContent-Type: text/plain\r\n\r\n'
        )
        parts.append(head.encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _send_tip(url: str) -> tuple[str, str]:
    """Fill in and send the tip form over HTTP as the source's browser does.

    The tip's reference and the codename the source was shown.
    """
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    headers = {
        "X-Forwarded-For": CLIENT,
        "User-Agent": MARKERS["agent"],
        "Referer": f"https://{MARKERS['referrer']}.example/nota",
    }
    with opener.open(urllib.request.Request(f"{url}/tip", headers=headers), timeout=15) as page:
        token = csrf_token(page.read().decode())
    body, content_type = _multipart(
        {
            "csrf_token": token,
            "text": f"En la empresa desvían el combustible. {MARKERS['text']} " * 3,
            "contact": MARKERS["contact"],
            "name": MARKERS["name"],
        },
        {"files": (f"{MARKERS['file name']}.txt", f"{MARKERS['file content']}\n".encode() * 20)},
    )
    request = urllib.request.Request(
        f"{url}/tip",
        data=body,
        headers={**headers, "Content-Type": content_type},
        method="POST",
    )
    try:
        opener.open(request, timeout=30)
    except urllib.error.HTTPError as answer:  # the 303 to the codename page, not followed
        assert answer.code == 303, answer.read()[-2000:]
        location = answer.headers["Location"]
    else:
        raise AssertionError("the tip form did not answer with a redirect")
    shown = urllib.request.Request(urllib.parse.urljoin(url, location), headers=headers)
    with opener.open(shown, timeout=15) as page:
        text = page.read().decode()
    ref = re.search(r'reference__code">([0-9A-Z]+)<', text)
    codename = re.search(r'reference__code codename"[^>]*>([^<]+)<', text)
    assert ref and codename, text[-3000:]
    return ref.group(1), html.unescape(codename.group(1)).strip()


def _database_dump(settings: Settings, engine: Engine, backend: str) -> bytes:
    rows = _database_text(engine)
    if backend == "sqlite":
        path = Path(make_url(settings.database_url).database or "")
        files = [path, path.with_name(path.name + "-wal")]
        return rows + b"".join(f.read_bytes() for f in files if f.exists())
    url = make_url(settings.database_url)
    dump = subprocess.run(
        [
            *("pg_dump", "--data-only", "--no-owner", "-h", url.host or "127.0.0.1"),
            *("-p", str(url.port or 5432), "-U", url.username or "postgres", url.database or ""),
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return rows + dump.stdout


def _files_under(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_a_tip_leaves_no_marker_and_no_address_anywhere(
    settings: Settings,
    engine: Engine,
    session: Session,
    backend: str,
    worker: Process,
    beat: Process,
    log_dir: Path,
    caplog: pytest.LogCaptureFixture,
    inbox: Inbox,
) -> None:
    caplog.set_level(logging.DEBUG)
    editor = make_editor_with_tip_key(session)
    # The editor wants to hear of every new tip, and an hourly digest.
    session.add(
        DigestPreference(
            staff_id=editor.id,
            frequency=DigestFrequency.hourly,
            always=True,
            tip_alerts=TipAlerts.each,
            updated_at=utcnow() - timedelta(hours=1),
        )
    )
    session.commit()
    logs = settings.instance_path / "logs"
    logs.mkdir(exist_ok=True)
    port = free_port()
    site = start_process(
        "intake-gunicorn",
        [
            *(sys.executable, "-m", "gunicorn", "intake.wsgi:app"),
            "--config=python:core.gunicorn_conf",
            f"--bind=127.0.0.1:{port}",
            "--workers=1",
            "--error-logfile=-",
            f"--access-logfile={logs / f'intake-access-{RUN}.log'}",
        ],
        settings,
        log_dir,
        extra_env={"TIPLINE_TRUSTED_PROXIES": "1", "TIPLINE_LOG_LEVEL": "DEBUG"},
        ready="Booting worker",
    )
    try:
        ref, codename = _send_tip(f"http://127.0.0.1:{port}")
        wait_for(
            lambda: status_of(session, ref) not in (None, Status.received),
            timeout=60,
            what=f"the worker to check tip {ref}",
        )
    finally:
        site.stop()
    assert status_of(session, ref) is Status.new
    markers = {**MARKERS, "codename": codename}
    stored_names = session.scalars(
        select(Attachment.stored_name).join(Submission).where(Submission.ref == ref)
    ).all()
    session.commit()
    assert len(stored_names) == 1, "the file was stored"
    assert (settings.instance_path / attachments.FOLDER / stored_names[0]).is_file()

    # What the e-mail jobs send about it: the alert, and the digest of the hour.
    mail = mail_settings(settings, inbox.port)
    soon = utcnow() + timedelta(hours=1, seconds=10)
    assert tip_alerts.run(session, mail, now=utcnow() + tip_alerts.SETTLE * 2) == 1
    digest_delivery.run_due(sessionmaker(bind=engine), mail, now=soon)
    session.commit()
    assert len(inbox.messages) == 2, [m["Subject"] for m in inbox.messages]

    written = {
        "database": _database_dump(settings, engine, backend),
        "instance folder (attachments, logs)": _files_under(settings.instance_path),
        "process logs": b"".join(p.log().encode() for p in (site, worker, beat)),
        "captured logs": "\n".join(
            f"{r.getMessage()} {r.__dict__!r}" for r in caplog.records
        ).encode(),
        "redis": redis_text(settings.broker_url, "*"),
        "e-mails": b"".join(inbox.raw),
    }
    assert b'"GET /tip" 200' in written["instance folder (attachments, logs)"]
    assert ref.encode() in written["database"]  # the scan sees what is there
    for where, blob in written.items():
        for name, marker in markers.items():
            for form in (marker.encode(), marker.encode().hex().encode()):
                assert form not in blob, f"the {name} marker is in the {where}"
        for form in _address_forms(CLIENT):
            assert form not in blob, f"the client's address ({form!r}) is in the {where}"
