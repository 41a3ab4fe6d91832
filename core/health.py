"""A health check for load balancers and compose: answers without touching the database."""

from __future__ import annotations

from flask import Blueprint, Response

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """'ok' while the process serves requests (also the benchmark's "hello" baseline)."""
    return Response("ok", mimetype="text/plain")
