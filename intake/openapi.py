"""The OpenAPI 3.1 document of the public JSON API (/api/v1/openapi.json), built once.

The limits it states come from where they are defined (core.limits, core.threads,
intake.api_input), so the document cannot drift from what the API checks.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from core import limits
from core.enums import FlagReason, Kind
from core.threads import CURSOR_MAX, DEFAULT_LIMIT, LIMIT_MAX, ORDERS, REPLIES_LIMIT_MAX
from intake.api_input import (
    COUNT_KEYS_MAX,
    ID_MAX,
    KEY_PATTERN,
    REF_PATTERN,
    TITLE_MAX,
    URL_MAX,
)

JSON = "application/json"
NULLABLE_STRING = {"type": ["string", "null"]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> Any:
    response: dict[str, Any] = {"description": description, "content": {JSON: {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _error(description: str) -> dict[str, Any]:
    return {"$ref": f"#/components/responses/{description}"}


def _responses(*codes: str, **ok: Any) -> dict[str, Any]:
    # The success answers given, then the shared error answers named by their status.
    found = {code.removeprefix("s"): value for code, value in ok.items()}
    found.update({code: _error(code) for code in codes})
    return found


COMMENT_PROPERTIES: dict[str, Any] = {
    "id": {"type": "integer", "minimum": 1},
    "author": {**NULLABLE_STRING, "description": "Null for a removed comment."},
    "body": {**NULLABLE_STRING, "description": "Plain text; null for a removed comment."},
    "body_html": {
        **NULLABLE_STRING,
        "description": "The body escaped for HTML, with links (rel=nofollow ugc noopener).",
    },
    "created_at": {"type": "string", "format": "date-time"},
    "featured": {"type": "boolean"},
    "removed": {"type": "boolean", "description": "A placeholder for a removed comment."},
}
COMMENT_REQUIRED = ["id", "parent_id", "author", "body", "body_html", "created_at", "featured"]

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "string",
                "description": "What went wrong, in the reader's language.",
            },
            "fields": {
                "type": "object",
                "description": "Messages for each field that needs correcting.",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
    "Article": {
        "type": "object",
        "required": ["key", "title", "url", "status", "thread_url"],
        "properties": {
            "key": {"type": "string", "pattern": f"^{KEY_PATTERN.pattern}$"},
            "title": {"type": "string"},
            "url": NULLABLE_STRING,
            "status": {"type": "string", "enum": ["open", "premoderated", "closed"]},
            "thread_url": {"type": "string", "description": "The article's page on this site."},
        },
    },
    "Reply": {
        "type": "object",
        "required": COMMENT_REQUIRED,
        "properties": {**COMMENT_PROPERTIES, "parent_id": {"type": "integer", "minimum": 1}},
    },
    "Comment": {
        "type": "object",
        "required": [*COMMENT_REQUIRED, "reply_count", "replies", "replies_next_cursor"],
        "properties": {
            **COMMENT_PROPERTIES,
            "parent_id": {"type": "null"},
            "reply_count": {"type": "integer", "minimum": 0},
            "replies": {
                "type": "array",
                "items": _ref("Reply"),
                "description": "Oldest first; at most 50, then replies_next_cursor.",
            },
            "replies_next_cursor": NULLABLE_STRING,
        },
    },
    "Thread": {
        "type": "object",
        "required": ["article", "count", "order", "featured", "comments", "next_cursor"],
        "properties": {
            "article": _ref("Article"),
            "count": {"type": "integer", "minimum": 0, "description": "Replies included."},
            "order": {"type": "string", "enum": list(ORDERS)},
            "featured": {
                "type": "array",
                "items": _ref("Comment"),
                "description": "On the first page only; not repeated in comments.",
            },
            "comments": {"type": "array", "items": _ref("Comment")},
            "next_cursor": NULLABLE_STRING,
        },
    },
    "Replies": {
        "type": "object",
        "required": ["replies", "next_cursor"],
        "properties": {
            "replies": {"type": "array", "items": _ref("Reply")},
            "next_cursor": NULLABLE_STRING,
        },
    },
    "Counts": {
        "type": "object",
        "required": ["counts"],
        "properties": {
            "counts": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
        },
    },
    "ArticleRegistration": {
        "type": "object",
        "required": ["key", "title", "url"],
        "properties": {
            "key": {"type": "string", "pattern": f"^{KEY_PATTERN.pattern}$"},
            "title": {"type": "string", "minLength": 1, "maxLength": TITLE_MAX},
            "url": {"type": "string", "maxLength": URL_MAX, "pattern": "^https?://"},
        },
    },
    "NewComment": {
        "type": "object",
        "required": ["name", "body"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": limits.NAME_MAX},
            "email": {
                "type": ["string", "null"],
                "maxLength": limits.EMAIL_MAX,
                "description": "Never shown; needed for reply notifications.",
            },
            "body": {
                "type": "string",
                "minLength": limits.BODY[Kind.comment].min,
                "maxLength": limits.BODY[Kind.comment].max,
            },
            "parent_id": {
                "type": ["integer", "null"],
                "minimum": 1,
                "maximum": ID_MAX,
                "description": "The comment this answers (a reply to a reply answers its comment).",
            },
            "notify_replies": {"type": "boolean", "default": False},
            "topic": {"type": "string", "description": "Leave empty (a trap for bots)."},
        },
    },
    "Taken": {
        "type": "object",
        "required": ["ref", "state", "status_url", "message"],
        "properties": {
            "ref": {"type": "string"},
            "state": {"type": "string", "enum": ["checking", "awaiting_review"]},
            "status_url": {"type": "string"},
            "message": {"type": "string", "description": "For the reader, in their language."},
        },
    },
    "Receipt": {
        "type": "object",
        "required": ["ref", "state", "comment"],
        "properties": {
            "ref": {"type": "string"},
            "state": {"type": "string", "enum": ["published", "checking"]},
            "comment": {"oneOf": [_ref("Comment"), _ref("Reply"), {"type": "null"}]},
        },
    },
    "NewFlag": {
        "type": "object",
        "required": ["reason"],
        "properties": {
            "reason": {"type": "string", "enum": [reason.value for reason in FlagReason]},
            "text": {"type": "string", "maxLength": limits.FLAG_TEXT_MAX},
        },
    },
    "FlagTaken": {
        "type": "object",
        "required": ["counted"],
        "properties": {
            "counted": {
                "type": "boolean",
                "description": "False when this reader had reported the comment already.",
            }
        },
    },
}

RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}

RESPONSES: dict[str, Any] = {
    "400": _json(_ref("Error"), "The request is malformed (its message says how)."),
    "403": _json(
        _ref("Error"),
        "Refused: a site not allowed to embed comments, a POST without an allowed Origin or "
        "token, an invalid token, or comments closed on the article.",
    ),
    "404": _json(_ref("Error"), "There is no such article or comment."),
    "413": _json(_ref("Error"), "The body is larger than accepted."),
    "415": _json(_ref("Error"), "The body is not JSON."),
    "422": _json(_ref("Error"), "Some fields need correcting (see `fields`)."),
    "429": _json(_ref("Error"), "Too many requests from this network.", RETRY_AFTER),
}

PARAMETERS: dict[str, Any] = {
    "key": {
        "name": "key",
        "in": "path",
        "required": True,
        "description": "The article's key in the outlet's CMS.",
        "schema": {"type": "string", "pattern": f"^{KEY_PATTERN.pattern}$"},
    },
    "id": {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": ID_MAX},
    },
    "cursor": {
        "name": "cursor",
        "in": "query",
        "description": "next_cursor of the previous page.",
        "schema": {"type": "string", "maxLength": CURSOR_MAX},
    },
}


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": _ref(schema)}}}


PATHS: dict[str, Any] = {
    "/openapi.json": {
        "get": {
            "operationId": "getOpenAPI",
            "summary": "This document.",
            "responses": _responses(
                "403",
                "429",
                s200=_json(
                    {"type": "object", "required": ["openapi", "paths"]}, "The OpenAPI document."
                ),
            ),
        }
    },
    "/articles": {
        "post": {
            "operationId": "registerArticle",
            "summary": "Register an article on first sight.",
            "description": (
                "From an allowed site (Origin) for an address on an allowed site, or with a CMS "
                "token. A token may also update an existing article's title and address."
            ),
            "requestBody": _body("ArticleRegistration"),
            "responses": _responses(
                "400",
                "403",
                "413",
                "415",
                "422",
                "429",
                s200=_json(_ref("Article"), "The article was known already."),
                s201=_json(_ref("Article"), "The article is registered, open for comments."),
            ),
        }
    },
    "/articles/{key}/comments": {
        "parameters": [{"$ref": "#/components/parameters/key"}],
        "get": {
            "operationId": "getThread",
            "summary": "A page of an article's published thread.",
            "parameters": [
                {
                    "name": "order",
                    "in": "query",
                    "schema": {"type": "string", "enum": list(ORDERS), "default": ORDERS[0]},
                },
                {"$ref": "#/components/parameters/cursor"},
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": LIMIT_MAX,
                        "default": DEFAULT_LIMIT,
                    },
                },
                {
                    "name": "If-None-Match",
                    "in": "header",
                    "description": "The ETag of a copy the client holds.",
                    "schema": {"type": "string"},
                },
            ],
            "responses": _responses(
                "400",
                "403",
                "404",
                "429",
                s200=_json(
                    _ref("Thread"),
                    "A page of the thread.",
                    {"ETag": {"required": True, "schema": {"type": "string"}}},
                ),
                s304={"description": "Unchanged since the ETag given in If-None-Match."},
            ),
        },
        "post": {
            "operationId": "postComment",
            "summary": "Post a comment or a reply.",
            "requestBody": _body("NewComment"),
            "responses": _responses(
                "400",
                "403",
                "404",
                "413",
                "415",
                "422",
                "429",
                s201=_json(_ref("Taken"), "Stored; it appears once checked (or reviewed)."),
            ),
        },
    },
    "/comments/{id}/replies": {
        "parameters": [{"$ref": "#/components/parameters/id"}],
        "get": {
            "operationId": "getReplies",
            "summary": "More replies to a comment, oldest first.",
            "parameters": [
                {"$ref": "#/components/parameters/cursor"},
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": REPLIES_LIMIT_MAX,
                        "default": REPLIES_LIMIT_MAX,
                    },
                },
            ],
            "responses": _responses(
                "400", "403", "404", "429", s200=_json(_ref("Replies"), "A page of replies.")
            ),
        },
    },
    "/comments/{id}/flags": {
        "parameters": [{"$ref": "#/components/parameters/id"}],
        "post": {
            "operationId": "flagComment",
            "summary": "Report a published comment to the moderators.",
            "requestBody": _body("NewFlag"),
            "responses": _responses(
                "400",
                "403",
                "404",
                "413",
                "415",
                "422",
                "429",
                s202=_json(_ref("FlagTaken"), "The report is stored (once per reader)."),
            ),
        },
    },
    "/receipts/{ref}": {
        "get": {
            "operationId": "getReceipt",
            "summary": "What became of a posted comment.",
            "parameters": [
                {
                    "name": "ref",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": f"^{REF_PATTERN.pattern}$"},
                }
            ],
            "responses": _responses(
                "403", "404", "429", s200=_json(_ref("Receipt"), "The comment's state.")
            ),
        }
    },
    "/counts": {
        "get": {
            "operationId": "getCounts",
            "summary": "Published comment counts of many articles (0 for unknown ones).",
            "parameters": [
                {
                    "name": "key",
                    "in": "query",
                    "required": True,
                    "style": "form",
                    "explode": True,
                    "schema": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": COUNT_KEYS_MAX,
                        "items": {"type": "string", "pattern": f"^{KEY_PATTERN.pattern}$"},
                    },
                }
            ],
            "responses": _responses(
                "400", "403", "429", s200=_json(_ref("Counts"), "The counts, by key.")
            ),
        }
    },
}


@cache
def openapi_document(public_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API served at `public_url` (built once per URL)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tipline comments API",
            "version": "1",
            "description": (
                "Published comment threads of the outlet's articles, posting comments, replies "
                "and reports. Browsers may call it from the sites an admin allowed (CORS); a "
                "POST needs such an Origin or a CMS token. No cookies are used."
            ),
        },
        "servers": [{"url": f"{public_url.rstrip('/')}/api/v1"}],
        "security": [{}, {"cmsToken": []}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "responses": RESPONSES,
            "parameters": PARAMETERS,
            "securitySchemes": {
                "cmsToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token an admin made for the outlet's CMS (tl_...).",
                }
            },
        },
    }
