"""The OpenAPI document: well formed, and the API answers as it says (schemathesis)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from core.api_tokens import create_token
from core.config import Settings
from intake import create_app
from tests.intake.api_helpers import OUTLET, Thread, add_thread, allow

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
]
OPERATIONS = {
    ("get", "/openapi.json"),
    ("post", "/articles"),
    ("get", "/articles/{key}/comments"),
    ("post", "/articles/{key}/comments"),
    ("get", "/comments/{id}/replies"),
    ("post", "/comments/{id}/flags"),
    ("get", "/receipts/{ref}"),
    ("get", "/counts"),
}


@pytest.fixture
def schema_app(settings: Settings, session: Session) -> Iterator[Flask]:
    """The public site with a thread to read, OUTLET allowed, and limits out of the way."""
    allow(session, OUTLET)
    app = create_app(
        settings.with_overrides(
            api_read_rate_limit="100000 per minute", submit_rate_limit="100000 per minute"
        )
    )
    app.extensions["test_thread"] = add_thread(session)
    app.extensions["test_token"] = create_token(session, settings.hash_key, "CMS", None)[1]
    yield app


def test_document_is_well_formed(schema_app: Flask, settings: Settings) -> None:
    response = schema_app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": f"{settings.intake_url}/api/v1"}]
    operations = {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post")
    }
    assert operations == OPERATIONS
    # Every operation documents its answers, and every reference resolves.
    for path, item in document["paths"].items():
        for method in ("get", "post"):
            if method in item:
                assert item[method]["responses"], (method, path)
                assert {"403", "429"} <= item[method]["responses"].keys()
    for schema in ("Comment", "Reply", "Article", "Error"):
        assert schema in document["components"]["schemas"]
    for ref in re.findall(r'"\$ref": "#/([^"]+)"', _dumps(document)):
        node: Any = document
        for part in ref.split("/"):
            node = node[part]
    try:
        from openapi_spec_validator import validate
    except ImportError:
        return
    validate(document)  # pragma: no cover (not installed here)


def _dumps(document: dict[str, Any]) -> str:
    import json

    return json.dumps(document)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_answers_as_documented(schema_app: Flask, mode: GenerationMode) -> None:
    """Every operation, with valid and with invalid input: no 500, answers as documented."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", schema_app)
    thread: Thread = schema_app.extensions["test_thread"]
    operations = [result.ok() for result in schema.get_all_operations()]
    # Schemathesis leaves out the document's own address.
    found = {(op.method.lower(), op.path) for op in operations}
    assert found == OPERATIONS - {("get", "/openapi.json")}
    for operation in operations:

        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=30,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            _aim_at(case, thread)
            headers = {"Origin": OUTLET}
            if case.method == "POST" and len(repr(case.body)) % 2 == 0:
                # The CMS's way in: it may register any article, and rename one.
                headers = {"Authorization": f"Bearer {schema_app.extensions['test_token']}"}
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()


def _aim_at(case: Any, thread: Thread) -> None:
    # Half of the generated keys, ids and references are replaced by ones that exist, so the
    # thread, its replies and receipts are read and posted to, not only missed.
    params = case.path_parameters or {}
    if "key" in params and len(str(params["key"])) % 2 == 0:
        params["key"] = "la-zafra"
    if "id" in params and isinstance(params["id"], int) and params["id"] % 2 == 0:
        params["id"] = thread.first.id if params["id"] % 4 == 0 else thread.second.id
    if "ref" in params and len(str(params["ref"])) % 2 == 0:
        params["ref"] = thread.first.ref
