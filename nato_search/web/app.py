"""Search over HTTP: an ASGI app (Starlette) serving the JSON API and a search page.

>>> from nato_search.web import create_app
>>> app = create_app("my-index")          # run it: uvicorn, or `nato-search serve --http 8000`
>>> parent.mount("/search", app)          # or mount it in a Starlette/FastAPI app

Needs the optional extra ``web`` (Starlette, uvicorn); the core library never
imports this module. Searches are CPU-bound and hold an index reader, so they
run in a thread pool the size of the index's reader pool, never on the event
loop. A request gets JSON (errors included: 400 naming the parameter, 404,
503 while the index cannot be opened), except the search page at ``/`` and a
document asked for as HTML by a browser. Every string from a document reaches
HTML escaped: the only markup in a snippet or a title is our ``<mark>``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import json
import logging
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from nato_search import __version__
from nato_search.errors import (
    CorpusError,
    IndexClosedError,
    IndexDamagedError,
    IndexLockedError,
    IndexNotFoundError,
    IndexVersionError,
    OptionError,
    ShardError,
)
from nato_search.index import Index, Results
from nato_search.indexing import open_index
from nato_search.query.filters import quote
from nato_search.readers.corpus import DEFAULT_OPTIONS, Document
from nato_search.readers.records import read_json, read_jsonl, record_document
from nato_search.settings import POOL_SIZE
from nato_search.text.snippets import mark
from nato_search.vectors import WordVectors
from nato_search.web.access import KEY_VARIABLES, access_middleware
from nato_search.web.openapi import openapi

__all__ = [
    "INDEX_VARIABLE",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "app_from_environment",
    "create_app",
    "results_json",
]

MAX_LIMIT = 100
"""Hits one request may ask for."""
MAX_OFFSET = 10_000
"""Hits one request may skip: the engine ranks ``offset + limit`` paragraphs to page."""
MAX_QUERIES = 20
"""Searches one ``POST /multi-search`` may ask for."""
MAX_BODY_BYTES = 16 * 1024 * 1024
"""A write's body: larger batches go in several requests (or through ``update_index``)."""
BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False}
BOOLEANS |= {"no": False, "off": False}
SEARCH_PARAMETERS = (
    "q",
    "limit",
    "offset",
    "filter",
    "sort",
    "per_document",
    "facets",
    "recency",
    "prefix",
    "vectors",
)
DOCUMENT_PARAMETERS = ("q", "prefix", "paragraph")
REPEATABLE = ("filter", "facets")
INDEX_VARIABLE = "NATO_SEARCH_INDEX"
"""The index path :func:`app_from_environment` serves (``nato-search serve`` sets it)."""
VECTORS_VARIABLE = "NATO_SEARCH_VECTORS"
"""``1``: :func:`app_from_environment` searches with word vectors (``serve --vectors``)."""
HOSTS_VARIABLE = "NATO_SEARCH_ALLOWED_HOSTS"
"""Comma-separated ``Host`` names :func:`app_from_environment` answers (``serve`` sets it)."""
CORS_VARIABLE = "NATO_SEARCH_CORS_ORIGINS"
"""Comma-separated origins :func:`app_from_environment` lets call it from a browser."""
PAGE_VARIABLE = "NATO_SEARCH_PAGE"
"""The search page's options as JSON (``title``, ``facets``, ``per_document``,
``placeholder``), for :func:`app_from_environment` (``serve --title`` and the rest)."""

STATIC = files("nato_search.web") / "static"
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Nothing inline and nothing from elsewhere runs: even markup that slipped through
    # escaping could not execute.
    # and no other site may frame the pages (clickjacking).
    "Content-Security-Policy": (
        "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
}
# Answers hold documents: never sniffed as HTML, never kept by a shared cache.
_JSON_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
# What a 503 tells a client; the detail (paths, shard addresses) goes to the server's log.
_UNAVAILABLE: dict[type, str] = {
    IndexNotFoundError: "no index has been built here yet; it is served once it is",
    IndexVersionError: "the index was made by another version of nato-search; the server's "
    "log says how to rebuild it",
    IndexDamagedError: "the index is damaged; the server's log says where, and how to rebuild it",
    IndexClosedError: "the index has been closed by the application serving it",
    ShardError: "a shard of the index cannot be reached; the server's log says which",
}
_WHOLE = re.compile("-?[0-9]{1,9}")  # ASCII digits only: int() would take "١" or "1_0"
_log = logging.getLogger(__name__)
T = TypeVar("T")


