"""Soak benchmark: nato-search's HTTP app under load while other processes re-index.

    python benchmarks/soak.py                          # 10,000 OrangeSum paragraphs, 60 s, 32 clients
    python benchmarks/soak.py --seeds --seconds 20     # the bundled seeds/ instead (tiny)
    python benchmarks/soak.py --server pool            # Index.search behind a stdlib server
    python benchmarks/soak.py --server thread-per-request   # ... with a thread per request
    python benchmarks/soak.py --json                   # the report as JSON on stdout
    python benchmarks/soak.py --json out.json          # ... or into a file

Setup. The first ``--paragraphs`` paragraphs of the OrangeSum corpus (read as
speed.py reads them: consecutive paragraphs of one ``doc`` are one document)
are written as JSONL source files (``id``, ``title``, ``date``, ``paragraphs``),
``--files`` of them, into a temporary folder; with ``--seeds``, the bundled
``seeds/`` pages are copied there instead. An index is built from that folder
by the CLI in a subprocess, so the server process's RSS is its own.
If the corpus file is missing (and ``--seeds`` is not given), the benchmark
says so and exits 0: a skip, not a failure.

Run, for ``--seconds``:

* server: by default (``--server app``) the shipped app, ``nato-search serve
  --http`` (Starlette under uvicorn, with its Host check and limits) in its own
  process on 127.0.0.1. ``--server pool`` and ``--server thread-per-request``
  serve ``Index.search`` from this process with a stdlib ``ThreadingHTTPServer``
  instead (``GET /search?q=...`` answers ``{total, hits}``, ``limit=10``; any
  exception is a 500 and a server error): a fixed pool of ``--clients`` threads,
  or a new thread for every request, so the open-files figure shows whether
  per-thread searchers are left open when their thread ends.
* writers (two other processes): the sources writer, in a loop until told to
  stop, rewrites one source file (one paragraph changes, so its content really
  changes), then calls ``update_index`` on the folder; every
  ``--rebuild-every`` rounds it also runs ``nato-search index FOLDER --index
  PATH --rebuild`` (the CLI, in a subprocess). The API writer adds a document
  with ``Index.add`` and deletes the one it added before, in a loop, and
  deletes its last at the end. Their rounds, rebuilds and errors are counted.
* clients (this process): ``--clients`` threads, each issuing requests with
  ``urllib.request`` (a new connection each) over a fixed list of French
  queries drawn from the indexed text with speed.py's recipe (keyword
  queries of 2-4 words and questions), timing each request. Against the app,
  one request in two is a plain search and the others, in turn: a filter
  (``filter=doc_id:…`` or ``date:YEAR`` in the query), facets (``facets=year,doc_id``),
  a prefix search, the second page (``offset=10``), a document as JSON, and a
  document page as HTML with the query marked; each answer's shape is checked.

At the end, with the writers stopped, the index is compared with a fresh build
of the sources as they then are: the same documents, and for every query the
same total and the same first 10 hits with the same scores.

Measured: requests served (HTTP 200 with a well-formed body), errors (HTTP
errors, connection errors, timeouts, malformed bodies), p50/p99 latency of
served requests, requests/s; the server process's open files (entries of
/proc/self/fd) and RSS (VmRSS) at start (index open, every server thread
warmed with a search) and at end (clients stopped), both after gc.collect(),
and their maxima sampled every second; the writer's rounds, rebuilds and
errors.

Exit status: 1 if any request failed, if a writer had any error, if the index differs
from a fresh build, or if the
server's open files at the end exceed those at the start by more than
``--fd-margin`` (default 20) plus one file per pooled searcher, and one for the
arrays, for each index segment more than at the start (measured after the
writer stopped and one more search); otherwise 0 (also 0 for a skip). RSS is
reported, not judged, except as a safety stop: if the server's RSS passes
``--max-rss-mib`` (default 8192), the clients stop early and the run fails.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import multiprocessing
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # speed.py, http_client.py
from http_client import (  # noqa: E402
    KEEP_ERRORS,
    SHOW_ERRORS,
    Clients,
    ErrorLog,
    HttpError,
    answers,
    free_port,
    percentile,
    stop_process,
)
from speed import (  # noqa: E402
    DEFAULT_CORPUS,
    REPO_ROOT,
    Paragraph,
    group_documents,
    machine_info,
    make_queries,
    read_paragraphs,
)

if str(REPO_ROOT) not in sys.path:  # benchmark the checkout, as speed.py does
    sys.path.insert(1, str(REPO_ROOT))

from nato_search.settings import POOL_SIZE

SEEDS = REPO_ROOT / "seeds"
DEFAULT_PARAGRAPHS = 10_000
DEFAULT_FILES = 20
DEFAULT_SECONDS = 60.0
DEFAULT_CLIENTS = 32
DEFAULT_REBUILD_EVERY = 10
DEFAULT_FD_MARGIN = 20
DEFAULT_MAX_RSS_MIB = 8192
DEFAULT_QUERIES = 50
DEFAULT_SEED = 1789
LIMIT = 10
REQUEST_TIMEOUT_S = 30.0
WRITER_GRACE_S = 60.0  # for the writer to finish its round (a rebuild) once told to stop


# --------------------------------------------------------------------------- sources


def seed_paragraphs(folder: Path) -> list[Paragraph]:
    """The paragraphs of the seed pages in ``folder``, as speed.py's Paragraphs."""
    import nato_search

    return [
        Paragraph(d.id, i, d.title, d.date.isoformat() if d.date else None, text)
        for d in nato_search.read_documents(folder)
        for i, text in enumerate(d.paragraphs)
    ]


