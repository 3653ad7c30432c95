"""The OpenAPI 3.1 description of the JSON API, served at ``/openapi.json``.

Written beside the routes from the same names (``SEARCH_PARAMETERS``, ``MAX_LIMIT``…),
and held true by a test that validates it and finds every route and parameter in it.
A mounted app describes itself under its mount point (``servers``), so FastAPI's or a
gateway's tools reach it where it is.
"""

from __future__ import annotations

from typing import Any

from nato_search import __version__

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "What is wrong, in one line."},
        "parameter": {"type": "string", "description": "The parameter at fault (400s)."},
    },
}
_DATE = {"type": ["string", "null"], "format": "date"}
_SPANS = {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}
_HIT = {
    "type": "object",
    "properties": {
        "doc_id": {"type": "string"},
        "title": {"type": "string"},
        "date": _DATE,
        "paragraph": {"type": "integer", "description": "0-based, in its document."},
        "page": {"type": ["integer", "null"], "description": "PDF: the page it starts on."},
        "score": {"type": "number"},
        "matched_all": {"type": "boolean"},
        "text": {"type": "string"},
        "highlights": _SPANS,
        "title_highlights": _SPANS,
        "snippet": {"type": "string"},
        "snippet_html": {"type": "string", "description": "Escaped; <mark> the only markup."},
        "title_html": {"type": "string", "description": "Escaped; <mark> the only markup."},
        "metadata": {"type": "object"},
        "lead": {
            "type": "object",
            "description": "Only for a hit that matched by its title alone: its document's "
            "first paragraph, for a page to show instead of a snippet with nothing marked.",
            "properties": {
                "paragraph": {"type": "integer"},
                "snippet_html": {"type": "string"},
            },
        },
    },
}
_RESULTS = {
    "type": "object",
    "properties": {
        "query": {"type": "string"},
        "total": {"type": "integer"},
        "offset": {"type": "integer"},
        "suggestion": {"type": ["string", "null"]},
        "partial": {"type": "boolean"},
        "facets": {
            "type": "object",
            "additionalProperties": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
        "hits": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
        "took_ms": {"type": "number"},
    },
}
_DOCUMENT = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "date": _DATE,
        "metadata": {"type": "object"},
        "paragraphs": {"type": "array", "items": {"type": "string"}},
        "pages": {"type": ["array", "null"], "items": {"type": "integer"}},
    },
}


def _parameter(name: str, schema: dict[str, Any], description: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema, "description": description, **more}


def search_parameters(max_limit: int, max_offset: int) -> dict[str, dict[str, Any]]:
    boolean = {"type": "boolean"}
    return {
        "q": _parameter(
            "q",
            {"type": "string", "default": ""},
            "The words to search; empty lists every paragraph (filter, sort and facets apply).",
        ),
        "limit": _parameter(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": max_limit, "default": 10},
            "Hits a page.",
        ),
        "offset": _parameter(
            "offset",
            {"type": "integer", "minimum": 0, "maximum": max_offset, "default": 0},
            "Hits skipped.",
        ),
        "filter": _parameter(
            "filter",
            {"type": "array", "items": {"type": "string"}},
            "A filter expression (source = AFP AND year >= 2023), ANDed when repeated; a lone key:value is source = value.",
            style="form",
            explode=True,
        ),
        "sort": _parameter(
            "sort",
            {"type": "string", "default": "relevance"},
            "relevance, or comma-separated fields (date, year, doc_id, metadata keys), "
            "'-' before one for descending: -date,source.",
        ),
        "recency": _parameter(
            "recency",
            {"type": "number", "exclusiveMinimum": 0},
            "Days: relevance halves for each that many days a paragraph is older than the newest.",
        ),
        "per_document": _parameter(
            "per_document",
            {"type": "integer", "minimum": 1, "maximum": max_limit},
            "At most this many paragraphs a document; total counts documents.",
        ),
        "facets": _parameter(
            "facets",
            {"type": "array", "items": {"type": "string"}},
            "Names to count values of (comma-separated or repeated).",
            style="form",
            explode=False,
        ),
        "prefix": _parameter("prefix", boolean, "The last word also matches the words it starts."),
        "vectors": _parameter(
            "vectors", boolean, "false: words only, where the server has word vectors."
        ),
    }


def document_parameters() -> dict[str, dict[str, Any]]:
    return {
        "q": _parameter("q", {"type": "string"}, "For the HTML page: the words to mark."),
        "prefix": _parameter("prefix", {"type": "boolean"}, "As in /search."),
        "paragraph": _parameter(
            "paragraph",
            {"type": "integer", "minimum": 0},
            "For the HTML page: the paragraph to show.",
        ),
    }