class BadParameter(ValueError):
    """A request parameter that cannot be used: a 400 naming it."""

    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.reason = message


class Unavailable(RuntimeError):
    """The index cannot be opened or read now (missing, outdated, damaged, a shard down);
    the cause it is raised from holds the detail."""


class _Searcher:
    """The index (opened on first use when given as a path) and the threads that search it."""

    def __init__(
        self, index_or_path: Index | str | os.PathLike[str] | None, vectors: WordVectors | None
    ):
        self._given = index_or_path if isinstance(index_or_path, Index) else None
        self._path = None if isinstance(index_or_path, Index) else index_or_path
        self._vectors = vectors
        self._index = self._given
        self._opening = threading.Lock()
        self._threads = ThreadPoolExecutor(POOL_SIZE, thread_name_prefix="nato-search-web")

    async def run(self, work: Callable[[Index], T]) -> T:
        """``work(index)`` on a search thread; the event loop only awaits it."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._threads, lambda: work(self.index()))
        except IndexClosedError as exc:  # an Index the app was given, closed by its owner
            raise Unavailable(_UNAVAILABLE[IndexClosedError]) from exc

    def index(self) -> Index:
        if self._index is not None:
            return self._index
        with self._opening:
            if self._index is None:
                try:  # again on each request until it opens: the index may be built later
                    self._index = open_index(self._path, vectors=self._vectors)
                except (IndexNotFoundError, IndexVersionError, IndexDamagedError) as exc:
                    raise Unavailable(_unavailable(exc)) from exc
            return self._index

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        if self._index is not None and self._index is not self._given:
            self._index.close()


def create_app(
    index_or_path: Index | str | os.PathLike[str] | None = None,
    *,
    vectors: WordVectors | None = None,
    allowed_hosts: Sequence[str] | None = None,
    cors_origins: Sequence[str] | None = None,
    api_key: str | None = None,
    search_key: str | None = None,
    title: str = "nato-search",
    facets: Sequence[str] = ("year",),
    per_document: int | None = 1,
    placeholder: bool = True,
) -> Starlette:
    """The search API and page over an open :class:`Index` (left open: it is yours; its
    own ``vectors`` serve) or the index at a path (opened on the first request with
    ``vectors``, closed when the app shuts down); ``None`` is the bundled seeds' default
    index.

    ``allowed_hosts`` (``"localhost"``, ``"[::1]"``, ``"*.example.org"``) are the ``Host``
    headers answered, others get a 400: a server on a loopback address must name them, or
    any web page could read it through DNS rebinding. ``None`` checks nothing, for an app
    mounted behind a server that does.

    ``cors_origins`` (``"https://app.example.org"``) may call it from a browser; none by
    default. With ``api_key`` or ``search_key`` (16 characters or more), the JSON routes
    but ``/health`` answer only ``Authorization: Bearer KEY`` with one of them, else 401
    (see :mod:`nato_search.web.access`).

    The search page at ``/``: ``title`` heads it; ``facets`` (``year``, ``month`` or metadata
    keys) are the lists it filters by; ``per_document`` hits a document it shows at first
    (None: every paragraph), with a switch to show all; with ``placeholder``, the newest
    documents show before anything is typed."""
    shown_page = page_options(title, facets, per_document, placeholder)
    if isinstance(index_or_path, Index):  # a facet no document has fails now, not on the page
        index_or_path.search("", 1, facets=shown_page["facets"])
    if isinstance(allowed_hosts, str):
        raise TypeError("allowed_hosts is a list of host names, not one string")
    for pattern in allowed_hosts or ():
        check_host_pattern(pattern)
    access = access_middleware(cors_origins, api_key, search_key)
    searcher = _Searcher(index_or_path, vectors)
    logged: list[str] = [""]  # the last 503's detail: logged once, not on every request

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        searcher.close()

    async def search(request: Request) -> Response:
        if request.method == "POST":
            fields = _json_body(await _body(request), "an object of search parameters")
            params = _search_parameters(_posted(fields, ""))
        else:
            params = _search_parameters(request)
        return _json((await _searches([params]))[0])

    async def multi_search(request: Request) -> Response:
        body = _json_body(await _body(request), '{"queries": [{...}, ...]}')
        queries = body.get("queries") if isinstance(body, dict) else None
        if not isinstance(queries, list) or not 1 <= len(queries) <= MAX_QUERIES:
            raise BadParameter("queries", f"a list of 1 to {MAX_QUERIES} search objects")
        if set(body) - {"queries"}:
            raise BadParameter(sorted(set(body) - {"queries"})[0], "unknown; expected queries")
        each = []
        for number, fields in enumerate(queries):
            where = f"queries[{number}]."
            try:
                each.append(_search_parameters(_posted(fields, where)))
            except BadParameter as exc:
                if exc.parameter.startswith(where):
                    raise
                raise BadParameter(where + exc.parameter, exc.reason) from None
        return _json({"results": await _searches(each, "queries[{}].")})

    async def _searches(each: list[dict[str, Any]], where: str = "") -> list[dict[str, Any]]:
        """The answers to searches, in order, on one search thread."""

        def run(ix: Index) -> list[dict[str, Any]]:
            answers = []
            for number, params in enumerate(each):
                started = time.perf_counter()
                try:
                    results = ix.search(params.pop("q"), params.pop("limit"), **params)
                except IndexClosedError:
                    raise  # a 503, as run() says
                except OptionError as exc:  # refused by the index: a filter key, a facet
                    message = str(exc).removeprefix(f"{exc.option}: ")
                    raise BadParameter(where.format(number) + exc.option, message) from exc
                except ValueError as exc:  # the query: a bad date, an empty query
                    raise BadParameter(where.format(number) + "q", str(exc)) from exc
                answer = results_json(results, _leads(ix, results))
                answer["took_ms"] = round((time.perf_counter() - started) * 1000, 3)
                answers.append(answer)
            return answers

        return await searcher.run(run)

    async def document(request: Request) -> Response:
        _refuse_unknown(request, DOCUMENT_PARAMETERS)
        doc_id = request.path_params["doc_id"]
        query = request.query_params.get("q", "").strip()
        prefix = _boolean(request, "prefix")
        paragraph = _integer(request, "paragraph", None, 0, None)

        def run(ix: Index) -> tuple[Any, dict[int, list[tuple[int, int]]]]:
            found = ix.document(doc_id)
            marks: dict[int, list[tuple[int, int]]] = {}
            if found is not None and query and _wants_html(request):
                limit = max(1, len(found.paragraphs))
                try:
                    hits = ix.search(query, limit, filter={"doc_id": doc_id}, prefix=prefix)
                except ValueError:
                    hits = Results([], 0, query)  # a query the page no longer runs: no marks
                marks = {hit.paragraph: hit.highlights for hit in hits}
            return found, marks

        found, marks = await searcher.run(run)
        vary = {"Vary": "Accept"}  # one URL, two representations: a cache must tell them apart
        if not _wants_html(request):
            if found is None:
                return _error(404, f"no document {doc_id!r}", headers=vary)
            return _json(_document_json(found), headers=vary)
        root = request.scope.get("root_path", "")
        headers = _SECURITY_HEADERS | vary
        if found is None:
            body = _page("missing.html", root=html.escape(root), message=html.escape(repr(doc_id)))
            return HTMLResponse(body, 404, headers=headers)
        page = _document_page(found, marks, paragraph, query, root)
        return HTMLResponse(page, headers=headers)

    async def health(request: Request) -> Response:
        def run(ix: Index) -> dict[str, Any]:
            return {  # not the index's path: a client has no use for the server's folders
                "paragraphs": len(ix),
                "documents": ix.documents,
                "backend": ix.backend,
                "version": __version__,
            }

        return _json(await searcher.run(run))

    async def put_document(request: Request) -> Response:
        doc_id = request.path_params["doc_id"]
        record = _json_body(await _body(request), "an object: title, date, paragraphs or text")
        if not isinstance(record, dict):
            raise BadParameter("body", "a JSON object: title, date, paragraphs or text, metadata")
        if record.setdefault("id", doc_id) != doc_id:
            raise BadParameter(
                "body", f"'id' is {record['id']!r:.60}, not the path's {doc_id!r:.60}"
            )
        written = _read_records(lambda: [record_document(record, "body")])
        return await _write(lambda ix: ix.update(written), len(written))

    async def post_documents(request: Request) -> Response:
        data = await _body(request)
        kind = request.headers.get("content-type", "")
        written = _read_records(lambda: _records(data, kind))
        return await _write(lambda ix: ix.update(written), len(written))

    async def delete_document(request: Request) -> Response:
        doc_id = request.path_params["doc_id"]
        removed = await searcher.run(lambda ix: ix.delete([doc_id]))
        if not removed:
            return _error(404, f"no document {doc_id!r}")
        return _json({"deleted": doc_id, "paragraphs": removed})

    async def _write(work: Callable[[Index], int], documents: int) -> Response:
        try:
            paragraphs = await searcher.run(work)
        except IndexLockedError as exc:
            raise Unavailable("the index is busy with another write; retry") from exc
        except ValueError as exc:  # an id given twice in one body
            raise BadParameter("body", str(exc)) from exc
        return _json({"documents": documents, "paragraphs": paragraphs})

    async def described(request: Request) -> Response:
        root = request.scope.get("root_path", "")
        keys = bool(api_key or search_key)
        bounds = (MAX_LIMIT, MAX_OFFSET, MAX_QUERIES)
        return _json(openapi(root, *bounds, keys=keys, writes=bool(api_key)))

    async def home(request: Request) -> Response:
        root = html.escape(request.scope.get("root_path", ""))
        shown = _page(
            "index.html",
            root=root,
            title=html.escape(shown_page["title"]),
            config=html.escape(json.dumps(shown_page, ensure_ascii=False)),
        )
        return HTMLResponse(shown, headers=_SECURITY_HEADERS)

    async def bad_parameter(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadParameter)
        return _error(400, str(exc), parameter=exc.parameter)

    async def unavailable(request: Request, exc: Exception) -> Response:
        cause = exc.__cause__ if isinstance(exc, Unavailable) and exc.__cause__ else exc
        if (detail := f"{type(cause).__name__}: {cause}") != logged[0]:
            _log.warning("nato-search: the index is unavailable: %s", detail)
            logged[0] = detail
        message = str(exc) if isinstance(exc, Unavailable) else _unavailable(cause)
        return _error(503, message)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, exc.detail)

    async def server_error(request: Request, exc: Exception) -> Response:
        _log.exception("nato-search: %s %s failed", request.method, request.url.path)
        return _error(500, f"internal error ({type(exc).__name__}); see the server's log")

    return Starlette(
        routes=[
            Route("/", home),
            Route("/search", search, methods=["GET", "POST"]),
            Route("/multi-search", multi_search, methods=["POST"]),
            Route("/documents/{doc_id:path}", document),
            Route("/health", health),
            Route("/openapi.json", described),
            *(
                [
                    Route("/documents", post_documents, methods=["POST"]),
                    Route("/documents/{doc_id:path}", put_document, methods=["PUT"], name="put"),
                    Route(
                        "/documents/{doc_id:path}",
                        delete_document,
                        methods=["DELETE"],
                        name="delete",
                    ),
                ]
                if api_key
                else []
            ),
            Mount("/static", StaticFiles(directory=Path(str(STATIC))), name="static"),
        ],
        exception_handlers={
            BadParameter: bad_parameter,
            Unavailable: unavailable,
            ShardError: unavailable,
            IndexDamagedError: unavailable,
            IndexVersionError: unavailable,
            IndexNotFoundError: unavailable,
            HTTPException: http_error,
            Exception: server_error,
        },
        lifespan=lifespan,
        middleware=(
            []
            if allowed_hosts is None
            else [Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))]
        )
        + access,
    )


def check_host_pattern(pattern: str) -> str:
    """``pattern`` if it is a host name, ``*.domain`` or ``*``; else a ValueError."""
    wild = pattern[2:] if pattern.startswith("*.") else pattern
    if pattern != "*" and (not wild or "*" in wild or any(c in wild for c in "/ ,")):
        raise ValueError(f"allowed host {pattern!r}: a host name, *.domain or *")
    return pattern


def app_from_environment() -> Starlette:
    """The app over the index named by ``$NATO_SEARCH_INDEX`` (else the bundled seeds), for
    ``uvicorn --factory nato_search.web:app_from_environment`` and each of its workers."""
    vectors = WordVectors.from_package() if os.environ.get(VECTORS_VARIABLE) == "1" else None
    hosts = os.environ.get(HOSTS_VARIABLE)
    origins = os.environ.get(CORS_VARIABLE)
    api_key, search_key = (os.environ.get(name) or None for name in KEY_VARIABLES)
    page = json.loads(os.environ.get(PAGE_VARIABLE) or "{}")
    return create_app(
        os.environ.get(INDEX_VARIABLE) or None,
        vectors=vectors,
        allowed_hosts=None if hosts is None else hosts.split(","),
        cors_origins=origins.split(",") if origins else None,
        api_key=api_key,
        search_key=search_key,
        **page,
    )


def page_options(
    title: str, facets: Sequence[str], per_document: int | None, placeholder: bool
) -> dict[str, Any]:
    """The search page's options, checked, as the page reads them (JSON)."""
    if not isinstance(title, str) or not title.strip() or len(title) > 200:
        raise ValueError(f"title is a name of 1 to 200 characters, not {title!r:.60}")
    if isinstance(facets, str) or not all(isinstance(f, str) and f.strip() for f in facets):
        raise ValueError(
            f"facets is a list of names (year, month, metadata keys), not {facets!r:.60}"
        )
    if per_document is not None and (
        not isinstance(per_document, int) or isinstance(per_document, bool) or per_document < 1
    ):
        raise ValueError(f"per_document is None or 1 or more, not {per_document!r:.60}")
    if not isinstance(placeholder, bool):
        raise ValueError(f"placeholder is True or False, not {placeholder!r:.60}")
    return {
        "title": title.strip(),
        "facets": list(dict.fromkeys(facets)),
        "per_document": per_document,
        "placeholder": placeholder,
    }


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=_JSON_HEADERS | dict(headers or {}))