def write_sources(paragraphs: Sequence[Paragraph], folder: Path, files: int) -> int:
    """Group ``paragraphs`` into documents and write them as ``files`` JSONL files; → documents."""
    import nato_search

    docs = group_documents(paragraphs, nato_search.Document)
    files = max(1, min(files, len(docs)))
    per_file = -(-len(docs) // files)
    for n in range(files):
        chunk = docs[n * per_file : (n + 1) * per_file]
        if not chunk:
            break
        lines = [
            json.dumps(
                {
                    "id": d.id,
                    "title": d.title,
                    "date": d.date.isoformat() if d.date else None,
                    "paragraphs": d.paragraphs,
                },
                ensure_ascii=False,
            )
            for d in chunk
        ]
        (folder / f"part-{n:03d}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(docs)


def mutate(path: Path, original: str, round_: int) -> None:
    """Rewrite ``path`` from ``original`` with one paragraph changed for this round."""
    mark = f"Révision {round_} du banc d'essai : ce paragraphe change à chaque tour d'écriture."
    if path.suffix == ".jsonl":
        first, _, rest = original.partition("\n")
        record = json.loads(first)
        record["paragraphs"][0] = f"{record['paragraphs'][0]} {mark}"
        text = json.dumps(record, ensure_ascii=False) + "\n" + rest
    else:  # a page: one more paragraph at the end
        text = original.rstrip("\n") + f"\n\n{mark}\n"
    path.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------- writer


def index_command(sources: str | Path, index: str | Path, rebuild: bool = True) -> list[str]:
    """``nato-search index SOURCES --index INDEX [--rebuild]``, run from this checkout."""
    command = [sys.executable, "-m", "nato_search", "index", str(sources), "--index", str(index)]
    return command + ["--rebuild"] if rebuild else command


def checkout_env() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def writer_main(
    sources: str,
    index: str,
    rebuild_every: int,
    ready: Any,
    stop: Any,
    counts: Any,
    messages: Any,
    role: str = "sources",
) -> None:
    """A writer process. ``sources``: rewrite a file + update_index, and a CLI --rebuild
    every K rounds; ``api``: add a document and delete the one added before (the last is
    deleted when told to stop).

    ``counts``: shared [rounds, updates, rebuilds, update errors, rebuild errors].
    ``messages``: a queue of (kind, message) for each error (capped). ``ready`` is set
    once imports are done, just before the first round.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us; Ctrl-C reaches it

    def on_term(signum: int, frame: Any) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, on_term)
    import nato_search

    folder = Path(sources)
    files = sorted(p for p in folder.iterdir() if p.is_file())
    originals = {p: p.read_text(encoding="utf-8") for p in files}
    sent = 0
    rebuild: subprocess.Popen | None = None
    ready.set()

    def error(kind: str, message: str, slot: int) -> None:
        nonlocal sent
        with counts.get_lock():
            counts[slot] += 1
        if sent < 200:
            sent += 1
            messages.put((kind, message[:500]))

    if role == "api":
        api_writer(index, stop, counts, error)
        return
    try:
        round_ = 0
        while not stop.is_set():
            round_ += 1
            path = files[(round_ - 1) % len(files)]
            mutate(path, originals[path], round_)
            try:
                nato_search.update_index(folder, index)
                with counts.get_lock():
                    counts[1] += 1
            except Exception as exc:
                error("update_index", f"{type(exc).__name__}: {exc}", 3)
            if rebuild_every and round_ % rebuild_every == 0 and not stop.is_set():
                rebuild = subprocess.Popen(
                    index_command(sources, index),
                    env=checkout_env(),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                    start_new_session=True,  # Ctrl-C goes to the parent, which stops us
                )
                _, stderr = rebuild.communicate()
                if rebuild.returncode == 0:
                    with counts.get_lock():
                        counts[2] += 1
                else:
                    tail = " | ".join(stderr.strip().splitlines()[-3:])
                    error("rebuild", f"exit {rebuild.returncode}: {tail}", 4)
                rebuild = None
            with counts.get_lock():
                counts[0] += 1
    finally:
        if rebuild is not None and rebuild.poll() is None:
            rebuild.kill()
            rebuild.wait()


API_PREFIX = "soak-api-"


def api_writer(index: str, stop: Any, counts: Any, error: Callable[[str, str, int], None]) -> None:
    """Adds and deletes documents through the API, one commit each, beside update_index."""
    import nato_search

    round_ = 0
    with nato_search.open_index(index) as ix:
        while not stop.is_set():
            round_ += 1
            added = nato_search.Document(
                id=f"{API_PREFIX}{round_}",
                title=f"Ajout {round_} par l'API",
                date=None,
                paragraphs=[f"Un paragraphe ajouté par l'API, tour {round_}, sur la défense."],
            )
            try:
                ix.add([added], timeout=60)
                ix.delete([f"{API_PREFIX}{round_ - 1}"], timeout=60)
                with counts.get_lock():
                    counts[1] += 1
            except Exception as exc:
                error("api", f"{type(exc).__name__}: {exc}", 3)
            with counts.get_lock():
                counts[0] += 1
            time.sleep(0.05)
        try:
            ix.delete([f"{API_PREFIX}{round_}"], timeout=60)
        except Exception as exc:
            error("api", f"{type(exc).__name__}: {exc}", 3)


class Writer:
    """Starts, stops and reads a writer process."""

    def __init__(self, sources: Path, index: Path, rebuild_every: int, role: str = "sources"):
        ctx = multiprocessing.get_context("spawn")  # never fork a process running threads
        self._ready = ctx.Event()
        self._stop = ctx.Event()
        self._counts = ctx.Array("q", 5)
        self._messages = ctx.Queue()
        self.errors: Counter[str] = Counter()
        self.exitcode: int | None = None
        self.process = ctx.Process(
            target=writer_main,
            args=(
                str(sources),
                str(index),
                rebuild_every,
                self._ready,
                self._stop,
                self._counts,
                self._messages,
                role,
            ),
            name=f"soak-writer-{role}",
            daemon=True,
        )

    def start(self, timeout: float = 60.0) -> None:
        """Start the process and wait until it is about to begin its first round."""
        self.process.start()
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.2):
            if not self.process.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the writer did not start (exit {self.process.exitcode})")

    def _drain(self) -> None:
        while True:
            try:
                kind, message = self._messages.get_nowait()
            except (queue.Empty, OSError, ValueError):
                return
            if kind and message not in self.errors and len(self.errors) < SHOW_ERRORS:
                print(f"[writer] {kind}: {message}", file=sys.stderr, flush=True)
            key = f"{kind}: {message}"
            if key in self.errors or len(self.errors) < KEEP_ERRORS:
                self.errors[key] += 1
            else:
                self.errors["(other messages)"] += 1

    def poll(self) -> None:
        self._drain()

    def stop(self, grace: float = WRITER_GRACE_S) -> None:
        """Ask it to stop after its round; terminate it, then kill it, if it does not."""
        if self.process.pid is None or self.exitcode is not None:
            return
        self._stop.set()
        deadline = time.monotonic() + grace
        while self.process.is_alive() and time.monotonic() < deadline:
            self._drain()  # a child that has queued messages exits only once they are read
            self.process.join(0.2)
        for end in (self.process.terminate, self.process.kill):
            if not self.process.is_alive():
                break
            print(f"[writer] still running: {end.__name__}", file=sys.stderr)
            end()
            self.process.join(5)
        self._drain()
        self.exitcode = self.process.exitcode
        self._messages.close()
        self._messages.join_thread()

    def counts(self) -> dict[str, int]:
        rounds, updates, rebuilds, update_errors, rebuild_errors = self._counts[:]
        return {
            "rounds": rounds,
            "updates": updates,
            "rebuilds": rebuilds,
            "update_errors": update_errors,
            "rebuild_errors": rebuild_errors,
            "errors": update_errors + rebuild_errors,
        }


# ---------------------------------------------------------------------------- server


class SearchHandler(BaseHTTPRequestHandler):
    server: SoakServer

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/search":
            self._send(404, {"error": "not found"})
            return
        query = urllib.parse.parse_qs(url.query).get("q", [""])[0]
        try:
            results = self.server.index.search(query, limit=LIMIT)
            body = {
                "total": results.total,
                "hits": [
                    {
                        "doc_id": h.doc_id,
                        "paragraph": h.paragraph,
                        "score": h.score,
                        "snippet": h.snippet(),
                    }
                    for h in results
                ],
            }
        except Exception as exc:  # any failure is a 500, counted and logged
            message = f"{type(exc).__name__}: {exc}"
            self.server.errors.record(message, exc)
            self._send(500, {"error": message})
            return
        self._send(200, body)

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass


class SoakServer(ThreadingHTTPServer):
    """The stock ThreadingHTTPServer (a new daemon thread per request), serving one Index."""

    request_queue_size = 128  # socketserver's 5 would drop 32 clients' SYNs and add 1 s stalls
    allow_reuse_address = True
    mode = "thread-per-request"

    def __init__(self, index: Any, errors: ErrorLog):
        self.index = index
        self.errors = errors
        super().__init__(("127.0.0.1", 0), SearchHandler)

    def warm(self, query: str) -> None:
        pass

    def stop_workers(self) -> None:
        pass


class PooledServer(SoakServer):
    """ThreadingHTTPServer with a fixed pool of handler threads instead of one per request."""

    mode = "pool"

    def __init__(self, index: Any, errors: ErrorLog, threads: int):
        super().__init__(index, errors)
        self._jobs: queue.Queue = queue.Queue()
        self._warm_query: str | None = None
        self._warmed = threading.Semaphore(0)
        self._pool = [
            threading.Thread(target=self._work, name=f"soak-server-{i}", daemon=True)
            for i in range(threads)
        ]

    def warm(self, query: str) -> None:
        """Start the pool; each thread answers ``query`` once before it takes connections."""
        self._warm_query = query
        for t in self._pool:
            t.start()
        for _ in self._pool:
            if not self._warmed.acquire(timeout=60):
                raise RuntimeError("the server's threads did not warm up within 60 s")

    def _work(self) -> None:
        try:
            assert self._warm_query is not None
            _ = self.index.search(self._warm_query, limit=LIMIT).total
        except Exception as exc:
            self.errors.record(f"warm-up: {type(exc).__name__}: {exc}", exc)
        self._warmed.release()
        while (job := self._jobs.get()) is not None:
            self.process_request_thread(*job)  # finish_request + shutdown_request, errors logged

    def process_request(self, request: Any, client_address: Any) -> None:
        self._jobs.put((request, client_address))

    def stop_workers(self, timeout: float = 10.0) -> None:
        for _ in self._pool:
            self._jobs.put(None)
        deadline = time.monotonic() + timeout
        for t in self._pool:
            if t.is_alive():
                t.join(max(0.0, deadline - time.monotonic()))
        while True:  # connections accepted but never handled: close them
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                self.shutdown_request(job[0])


class AppServer:
    """``nato-search serve --http`` in its own process: the shipped app, as users run it."""

    mode = "app"

    def __init__(self, index: Path, log: Path):
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.log = log
        command = [sys.executable, "-m", "nato_search", "serve", "--http", f"127.0.0.1:{port}"]
        with open(log, "wb") as output:
            self.process = subprocess.Popen(
                [*command, "--index", str(index)],
                env=checkout_env(),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C goes to this process, which stops it
            )
        self.pid: int | None = self.process.pid
        self.errors = ErrorLog("server")

    def warm(self, query: str, timeout: float = 60.0) -> None:
        if not answers(f"{self.base}/health", self.process, timeout):
            raise RuntimeError(f"the server did not start; see {self.log}")

    def count_errors(self) -> None:
        """The app logs each failed request with its traceback: count them."""
        text = self.log.read_text("utf-8", errors="replace")
        for line in text.splitlines():
            if line.startswith("nato-search: ") and " failed" in line:
                self.errors.record(line)

    def shutdown(self) -> None:
        stop_process(self.process, grace=15)

    stop_workers = server_close = shutdown


# --------------------------------------------------------------------------- clients


def app_request(
    base: str, rng: random.Random, queries: Sequence[str], docs: Sequence[tuple]
) -> tuple:
    """One request of the app's mix: (kind, url, headers)."""
    query = rng.choice(queries)
    doc_id, year = rng.choice(docs)
    kind = rng.choice(APP_KINDS)
    params: dict[str, Any] = {"q": query}
    if kind == "filter":
        if year and rng.random() < 0.5:
            params["q"] = f"{query} date:{year}"  # the query language's date filter
        else:
            params["filter"] = f"doc_id:{doc_id}"
    elif kind == "facets":
        params["facets"] = "year,doc_id"
    elif kind == "prefix":
        params = {"q": query[: max(3, len(query) - 2)], "prefix": "true"}
    elif kind == "page":
        params["offset"] = 10
    if kind in ("document", "document-html"):
        url = f"{base}/documents/{urllib.parse.quote(doc_id, safe='')}"
        url += "?" + urllib.parse.urlencode({"q": query}) if kind == "document-html" else ""
        return kind, url, {"Accept": "text/html"} if kind == "document-html" else {}
    return kind, f"{base}/search?" + urllib.parse.urlencode(params), {}


APP_KINDS = ["search"] * 6 + ["filter", "facets", "prefix", "page", "document", "document-html"]


def well_formed(kind: str, body: bytes) -> bool:
    if kind == "document-html":
        return b'<p id="p-0"' in body
    answer = json.loads(body)
    if kind == "document":
        return isinstance(answer, dict) and bool(answer.get("paragraphs"))
    if kind == "facets" and not isinstance(answer.get("facets"), dict):
        return False
    return isinstance(answer, dict) and "total" in answer and "hits" in answer


def soak_clients(
    base: str,
    queries: Sequence[str],
    n: int,
    seconds: float,
    seed: int,
    docs: Sequence[tuple[str, int | None]] = (),
) -> Clients:
    """``n`` client threads requesting ``base`` over ``queries``, a new connection each time;
    with ``docs``, the (id, year) of the documents, the app's mix of requests."""

    def pick(rng: random.Random) -> tuple[str, str, dict[str, str]]:
        if docs:
            return app_request(base, rng, queries, docs)
        return "search", f"{base}/search?" + urllib.parse.urlencode({"q": rng.choice(queries)}), {}

    def send(_: None, request: tuple[str, str, dict[str, str]]) -> tuple[str, int]:
        kind, url, headers = request
        try:
            with urllib.request.urlopen(
                urllib.request.Request(url, headers=headers), timeout=REQUEST_TIMEOUT_S
            ) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read()).get("error", "")
            except Exception:
                detail = exc.reason
            raise HttpError(f"HTTP {exc.code}: {detail}") from None
        if not well_formed(kind, body):
            raise ValueError(f"malformed {kind} answer: {body[:100]!r}")
        return kind, len(body)

    return Clients(pick, send, n, seconds, seed)


# --------------------------------------------------------------------------- process


def open_files(pid: int | None = None) -> int:
    return len(os.listdir(f"/proc/{pid or 'self'}/fd"))


def rss_mib(pid: int | None = None) -> float:
    with open(f"/proc/{pid or 'self'}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(index_path: Path, pid: int | None = None) -> dict:
    gc.collect()
    return {
        "open_files": open_files(pid),
        "rss_mib": round(rss_mib(pid), 1),
        "segments": len(list(index_path.glob("*.seg"))),
    }


# ---------------------------------------------------------------------------- report


def verdict(report: dict) -> list[str]:
    """Why the run failed (an empty list: it passed)."""
    failures = []
    if report["aborted"]:
        failures.append(f"stopped early: {report['aborted']}")
    if report["errors"]:
        failures.append(f"{report['errors']} request errors")
    if report["server_errors"]:
        failures.append(f"{report['server_errors']} server errors")
    if report["writer"]["errors"]:
        failures.append(f"{report['writer']['errors']} writer errors")
    if report["api_writer"]["errors"]:
        failures.append(f"{report['api_writer']['errors']} API writer errors")
    if report["differences"]:
        failures.append(f"the index differs from a fresh build: {report['differences'][:3]}")
    grew, allowed = report["open_files_growth"], report["open_files_allowed"]
    if grew > allowed:
        failures.append(f"open files grew by {grew} (> {allowed})")
    return failures


def open_files_allowed(start: dict, end: dict, fd_margin: int) -> int:
    """The index's pooled searchers each hold one file per segment, and the segment's arrays
    one more: more segments at the end (updates not merged yet) legitimately hold more."""
    return fd_margin + (POOL_SIZE + 1) * max(0, end["segments"] - start["segments"])


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def format_report(r: dict) -> str:
    w, s, e = r["writer"], r["start"], r["end"]
    lines = [
        f"{r['source']}: {r['paragraphs']:,} paragraphs, {r['documents']:,} documents in "
        f"{r['files']} files; {r['clients']} clients for {r['elapsed_s']:g} s; server: {r['server']}; "
        f"rebuild every {r['rebuild_every']} writer rounds",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| requests served | {r['requests']:,} ({r['requests_per_s']:,.1f}/s) |",
        f"| errors | {r['errors']:,} |",
        f"| latency p50 / p99 (ms) | {_ms(r['p50_ms'])} / {_ms(r['p99_ms'])} |",
        f"| index segments start → end | {s['segments']} → {e['segments']} |",
        f"| open files start → end (max) | {s['open_files']} → {e['open_files']} "
        f"({r['max']['open_files']}) |",
        f"| RSS MiB start → end (max) | {s['rss_mib']:,.1f} → {e['rss_mib']:,.1f} "
        f"({r['max']['rss_mib']:,.1f}) |",
        f"| writer rounds / rebuilds | {w['rounds']:,} / {w['rebuilds']:,} |",
        f"| writer errors (update / rebuild) | {w['update_errors']:,} / {w['rebuild_errors']:,} |",
        f"| API adds and deletes, errors | {r['api_writer']['updates']:,}, "
        f"{r['api_writer']['errors']:,} |",
        f"| index equals a fresh build | {'yes' if not r['differences'] else 'NO'} |",
    ]
    for side, messages in (("request", r["error_messages"]), ("writer", w["error_messages"])):
        if messages:
            lines += ["", f"{side} errors, by message:"]
            lines += [f"- {m['count']:,} × {m['message']}" for m in messages]
    lines += ["", "FAIL: " + "; ".join(r["failures"]) if r["failures"] else "PASS"]
    return "\n".join(lines)


def _messages(counts: Counter[str]) -> list[dict]:
    return [{"message": m, "count": c} for m, c in counts.most_common()]


# ------------------------------------------------------------------------------ main


def compare_with_fresh(index: Path, sources: Path, queries: Sequence[str], fresh: Path) -> list:
    """How the long-lived index differs from a fresh build of ``sources`` (empty: not at all)."""
    import nato_search

    documents = list(nato_search.read_documents(sources))
    differences: list[str] = []
    with nato_search.open_index(index) as ix, nato_search.build_index(documents, fresh) as new:
        if (len(ix), ix.documents) != (len(new), new.documents):
            differences.append(
                f"{len(ix)} paragraphs in {ix.documents} documents, not "
                f"{len(new)} in {new.documents}"
            )
        for document in documents:
            found = ix.document(document.id)
            if found is None or (found.title, found.paragraphs) != (
                document.title,
                document.paragraphs,
            ):
                differences.append(f"document {document.id!r}")
        for query in queries:
            here, there = ix.search(query, limit=LIMIT), new.search(query, limit=LIMIT)
            if (here.total, _ranked(here)) != (there.total, _ranked(there)):
                differences.append(f"query {query!r}")
    return differences


def _ranked(results: Any) -> list[tuple[str, int, float]]:
    return [(hit.doc_id, hit.paragraph, round(hit.score, 6)) for hit in results]


def shutdown(
    clients: Clients | None,
    writers: Sequence[Writer],
    server: SoakServer | AppServer | None,
    serving: threading.Thread | None,
    ix: Any,
    workdir: Path,
) -> None:
    """Stop whatever was started, each step even if an earlier one failed; remove ``workdir``."""
    steps: list[Callable[[], None]] = []
    if clients is not None:  # a request in flight ends within its timeout
        steps.append(functools.partial(clients.stop, REQUEST_TIMEOUT_S + 5))
    steps += [writer.stop for writer in writers]
    if server is not None:
        if serving is not None and serving.is_alive():
            steps += [server.shutdown, lambda: serving.join(10)]
        steps += [server.stop_workers, server.server_close]
    if ix is not None:
        steps.append(ix.close)
    steps.append(lambda: shutil.rmtree(workdir, ignore_errors=True))
    for step in steps:
        try:
            step()
        except Exception as exc:
            print(f"while stopping: {type(exc).__name__}: {exc}", file=sys.stderr)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    doc = __doc__ or ""
    ap = argparse.ArgumentParser(
        description=doc.split("\n\n")[0],
        epilog=doc[doc.index("Exit status:") :],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_CORPUS,
        help="OrangeSum paragraphs .jsonl.gz (default: %(default)s)",
    )
    ap.add_argument(
        "--seeds", action="store_true", help="index the bundled seeds/ instead of the corpus"
    )
    ap.add_argument(
        "--paragraphs",
        type=int,
        default=DEFAULT_PARAGRAPHS,
        metavar="N",
        help="first N paragraphs of the corpus (default: %(default)s)",
    )
    ap.add_argument(
        "--files",
        type=int,
        default=DEFAULT_FILES,
        metavar="N",
        help="source files the corpus documents are split into (default: %(default)s)",
    )
    ap.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="(default: %(default)s)")
    ap.add_argument(
        "--clients", type=int, default=DEFAULT_CLIENTS, help="client threads (default: %(default)s)"
    )
    ap.add_argument(
        "--server",
        choices=["app", "pool", "thread-per-request"],
        default="app",
        help="app: `nato-search serve --http`; pool, thread-per-request: Index.search behind "
        "a stdlib server in this process, on a pool of --clients threads or one thread per "
        "request (default: %(default)s)",
    )
    ap.add_argument(
        "--rebuild-every",
        type=int,
        default=DEFAULT_REBUILD_EVERY,
        metavar="K",
        help="the writer runs a --rebuild every K rounds; 0: never (default: %(default)s)",
    )
    ap.add_argument(
        "--fd-margin",
        type=int,
        default=DEFAULT_FD_MARGIN,
        metavar="N",
        help="open files may grow by at most N over the run (default: %(default)s)",
    )
    ap.add_argument(
        "--max-rss-mib",
        type=int,
        default=DEFAULT_MAX_RSS_MIB,
        metavar="MIB",
        help="safety stop: end the run early (and fail it) if the server's RSS passes this; "
        "0: no limit (default: %(default)s)",
    )
    ap.add_argument(
        "--queries",
        type=int,
        default=DEFAULT_QUERIES,
        metavar="N",
        help="keyword queries and questions in the client's list, N of each (default: %(default)s)",
    )
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="query-set and client seed")
    ap.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="PATH",
        help="the report as JSON: on stdout (the table then goes to stderr), or into PATH",
    )
    args = ap.parse_args(argv)
    for name in ("paragraphs", "files", "clients", "queries"):
        if getattr(args, name) < 1:
            ap.error(f"--{name} must be at least 1")
    if args.seconds <= 0:
        ap.error("--seconds must be positive")
    if args.rebuild_every < 0 or args.fd_margin < 0:
        ap.error("--rebuild-every and --fd-margin cannot be negative")
    if args.max_rss_mib < 0:
        ap.error("--max-rss-mib cannot be negative")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.seeds and not args.corpus.is_file():
        print(
            f"corpus not found at {args.corpus}; skipping the soak benchmark "
            "(pass --corpus PATH to point at a copy, or --seeds for the bundled seeds)."
        )
        return 0
    to_json_stdout = args.json == "-"
    out = sys.stderr if to_json_stdout else sys.stdout

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    import nato_search

    workdir = Path(tempfile.mkdtemp(prefix="nato-soak-"))
    sources, index_path = workdir / "sources", workdir / "index"
    sources.mkdir()
    ix: Any = None
    server: SoakServer | AppServer | None = None
    serving: threading.Thread | None = None
    writers: list[Writer] = []
    clients: Clients | None = None
    aborted: str | None = None
    try:
        if args.seeds:
            for page in sorted(SEEDS.glob("*.txt")):
                shutil.copy2(page, sources / page.name)
            paragraphs = seed_paragraphs(sources)
            documents, source = len(list(sources.iterdir())), f"seeds ({SEEDS})"
        else:
            paragraphs = read_paragraphs(args.corpus, args.paragraphs)
            documents, source = write_sources(paragraphs, sources, args.files), str(args.corpus)
        queries = make_queries(paragraphs, args.queries, args.seed)
        query_texts = [q["text"] for kind in ("keyword", "question") for q in queries[kind]]
        files = len(list(sources.iterdir()))
        say(f"building the index of {len(paragraphs):,} paragraphs in {files} files ...")
        t0 = time.perf_counter()
        # In another process, like every write: the server's RSS is then its own.
        subprocess.run(
            index_command(sources, index_path, rebuild=False),
            env=checkout_env(),
            stdout=subprocess.DEVNULL,
            check=True,
            timeout=3600,
        )
        build_s = time.perf_counter() - t0

        docs = [
            (d.id, d.date.year if d.date else None) for d in nato_search.read_documents(sources)
        ]
        if args.server == "app":
            server = AppServer(index_path, workdir / "server.log")
            base, pid = server.base, server.pid
        else:
            ix = nato_search.open_index(index_path)  # the one Index of the whole run
            server_errors = ErrorLog("server")
            if args.server == "thread-per-request":
                server = SoakServer(ix, server_errors)
            else:
                server = PooledServer(ix, server_errors, args.clients)
            serving = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="soak-server"
            )
            serving.start()
            host, port = server.server_address[:2]
            base, pid = f"http://{host}:{port}", None
        server.warm(query_texts[0])
        for q in query_texts[:10]:  # a few answers over HTTP, so the whole path is warm
            with urllib.request.urlopen(
                f"{base}/search?" + urllib.parse.urlencode({"q": q}), timeout=REQUEST_TIMEOUT_S
            ) as response:
                response.read()
        start = measure(index_path, pid)
        peak = dict(start)

        writers = [
            Writer(sources, index_path, args.rebuild_every),
            Writer(sources, index_path, 0, role="api"),
        ]
        for writer in writers:
            writer.start()
        mix = docs if args.server == "app" else ()
        clients = soak_clients(base, query_texts, args.clients, args.seconds, args.seed, mix)
        say(
            f"serving {base} to {args.clients} clients for {args.seconds:g} s "
            f"({server.mode}); writer pids {[w.process.pid for w in writers]} ..."
        )
        clients.start()

        def tick() -> None:
            nonlocal aborted
            rss = round(rss_mib(pid), 1)
            peak["open_files"] = max(peak["open_files"], open_files(pid))
            peak["rss_mib"] = max(peak["rss_mib"], rss)
            for writer in writers:
                writer.poll()
            if args.max_rss_mib and rss > args.max_rss_mib and not aborted:
                aborted = f"RSS {rss:,.0f} MiB passed --max-rss-mib {args.max_rss_mib}"
                say(f"{aborted} after {time.monotonic() - clients.started:.0f} s; stopping")
                clients.stop_event.set()

        clients.wait(tick)
        tick()
        for writer in writers:
            writer.stop()
        # the last commit's readers replace older ones
        with urllib.request.urlopen(
            f"{base}/search?" + urllib.parse.urlencode({"q": query_texts[0]}),
            timeout=REQUEST_TIMEOUT_S,
        ) as response:
            response.read()
        end = measure(index_path, pid)
        elapsed = clients.ended - clients.started
        say("comparing the index with a fresh build of its sources ...")
        differences = compare_with_fresh(index_path, sources, query_texts, workdir / "fresh")
        if isinstance(server, AppServer):
            server.count_errors()
    except KeyboardInterrupt:
        say("interrupted; stopping")
        return 130
    finally:
        shutdown(clients, writers, server, serving, ix, workdir)

    assert clients is not None and len(writers) == 2 and server is not None
    writer, api_writer = writers
    latencies = sorted(clients.latencies_ms)
    request_errors = clients.errors.counts
    report = {
        "source": source,
        "paragraphs": len(paragraphs),
        "documents": documents,
        "files": files,
        "build_s": round(build_s, 2),
        "queries": len(query_texts),
        "clients": args.clients,
        "seconds": args.seconds,
        "elapsed_s": round(elapsed, 2),
        "server": server.mode,
        "rebuild_every": args.rebuild_every,
        "requests": clients.served,
        "requests_by_kind": dict(clients.kinds),
        "errors": clients.errors.total,
        "error_messages": _messages(request_errors),
        "server_errors": server.errors.total,
        "server_error_messages": _messages(server.errors.counts),
        "requests_per_s": round(clients.served / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "start": start,
        "end": end,
        "max": peak,
        "open_files_growth": end["open_files"] - start["open_files"],
        "open_files_allowed": open_files_allowed(start, end, args.fd_margin),
        "rss_growth_mib": round(end["rss_mib"] - start["rss_mib"], 1),
        "writer": {
            **writer.counts(),
            "exitcode": writer.exitcode,
            "error_messages": _messages(writer.errors),
        },
        "api_writer": {
            **api_writer.counts(),
            "exitcode": api_writer.exitcode,
            "error_messages": _messages(api_writer.errors),
        },
        "differences": differences,
        "fd_margin": args.fd_margin,
        "max_rss_mib": args.max_rss_mib,
        "aborted": aborted,
        "machine": machine_info(),
    }
    report["failures"] = verdict(report)
    report["ok"] = not report["failures"]

    print(format_report(report), file=out)
    if args.json:
        text = json.dumps(report, indent=2, ensure_ascii=False)
        if to_json_stdout:
            print(text)
        else:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
