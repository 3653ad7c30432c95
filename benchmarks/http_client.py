"""What http_load.py and soak.py share: client threads that load a server, their error log
and latency percentiles, and starting and stopping the server's process.

Both measure a server the same way, so that their figures read alike.
"""

from __future__ import annotations

import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

SHOW_ERRORS = 5  # distinct error messages echoed to stderr, per side
KEEP_ERRORS = 50  # distinct error messages kept for the report, per side


class ErrorLog:
    """Counts error messages from many threads; echoes the first few distinct ones to stderr."""

    def __init__(self, side: str):
        self.side = side
        self.counts: Counter[str] = Counter()
        self._tracebacks: set[str] = set()
        self._lock = threading.Lock()

    def record(self, message: str, exc: BaseException | None = None) -> None:
        message = message[:500]
        with self._lock:
            new = message not in self.counts
            if new and len(self.counts) >= KEEP_ERRORS:
                message, new = "(other messages)", False
            self.counts[message] += 1
            show = new and len(self.counts) <= SHOW_ERRORS
            trace = exc is not None and type(exc).__name__ not in self._tracebacks
            if trace:
                self._tracebacks.add(type(exc).__name__)
        if show:
            print(f"[{self.side}] {message}", file=sys.stderr, flush=True)
        if trace and len(self._tracebacks) <= SHOW_ERRORS:
            assert exc is not None
            print("".join(traceback.format_exception(exc)).rstrip(), file=sys.stderr, flush=True)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class HttpError(Exception):
    """An answer that is not a success, logged as its message alone ("HTTP 503: ...")."""


class Clients:
    """``n`` threads, each sending requests in a loop until ``seconds`` pass or stop().

    ``pick(rng)`` draws a request, untimed; ``send(connection, request)`` makes it, checks
    the answer and returns what was served: its kind and size in bytes. A failure is
    logged, never fatal: the thread reconnects (``connect()``) and goes on. Thread ``i``
    draws from ``random.Random(seed + i)``, so a run's requests are reproducible.
    """

    def __init__(
        self,
        pick: Callable[[random.Random], Any],
        send: Callable[[Any, Any], tuple[str, int]],
        n: int,
        seconds: float,
        seed: int,
        connect: Callable[[], Any] = lambda: None,
    ):
        self._pick, self._send, self._connect = pick, send, connect
        self.seconds, self.seed = seconds, seed
        self.stop_event = threading.Event()
        self.errors = ErrorLog("client")
        self.latencies_ms: list[float] = []
        self.sizes: list[int] = []
        self.kinds: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(i,), name=f"client-{i}", daemon=True)
            for i in range(n)
        ]
        self.started = self.ended = self.deadline = 0.0

    @property
    def served(self) -> int:
        return len(self.latencies_ms)

    def start(self) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + self.seconds
        for t in self._threads:
            t.start()

    def wait(self, tick: Callable[[], None] = lambda: None) -> None:
        """Until every client has stopped; ``tick`` runs about once a second meanwhile."""
        for t in self._threads:
            while t.is_alive():
                t.join(1.0)
                tick()
        self.ended = time.monotonic()

    def run(self) -> Clients:
        self.start()
        self.wait()
        return self

    def stop(self, timeout: float) -> None:
        self.stop_event.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            if t.is_alive():
                t.join(max(0.0, deadline - time.monotonic()))
        self.ended = self.ended or time.monotonic()

    def _run(self, i: int) -> None:
        rng = random.Random(self.seed + i)
        connection = self._connect()
        latencies: list[float] = []
        sizes: list[int] = []
        kinds: Counter[str] = Counter()
        while not self.stop_event.is_set() and time.monotonic() < self.deadline:
            request = self._pick(rng)
            t0 = time.perf_counter()
            try:
                kind, size = self._send(connection, request)
            except Exception as exc:  # connection errors, timeouts, bad answers
                self.errors.record(
                    str(exc) if isinstance(exc, HttpError) else f"{type(exc).__name__}: {exc}"
                )
                connection = self._connect()
                continue
            latencies.append((time.perf_counter() - t0) * 1000)
            sizes.append(size)
            kinds[kind] += 1
        with self._lock:
            self.latencies_ms.extend(latencies)
            self.sizes.extend(sizes)
            self.kinds.update(kinds)


def percentile(values: Sequence[float], q: int) -> float | None:
    """The ``q``-th percentile (1..99), rounded to 0.01 ms; None without any value."""
    if len(values) < 2:
        return round(values[0], 2) if values else None
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 2)


def free_port() -> int:
    """A port free on 127.0.0.1 just now, for a server about to start."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers(url: str, process: subprocess.Popen, timeout: float) -> bool:
    """Whether ``url`` answers with a success before ``process`` exits or ``timeout`` passes."""
    import urllib.request  # not on import: speed.py's peers import this module, and count RSS

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                answer.read()
            return True
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.1)


def stop_process(process: subprocess.Popen, grace: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``grace`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