def _error(
    status: int, message: str, headers: Mapping[str, str] | None = None, **extra: str
) -> Response:
    return _json({"error": message, **extra}, status, headers)


def _unavailable(exc: BaseException) -> str:
    """What a 503 says of ``exc``: its kind, never its detail."""
    kind = next(kind for kind in type(exc).__mro__ if kind in _UNAVAILABLE or kind is Exception)
    return _UNAVAILABLE.get(kind, "the index is unavailable; the server's log says why")


def _search_parameters(request: Request | _Posted) -> dict[str, Any]:
    """Keyword arguments of :meth:`Index.search` from the query string, each checked."""
    _refuse_unknown(request, SEARCH_PARAMETERS)
    query = request.query_params.get("q", "")  # empty: every paragraph (a placeholder search)
    params: dict[str, Any] = {
        "q": query,
        "limit": _integer(request, "limit", 10, 1, MAX_LIMIT),
        "offset": _integer(request, "offset", 0, 0, MAX_OFFSET),
    }
    if filters := _filters(request.query_params.getlist("filter")):
        params["filter"] = filters
    if (sort := request.query_params.get("sort")) is not None and sort != "relevance":
        fields = [name.strip() for name in sort.split(",")]
        if not all(fields):
            raise BadParameter("sort", "relevance, or comma-separated fields such as -date,source")
        params["sort"] = fields
    if (recency := request.query_params.get("recency")) is not None:
        try:
            params["recency"] = float(recency)
        except ValueError:
            raise BadParameter("recency", f"a number of days, not {recency!r:.60}") from None
    if (per_document := _integer(request, "per_document", None, 1, MAX_LIMIT)) is not None:
        params["per_document"] = per_document
    facets = [name for value in request.query_params.getlist("facets") for name in value.split(",")]
    if any(not name.strip() for name in facets):
        raise BadParameter("facets", "comma-separated names, such as year,doc_id")
    if facets:
        params["facets"] = tuple(name.strip() for name in facets)
    for name in ("prefix", "vectors"):
        if name in request.query_params:
            params[name] = _boolean(request, name)
    return params


