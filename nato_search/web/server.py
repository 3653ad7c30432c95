"""``nato-search serve --http``: the app of :mod:`nato_search.web` under uvicorn, with limits.

uvicorn closes idle keep-alive connections but has no deadline on a request's head: a
client sending a header line every few seconds (slowloris) holds its socket, and a few
hundred of them hold the server. :class:`DeadlineProtocol` closes a connection whose
request head has not arrived ``HEADER_TIMEOUT`` seconds after it opened or after its last
answer. Needs the optional extra ``web``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from nato_search.web.app import (
    CORS_VARIABLE,
    HOSTS_VARIABLE,
    INDEX_VARIABLE,
    PAGE_VARIABLE,
    VECTORS_VARIABLE,
)

__all__ = ["HEADER_TIMEOUT", "KEEP_ALIVE", "MAX_CONNECTIONS", "DeadlineProtocol", "serve"]

HEADER_TIMEOUT = 10.0
"""Seconds a client has to send a request's method, path and headers."""
KEEP_ALIVE = 5
"""Seconds an idle connection stays open after an answer."""
MAX_CONNECTIONS = 512
"""Connections and requests one server process holds at once; more get a 503 at once."""
TIMEOUT_VARIABLE = "NATO_SEARCH_HEADER_TIMEOUT"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


class DeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request head."""

    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        if self.transport.is_closing():
            return
        waited_for = self.cycle  # a head arriving starts a new cycle

        def too_slow() -> None:
            finished = waited_for is None or waited_for.response_complete
            if self.cycle is waited_for and finished and not self.transport.is_closing():
                self.transport.close()

        if self._head_deadline is not None:
            self._head_deadline.cancel()
        timeout = float(os.environ.get(TIMEOUT_VARIABLE, HEADER_TIMEOUT))
        self._head_deadline = self.loop.call_later(timeout, too_slow)


def serve(
    index_path: str | os.PathLike[str],
    host: str,
    port: int,
    *,
    workers: int = 1,
    vectors: bool = False,
    allowed_hosts: Sequence[str] = (),
    header_timeout: float = HEADER_TIMEOUT,
    cors_origins: Sequence[str] = (),
    page: Mapping[str, Any] | None = None,
) -> None:
    """Serve the index until interrupted. ``Host`` headers answered: the loopback names,
    the address bound and ``allowed_hosts`` (``"*"`` answers any)."""
    bound = f"[{host}]" if ":" in host else host
    hosts = dict.fromkeys([*LOOPBACK_HOSTS, bound, *allowed_hosts])
    # uvicorn starts each worker process from an import string: settings go by environment.
    os.environ[INDEX_VARIABLE] = os.fspath(index_path)
    os.environ[VECTORS_VARIABLE] = "1" if vectors else "0"
    os.environ[HOSTS_VARIABLE] = ",".join(hosts)
    os.environ[TIMEOUT_VARIABLE] = str(header_timeout)
    os.environ[CORS_VARIABLE] = ",".join(cors_origins)
    os.environ[PAGE_VARIABLE] = json.dumps(dict(page or {}))  # create_app's page options
    uvicorn.run(
        "nato_search.web:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=DeadlineProtocol,
        timeout_keep_alive=KEEP_ALIVE,
        limit_concurrency=MAX_CONNECTIONS,
        log_level="info",
    )