def openapi(
    root_path: str,
    max_limit: int,
    max_offset: int,
    max_queries: int,
    keys: bool,
    writes: bool = False,
) -> dict[str, Any]:
    """The description, for an app served at ``root_path`` (``""`` at the root); the
    write routes where they exist (with an API key)."""
    errors = {
        "400": {"description": "A parameter that cannot be used.", "content": _json("Error")},
        "503": {"description": "The index cannot be opened now.", "content": _json("Error")},
    }
    if keys:
        errors["401"] = {"description": "No key, or a wrong one.", "content": _json("Error")}
    secured: list[dict[str, list[str]]] = [{"bearer": []}] if keys else []
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "nato-search",
            "version": __version__,
            "description": "French full-text search: ranked paragraphs with highlights.",
        },
        "servers": [{"url": root_path or "/"}],
        "paths": {
            "/search": {
                "get": {
                    "operationId": "search",
                    "summary": "Ranked paragraphs for a query.",
                    "parameters": list(search_parameters(max_limit, max_offset).values()),
                    "responses": {
                        "200": {"description": "The results.", "content": _json("Results")},
                        **errors,
                    },
                    "security": secured,
                }
            },
            "/documents/{doc_id}": {
                "get": {
                    "operationId": "document",
                    "summary": "A document whole (JSON; HTML for a browser).",
                    "parameters": [
                        {
                            "name": "doc_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        *document_parameters().values(),
                    ],
                    "responses": {
                        "200": {"description": "The document.", "content": _json("Document")},
                        "404": {"description": "No such document.", "content": _json("Error")},
                        **errors,
                    },
                    "security": secured,
                }
            },
            "/health": {
                "get": {
                    "operationId": "health",
                    "summary": "Counts and version, for a probe (never a path).",
                    "responses": {
                        "200": {
                            "description": "Serving.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "503": errors["503"],
                    },
                }
            },
        },
        "components": {
            "schemas": {"Error": _ERROR, "Hit": _HIT, "Results": _RESULTS, "Document": _DOCUMENT},
        },
    }
    if keys:
        spec["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    _add_posted_searches(spec, errors, secured, max_limit, max_offset, max_queries)
    if writes:
        _add_writes(spec, errors, secured)
    return spec


def _add_posted_searches(
    spec: dict[str, Any],
    errors: dict[str, Any],
    secured: list[Any],
    limit: int,
    offset: int,
    queries: int,
) -> None:
    """POST /search takes the query string's fields as a JSON object; /multi-search a list."""
    fields = {
        name: parameter["schema"] for name, parameter in search_parameters(limit, offset).items()
    }
    fields["filter"] = {"oneOf": [fields["filter"], {"type": "string"}, {"type": "object"}]}
    body = {
        "type": "object",
        "required": ["q"],
        "properties": fields,
        "additionalProperties": False,
    }
    spec["components"]["schemas"]["Search"] = body
    spec["paths"]["/search"]["post"] = {
        "operationId": "search_posted",
        "summary": "Ranked paragraphs for a query given as a JSON object.",
        "requestBody": {"required": True, "content": _json("Search")},
        "responses": {
            "200": {"description": "The results.", "content": _json("Results")},
            **errors,
        },
        "security": secured,
    }
    many = {
        "type": "object",
        "required": ["queries"],
        "properties": {
            "queries": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Search"},
                "maxItems": queries,
            }
        },
    }
    answers = {
        "type": "object",
        "properties": {
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/Results"}}
        },
    }
    spec["paths"]["/multi-search"] = {
        "post": {
            "operationId": "multi_search",
            "summary": "Several searches in one round trip, answered in order.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": many}}},
            "responses": {
                "200": {
                    "description": "One result a query.",
                    "content": {"application/json": {"schema": answers}},
                },
                **errors,
            },
            "security": secured,
        }
    }


def _add_writes(spec: dict[str, Any], errors: dict[str, Any], secured: list[Any]) -> None:
    written = {
        "200": {
            "description": "Committed: the next search sees it.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        **errors,
        "403": {"description": "The search key may not write.", "content": _json("Error")},
    }
    record = {
        "type": "object",
        "description": "title, date (ISO), paragraphs (a list) or text; other keys are metadata.",
    }
    doc_id = {"name": "doc_id", "in": "path", "required": True, "schema": {"type": "string"}}
    one = spec["paths"]["/documents/{doc_id}"]
    one["put"] = {
        "operationId": "put_document",
        "summary": "Add or replace one document.",
        "parameters": [doc_id],
        "requestBody": {"required": True, "content": {"application/json": {"schema": record}}},
        "responses": written,
        "security": secured,
    }
    one["delete"] = {
        "operationId": "delete_document",
        "summary": "Remove one document.",
        "parameters": [doc_id],
        "responses": {
            **written,
            "404": {"description": "No such document.", "content": _json("Error")},
        },
        "security": secured,
    }
    spec["paths"]["/documents"] = {
        "post": {
            "operationId": "post_documents",
            "summary": "Add or replace documents in one commit.",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"type": "array", "items": record}},
                    "application/x-ndjson": {"schema": {"type": "string"}},
                },
            },
            "responses": written,
            "security": secured,
        }
    }


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