async def _body(request: Request) -> bytes:
    """The request's body, refused past :data:`MAX_BODY_BYTES` as it arrives."""
    if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
        raise BadParameter("body", f"at most {MAX_BODY_BYTES:,} bytes")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY_BYTES:
            raise BadParameter("body", f"at most {MAX_BODY_BYTES:,} bytes")
    return bytes(data)


def _json_body(data: bytes, expected: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadParameter(
            "body", f"not JSON ({type(exc).__name__}); expected {expected}"
        ) from None


JSON_LINES_TYPES = ("application/x-ndjson", "application/jsonl", "application/x-jsonlines")


def _records(data: bytes, content_type: str) -> list[Document]:
    """A JSON array of records (or one), or JSON Lines by its content type, read as
    :mod:`nato_search.readers.records` reads files: errors name the body's line."""
    lines = content_type.split(";")[0].strip().lower() in JSON_LINES_TYPES
    read = read_jsonl if lines else read_json
    return list(read(Path("body"), data, "body", DEFAULT_OPTIONS))


def _read_records(read: Callable[[], list[Document]]) -> list[Document]:
    try:
        documents = read()
    except CorpusError as exc:
        raise BadParameter("body", str(exc)) from None
    if not documents:
        raise BadParameter("body", "no document in it")
    return documents


@dataclass(frozen=True)
class _Posted:
    """A JSON body's search fields as a query string, checked by the same code as a GET."""

    query_params: QueryParams


def _posted(fields: Any, prefix: str) -> _Posted:
    """``{"q": "otan", "limit": 5, "facets": ["year"], "filter": {"source": "AFP"}}`` as the
    query string ``q=otan&limit=5&facets=year&filter=source:AFP``."""
    if not isinstance(fields, dict):
        raise BadParameter(prefix.rstrip(".") or "body", "an object of search parameters")
    pairs: list[tuple[str, str]] = []
    for name, value in fields.items():
        if name == "filter" and isinstance(value, dict):
            value = [f"{key}:{v}" for key, values in value.items() for v in _listed(values)]
        if name == "sort" and isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = ",".join(value)
        for item in _listed(value) if name in REPEATABLE else [value]:
            if isinstance(item, (dict, list)) or item is None:
                raise BadParameter(prefix + name, f"a string, number or boolean, not {item!r:.60}")
            pairs.append((name, json.dumps(item) if not isinstance(item, str) else item))
    return _Posted(QueryParams(pairs))


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _refuse_unknown(request: Request | _Posted, known: tuple[str, ...]) -> None:
    """Unknown names (a typo would otherwise be ignored) and single values given twice."""
    for name in request.query_params:
        if name not in known:
            raise BadParameter(name, f"unknown parameter; expected one of {', '.join(known)}")
        if name not in REPEATABLE and len(request.query_params.getlist(name)) > 1:
            raise BadParameter(name, "given more than once")


def _integer(
    request: Request | _Posted, name: str, default: int | None, low: int, high: int | None
) -> int | None:
    value = request.query_params.get(name)
    if value is None:
        return default
    bounds = f"from {low} to {high}" if high is not None else f"{low} or more"
    if not _WHOLE.fullmatch(value) or int(value) < low or (high is not None and int(value) > high):
        raise BadParameter(name, f"a whole number {bounds}, not {value!r}")
    return int(value)


def _boolean(request: Request | _Posted, name: str) -> bool:
    value = request.query_params.get(name, "false")
    if value.lower() not in BOOLEANS:
        raise BadParameter(name, f"true or false, not {value!r}")
    return BOOLEANS[value.lower()]


_PAIR = re.compile(r"([^\s:=<>!()\[\],'\"]+):([^\s=<>!]+)")
"""The older ``key:value`` form: no spaces, no operator, so never a valid expression."""


def _filters(values: list[str]) -> str | None:
    """Every ``filter`` parameter, ANDed: an expression, or an older ``key:value`` pair
    (the values of one key's pairs are alternatives, as they were)."""
    pairs: dict[str, list[str]] = {}
    expressions = []
    for value in values:
        if not value.strip():
            raise BadParameter("filter", "an expression, such as source = AFP, not empty")
        if pair := _PAIR.fullmatch(value):
            pairs.setdefault(pair[1], []).append(pair[2])
        else:
            expressions.append(value)
    for key, wanted in pairs.items():
        expressions.append(f"{quote(key)} IN [{', '.join(map(quote, wanted))}]")
    if len(expressions) == 1:
        return expressions[0]  # as given, so that error positions count in it
    return " AND ".join(f"({expression})" for expression in expressions) or None


def results_json(results: Results, leads: Mapping[int, str] | None = None) -> dict[str, Any]:
    """The body of ``/search`` (less ``took_ms``): ``to_dict()`` with each hit's HTML snippet
    and title (document text escaped, ``<mark>`` only), and for a hit that matched by its
    title alone, its document's first paragraph (``leads``, by the hit's place) as ``lead``."""
    answer = results.to_dict()
    for place, (hit, shown) in enumerate(zip(results, answer["hits"], strict=True)):
        shown["snippet_html"] = hit.snippet("html")
        shown["title_html"] = mark(hit.title, hit.title_highlights, "html")
        if leads and place in leads:
            lead = replace(hit, paragraph=0, text=leads[place], highlights=[])
            shown["lead"] = {"paragraph": 0, "snippet_html": lead.snippet("html")}
    return answer


def _leads(ix: Index, results: Results) -> dict[int, str]:
    """The first paragraph of each hit's document where the hit, another paragraph, matched
    by its title alone: a snippet with nothing marked says less than the document's lead."""
    firsts: dict[str, str | None] = {}  # a document's paragraphs can be several hits
    leads = {}
    for place, hit in enumerate(results):
        if hit.paragraph and hit.title_highlights and not hit.highlights:
            if hit.doc_id not in firsts:
                document = ix.document(hit.doc_id)
                firsts[hit.doc_id] = (
                    document.paragraphs[0] if document and document.paragraphs else None
                )
            if (first := firsts[hit.doc_id]) is not None:
                leads[place] = first
    return leads


def _document_json(document: Any) -> dict[str, Any]:
    date: dt.date | None = document.date
    return {
        "id": document.id,
        "title": document.title,
        "date": date.isoformat() if date else None,
        "metadata": document.metadata,
        "paragraphs": list(document.paragraphs),
        "pages": document.pages,
    }


def _wants_html(request: Request) -> bool:
    """A browser navigating asks for ``text/html``; ``fetch`` and API clients do not."""
    return "text/html" in request.headers.get("accept", "")


MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"


def french_date(date: dt.date) -> str:
    """``12 juillet 2023``, ``1er mai 2024``: as the search page writes dates."""
    day = "1er" if date.day == 1 else str(date.day)
    return f"{day} {MONTHS.split()[date.month - 1]} {date.year}"


def _page(name: str, **values: str) -> str:
    """A page of ``static`` with its ``$placeholders`` filled (values already escaped)."""
    return Template((STATIC / name).read_text(encoding="utf-8")).substitute(values)


def _document_page(
    document: Any,
    marks: Mapping[int, list[tuple[int, int]]],
    current: int | None,
    query: str,
    root: str,
) -> str:
    paragraphs = []
    for number, text in enumerate(document.paragraphs):
        classes = " ".join(
            name
            for name, present in (("matched", number in marks), ("current", number == current))
            if present
        )
        attributes = f' class="{classes}"' if classes else ""
        if document.pages:
            attributes += (
                f' data-page="{document.pages[number]}" title="page {document.pages[number]}"'
            )
        if number == current:
            attributes += ' tabindex="-1" aria-current="true"'
        paragraphs.append(
            f'<p id="p-{number}"{attributes}>{mark(text, marks.get(number, []), "html")}</p>'
        )
    metadata = "".join(
        f"<dt>{html.escape(str(key))}</dt><dd>{html.escape(_shown(value))}</dd>"
        for key, value in sorted(document.metadata.items())
    )
    back = f"{root}/" + (f"?{urlencode({'q': query})}" if query else "")
    return _page(
        "document.html",
        root=html.escape(root),
        back=html.escape(back),
        title=html.escape(document.title or document.id),
        doc_id=html.escape(document.id),
        date=html.escape(french_date(document.date) if document.date else "sans date"),
        metadata=f"<dl>{metadata}</dl>" if metadata else "",
        paragraphs="\n".join(paragraphs),
    )


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_shown(item) for item in value)
    return "" if value is None else str(value)
