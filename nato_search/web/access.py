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
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(
                    f"CORS origin {origin!r}: a scheme and host, such as https://example.org"
                )
        layers.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors_origins),
                allow_methods=["GET", "POST", "PUT", "DELETE"],
                allow_headers=["Authorization", "Content-Type"],
                max_age=600,
            )
        )
    keys = [k for k in (check_key("api_key", api_key), check_key("search_key", search_key)) if k]
    if keys:
        layers.append(Middleware(RequireKey, keys=keys))
    return layers


class RequireKey:
    """An ASGI layer that answers 401 unless the request carries one of ``keys``."""

    def __init__(self, app: ASGIApp, keys: Sequence[str]) -> None:
        self.app = app
        self.keys = [key.encode() for key in keys]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._open(scope):
            await self.app(scope, receive, send)
            return
        token = _bearer(scope)
        if token is None:
            await _unauthorized(send, "this server needs a key: send Authorization: Bearer KEY")
        elif not any(hmac.compare_digest(token, key) for key in self.keys):
            await _unauthorized(send, "the key is not one this server takes", invalid=True)
        else:
            await self.app(scope, receive, send)

    @staticmethod
    def _open(scope: Scope) -> bool:
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def _bearer(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            return token.strip() if scheme.lower() == b"bearer" and token.strip() else None
    return None


async def _unauthorized(send: Send, message: str, invalid: bool = False) -> None:
    challenge = b'Bearer realm="nato-search"' + (b', error="invalid_token"' if invalid else b"")
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", challenge),
                (b"cache-control", b"no-store"),
                (b"x-content-type-options", b"nosniff"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
