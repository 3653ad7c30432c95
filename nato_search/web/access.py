"""Who may call the app: keys (``Authorization: Bearer KEY``) and other origins (CORS).

Keys follow Meilisearch's model, simplified: the *search key* is what a front end holds
to read, the *API key* what a back end holds, which reads too. With either set, every
JSON route needs one, except ``/health`` (a load balancer's probe: counts, no path)
and ``/openapi.json`` (what a client generator reads).
The search page and its static files hold no document and stay open, but the page
itself sends no key: serve it without keys, or call the API from your own front end.
Keys are compared in constant time and never logged. CORS is Starlette's middleware,
nothing allowed unless origins are named.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

OPEN_PATHS = ("/", "/health", "/openapi.json")
OPEN_PREFIXES = ("/static/",)
KEY_VARIABLES = ("NATO_SEARCH_API_KEY", "NATO_SEARCH_SEARCH_KEY")
"""What ``serve --http`` and :func:`~nato_search.web.app_from_environment` read the keys from."""
MIN_KEY_LENGTH = 16
"""Shorter keys are refused: a key is a secret to guess, not a password to remember."""


def check_key(name: str, key: str | None) -> str | None:
    if key is None:
        return None
    if not isinstance(key, str) or len(key) < MIN_KEY_LENGTH or not key.isprintable():
        raise ValueError(f"{name}: a key is at least {MIN_KEY_LENGTH} printable characters")
    if any(c.isspace() for c in key):
        raise ValueError(f"{name}: a key holds no spaces")
    return key


def check_origin(origin: str) -> str:
    if origin != "*" and not origin.startswith(("http://", "https://")):
        raise ValueError(f"CORS origin {origin!r}: a scheme and host, such as https://example.org")
    return origin


def access_middleware(
    cors_origins: Sequence[str] | None, api_key: str | None, search_key: str | None
) -> list[Middleware]:
    """The middleware, outermost first: CORS answers a preflight and marks every answer
    (a 401 too, so that a browser app can read why), then keys are checked."""
    if isinstance(cors_origins, str):
        raise TypeError("cors_origins is a list of origins, not one string")
    layers: list[Middleware] = []
    if cors_origins:
        for origin in cors_origins:
            check_origin(origin)
        layers.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors_origins),
                allow_methods=["GET", "POST", "PUT", "DELETE"],
                allow_headers=["Authorization", "Content-Type"],
                max_age=600,
            )
        )
    api_key, search_key = check_key("api_key", api_key), check_key("search_key", search_key)
    if api_key or search_key:
        layers.append(Middleware(RequireKey, api_key=api_key, search_key=search_key))
    return layers


class RequireKey:
    """An ASGI layer that answers 401 unless a read carries one of the keys, and a write
    the API key (403 for the search key: it is known, but may not write). Without an API
    key there are no writes: the app answers them 405."""

    def __init__(self, app: ASGIApp, api_key: str | None, search_key: str | None) -> None:
        self.app = app
        self.api_key = api_key.encode() if api_key else None
        self.search_key = search_key.encode() if search_key else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = _path(scope) if scope["type"] == "http" else ""
        if scope["type"] != "http" or path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            await self.app(scope, receive, send)
            return
        token = _bearer(scope)
        is_api = token is not None and _same(token, self.api_key)
        is_search = token is not None and _same(token, self.search_key)
        if token is None:
            await _refused(send, 401, "this server needs a key: send Authorization: Bearer KEY")
        elif not (is_api or is_search):
            await _refused(send, 401, "the key is not one this server takes", invalid=True)
        elif scope["method"] in WRITES and path not in READ_POSTS and not is_api and self.api_key:
            await _refused(send, 403, "the search key reads; writing needs the API key")
        else:
            await self.app(scope, receive, send)


def _path(scope: Scope) -> str:
    """The path within the app (a mounted app's scope holds the whole path)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :] or "/"
    return path


WRITES = frozenset({"POST", "PUT", "DELETE", "PATCH"})
"""Methods that change the index (``POST /search`` reads: it is listed with the reads)."""
READ_POSTS = ("/search", "/multi-search")


def _same(token: bytes, key: bytes | None) -> bool:
    return key is not None and hmac.compare_digest(token, key)


def _bearer(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            return token.strip() if scheme.lower() == b"bearer" and token.strip() else None
    return None


async def _refused(send: Send, status: int, message: str, invalid: bool = False) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
    ]
    if status == 401:
        challenge = b'Bearer realm="nato-search"'
        headers.append(
            (b"www-authenticate", challenge + (b', error="invalid_token"' if invalid else b""))
        )
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
