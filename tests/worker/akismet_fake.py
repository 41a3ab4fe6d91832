"""A local HTTP server that plays Akismet's REST API (1.1) for the tests, and records each call.

It answers the way Akismet documents: comment-check says "true" or "false" (with
"X-akismet-pro-tip: discard" for blatant spam), submit-spam and submit-ham thank you, and a wrong
key or a missing user_ip gets "invalid" with an X-akismet-debug-help header. What a comment-check
answers is chosen by markers in the comment's text:

    [spam]     "true"
    [discard]  "true" and the discard pro-tip
    [slow]     answers "false" only after SLOW_SECONDS
    [500]      HTTP 500
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

KEY = "test-akismet-key"
SLOW_SECONDS = 3.0
THANKS = "Thanks for making the web a better place."


@dataclass(frozen=True)
class Call:
    """One request the fake received: which call, and its form fields."""

    name: str
    params: dict[str, str]


@dataclass
class FakeAkismet:
    """The server, its address and what it was asked; `fail_with` makes every call fail."""

    server: ThreadingHTTPServer
    calls: list[Call] = field(default_factory=list)
    fail_with: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """The base URL to configure as settings.akismet_url."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/1.1"

    def calls_to(self, name: str) -> list[Call]:
        """The calls made to `name` ("comment-check", "submit-spam", "submit-ham")."""
        with self.lock:
            return [call for call in self.calls if call.name == name]

    def record(self, call: Call) -> None:
        """Keep a call for the test to inspect."""
        with self.lock:
            self.calls.append(call)

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        params = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
        name = self.path.rsplit("/", 1)[-1]
        fake.record(Call(name, params))
        if fake.fail_with is not None:
            self._answer("", status=fake.fail_with)
            return
        if params.get("api_key") != KEY:
            self._answer("invalid", {"X-akismet-debug-help": "We were unable to verify your key."})
            return
        if not params.get("user_ip"):
            self._answer("invalid", {"X-akismet-debug-help": "Empty 'user_ip' value"})
            return
        if name in ("submit-spam", "submit-ham"):
            self._answer(THANKS)
            return
        if name != "comment-check":
            self._answer("", status=404)
            return
        content = params.get("comment_content", "")
        if "[500]" in content:
            self._answer("", {"X-akismet-error": "Internal error"}, status=500)
        elif "[slow]" in content:
            time.sleep(SLOW_SECONDS)
            self._answer("false")
        elif "[discard]" in content:
            self._answer("true", {"X-akismet-pro-tip": "discard"})
        elif "[spam]" in content:
            self._answer("true")
        else:
            self._answer("false")

    def _answer(self, body: str, headers: dict[str, str] | None = None, status: int = 200) -> None:
        data = body.encode()
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the timeout tests)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: the tests read `calls`


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeAkismet


def start_fake_akismet() -> FakeAkismet:
    """A fake Akismet serving on a free local port, in a thread of its own."""
    server = _Server(("127.0.0.1", 0), _Handler)
    fake = FakeAkismet(server)
    server.fake = fake
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake
