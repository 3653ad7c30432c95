"""HTTP benchmark: the search API over loopback, against the same searches called directly.

    python benchmarks/http_load.py                           # 50,000 OrangeSum paragraphs, 30 s a row
    python benchmarks/http_load.py --seeds --seconds 2       # the bundled seeds (tiny)
    python benchmarks/http_load.py --index PATH              # build the index there, or reuse it
    python benchmarks/http_load.py --json out.json           # the report as JSON (``-``: stdout)

Setup. The first ``--paragraphs`` paragraphs of the OrangeSum corpus (read as
soak.py reads them) are written as JSONL files and indexed by the CLI in a
subprocess; queries are speed.py's (keyword queries and questions drawn from the
indexed text with a fixed seed). If the corpus file is missing (and neither
``--seeds`` is given), the benchmark says so and exits 0: a skip. With ``--index``,
the index is kept there, and a later run with the same options reuses it.

Rows, one after the other on the same index, each in a process of its own so
that its open files and RSS are its own (summed over a server's worker processes):

* ``direct``: ``--clients`` threads call ``Index.search(q, limit=10)`` and build the
  same JSON the app sends (``nato_search.web.results_json``, serialized): the work
  without HTTP.
* ``serve --http, N worker(s)``: ``nato-search serve --http`` (uvicorn running
  ``nato_search.web``), for each N of ``--workers``.
* ``serve --http, 1 worker: POST /search`` and ``…: POST /multi-search, 3 queries``: the
  same server asked by a JSON body, one search or three (a page's hits, its next page
  and a facet) a request.
* ``serve --http, 1 worker: write mix, 1 in 10 a PUT``: the same server with an API key,
  on a copy of the index: every tenth request replaces one of 50 documents
  (``PUT /documents/{id}``, one commit each, answered once the next search sees it),
  the others search; searches and writes a second are reported apart.
* ``stdlib, pool of C threads``: soak.py's ``ThreadingHTTPServer`` with a fixed
  pool of ``--clients`` handler threads, answering the same JSON body as the app.

For an HTTP row, ``--clients`` threads of this process each keep one connection
open (reopened when the server closes it: the stdlib server speaks HTTP/1.0) and
send ``GET /search?q=...&limit=10`` for ``--seconds``, after ``--warm`` seconds of
the same load that are not counted. A request counts as served when the answer
is a 200 whose JSON body holds ``total`` and ``hits``; anything else, a
connection error or a timeout is an error. Open files (``/proc/PID/fd``) and RSS
(``VmRSS``) are read after the warm-up (start) and after the clients stopped (end).

Exit status: 1 if any row had an error, else 0 (also 0 for a skip).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # speed.py, soak.py, http_client.py
from http_client import Clients, ErrorLog, answers, free_port, percentile, stop_process  # noqa: E402
from soak import (  # noqa: E402
    SEEDS,
    PooledServer,
    SearchHandler,
    checkout_env,
    index_command,
    seed_paragraphs,
    write_sources,
)
from speed import DEFAULT_CORPUS, REPO_ROOT, machine_info, make_queries, read_paragraphs  # noqa: E402

if str(REPO_ROOT) not in sys.path:  # benchmark the checkout, as speed.py does
    sys.path.insert(1, str(REPO_ROOT))

DEFAULT_PARAGRAPHS = 50_000
DEFAULT_FILES = 20
DEFAULT_SECONDS = 30.0
DEFAULT_WARM = 3.0
DEFAULT_CLIENTS = 32
DEFAULT_QUERIES = 50
DEFAULT_SEED = 1789
LIMIT = 10
TIMEOUT_S = 30.0
START_TIMEOUT_S = 120.0


# --------------------------------------------------------------------------- load


def load_row(
    send: Callable[[Any, str], tuple[str, int]],
    connect: Callable[[], Any],
    pid: int,
    args: argparse.Namespace,
    queries: Sequence[str],
) -> dict[str, Any]:
    """``--clients`` threads sending ``send(connection, query)``: ``--warm`` seconds not
    counted, then ``--seconds`` measured; process ``pid``'s open files and RSS around them."""

    def run(seconds: float, seed: int) -> Clients:
        return Clients(
            lambda rng: rng.choice(queries), send, args.clients, seconds, seed, connect
        ).run()

    run(args.warm, args.seed - 1)
    start = measure(pid)
    clients = run(args.seconds, args.seed)
    end = measure(pid)
    served = sorted(clients.latencies_ms)
    elapsed = clients.ended - clients.started
    return {
        "requests": len(served),
        "elapsed_s": round(elapsed, 2),
        "requests_per_s": round(len(served) / elapsed, 1),
        "errors": clients.errors.total,
        "error_messages": dict(clients.errors.counts.most_common(5)),
        "p50_ms": percentile(served, 50),
        "p99_ms": percentile(served, 99),
        "bytes_per_answer": round(statistics.mean(clients.sizes)) if clients.sizes else None,
        "per_s_by_kind": {kind: round(n / elapsed, 1) for kind, n in sorted(clients.kinds.items())},
        "start": start,
        "end": end,
    }


def http_send(connection: http.client.HTTPConnection, query: str) -> tuple[str, int]:
    """GET /search for ``query``: a well-formed answer's kind and size."""
    params = urllib.parse.urlencode({"q": query, "limit": LIMIT})
    connection.request("GET", f"/search?{params}")
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {body[:200]!r}")
    answer = json.loads(body)
    if "total" not in answer or "hits" not in answer:
        raise RuntimeError(f"malformed answer: {body[:200]!r}")
    return "search", len(body)


def posted(
    path: str, body: Callable[[str], Any], key: str
) -> Callable[[Any, str], tuple[str, int]]:
    """POST ``body(query)`` as JSON to ``path``; a well-formed answer holds ``key``."""

    def send(connection: http.client.HTTPConnection, query: str) -> tuple[str, int]:
        payload = json.dumps(body(query))
        connection.request("POST", path, payload, {"Content-Type": "application/json"})
        return path, len(checked(connection, key))

    return send


def checked(connection: http.client.HTTPConnection, key: str, what: str = "") -> bytes:
    """The answer's body: a 200 whose JSON holds ``key``, else a RuntimeError saying what."""
    response = connection.getresponse()
    answer = response.read()
    if response.status != 200 or key not in json.loads(answer):
        raise RuntimeError(f"{what}HTTP {response.status}: {answer[:200]!r}")
    return answer


POSTED = {
    "POST /search": posted("/search", lambda q: {"q": q, "limit": LIMIT}, "hits"),
    # a page with three blocks: the hits, the next page, the facets alone
    "POST /multi-search, 3 queries": posted(
        "/multi-search",
        lambda q: {
            "queries": [
                {"q": q, "limit": LIMIT},
                {"q": q, "limit": LIMIT, "offset": LIMIT},
                {"q": q, "limit": 1, "facets": ["year"]},
            ]
        },
        "results",
    ),
}


PLURAL = {"search": "searches", "write": "writes"}
WRITE_EVERY = 10
"""One request in this many of the write mix is a PUT."""
WRITTEN_DOCUMENTS = 50
"""The documents the write mix replaces, over and over."""
BENCH_KEY = "http-load-benchmark-key"
"""The API key of the write mix's server (a local benchmark's: nothing to keep secret)."""


def write_mix() -> Callable[[Any, str], tuple[str, int]]:
    """Every ``WRITE_EVERY``-th request (over all clients) replaces a document with the
    query as its text; the others search. Every request carries the API key."""
    numbers = itertools.count()  # next() on a count is atomic under the GIL
    auth = {"Authorization": f"Bearer {BENCH_KEY}"}

    def send(connection: http.client.HTTPConnection, query: str) -> tuple[str, int]:
        n = next(numbers)
        if n % WRITE_EVERY:
            params = urllib.parse.urlencode({"q": query, "limit": LIMIT})
            connection.request("GET", f"/search?{params}", headers=auth)
            kind, key = "search", "hits"
        else:
            doc_id = f"bench-{n // WRITE_EVERY % WRITTEN_DOCUMENTS}"
            body = json.dumps({"title": "Note", "date": "2024-01-01", "text": query})
            headers = {**auth, "Content-Type": "application/json"}
            connection.request("PUT", f"/documents/{doc_id}", body, headers)
            kind, key = "write", "documents"
        return kind, len(checked(connection, key, f"{kind}: "))

    return send


# --------------------------------------------------------------------------- processes


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's workers are children of its supervisor)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
    return pids


def measure(pid: int) -> dict[str, Any]:
    files, rss_kib = 0, 0
    for member in process_tree(pid):
        try:
            files += len(os.listdir(f"/proc/{member}/fd"))
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        rss_kib += next(int(line.split()[1]) for line in status.splitlines() if "VmRSS" in line)
    return {
        "open_files": files,
        "rss_mib": round(rss_kib / 1024, 1),
        "processes": len(process_tree(pid)),
    }


def http_row(
    name: str,
    command: list[str],
    port: int | None,
    args: argparse.Namespace,
    queries: list[str],
    send: Callable[[Any, str], tuple[str, int]] = http_send,
    env: dict[str, str] | None = None,
    ready: str = "/search?q=otan",
) -> dict[str, Any]:
    """A server started by ``command`` on ``port`` (None: the server prints the port it got),
    in ``checkout_env()`` and ``env``, once ``ready`` answers."""
    output = subprocess.PIPE if port is None else subprocess.DEVNULL
    environment = {**checkout_env(), **(env or {})}
    process = subprocess.Popen(command, env=environment, stdout=output, text=True)
    try:
        if port is None:
            assert process.stdout is not None
            port = int(process.stdout.readline())
        if not answers(f"http://127.0.0.1:{port}{ready}", process, START_TIMEOUT_S):
            raise RuntimeError(f"the server on port {port} did not start")

        def connect() -> http.client.HTTPConnection:
            return http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)

        row = load_row(send, connect, process.pid, args, queries)
    finally:
        stop_process(process, grace=30)
    return {"server": name, **row}


def direct_row(index: Path, args: argparse.Namespace, queries: list[str]) -> dict[str, Any]:
    """The direct row, in a process of its own (this script with ``--role direct``)."""
    command = [sys.executable, __file__, "--role", "direct", "--index", str(index)]
    command += ["--clients", str(args.clients), "--seconds", str(args.seconds)]
    command += ["--warm", str(args.warm), "--seed", str(args.seed)]
    answer = subprocess.run(
        command,
        env=checkout_env(),
        input=json.dumps(queries),
        capture_output=True,
        text=True,
        check=True,
        timeout=START_TIMEOUT_S + 2 * (args.seconds + args.warm),
    )
    return dict(json.loads(answer.stdout))


def run_direct(args: argparse.Namespace) -> int:
    """``--role direct``: the same searches and JSON, no HTTP; the report on stdout."""
    import nato_search
    from nato_search.web.app import results_json

    queries = json.loads(sys.stdin.read())
    with nato_search.open_index(args.index) as ix:

        def send(_: None, query: str) -> tuple[str, int]:
            answer = results_json(ix.search(query, LIMIT))
            return "search", len(json.dumps(answer, ensure_ascii=False).encode())

        row = load_row(send, lambda: None, os.getpid(), args, queries)
    print(json.dumps({"server": "direct", **row}))
    return 0


class SameBodyHandler(SearchHandler):
    """soak.py's handler, answering the app's JSON body so that only the server differs."""

    def do_GET(self) -> None:
        from nato_search.web.app import results_json

        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query).get("q", [""])[0]
        try:
            body = results_json(self.server.index.search(query, limit=LIMIT))
        except Exception as exc:
            self.server.errors.record(f"{type(exc).__name__}: {exc}", exc)
            self._send(500, {"error": str(exc)})
            return
        self._send(200, body)


def run_stdlib(args: argparse.Namespace) -> int:
    """``--role stdlib``: soak.py's pooled server until SIGTERM; its port on stdout."""
    import nato_search

    with nato_search.open_index(args.index) as ix:
        server = PooledServer(ix, ErrorLog("server"), args.clients)
        server.RequestHandlerClass = SameBodyHandler
        server.warm("otan")
        print(server.server_address[1], flush=True)
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
        server.serve_forever(poll_interval=0.2)
        server.stop_workers()
        server.server_close()
    return 0


# --------------------------------------------------------------------------- report


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"{report['paragraphs']:,} paragraphs ({report['source']}), {report['clients']} clients, "
        f"{report['seconds']:g} s a row, {report['queries']} queries",
        "",
        "| server | requests | req/s | errors | p50 ms | p99 ms | bytes/answer "
        "| open files start → end | RSS MiB start → end |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["rows"]:
        start, end = row["start"], row["end"]
        lines.append(
            f"| {row['server']} | {row['requests']:,} | {row['requests_per_s']:,.1f} "
            f"| {row['errors']} | {row['p50_ms']} | {row['p99_ms']} | {row['bytes_per_answer']:,} "
            f"| {start['open_files']} → {end['open_files']} "
            f"| {start['rss_mib']:,.0f} → {end['rss_mib']:,.0f} |"
        )
    for row in report["rows"]:
        if len(row["per_s_by_kind"]) > 1:
            kinds = ", ".join(
                f"{n:,.1f} {PLURAL[kind]}/s" for kind, n in row["per_s_by_kind"].items()
            )
            lines.append(f"\n{row['server']}: {kinds}")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    doc = __doc__ or ""
    ap = argparse.ArgumentParser(
        description=doc.split("\n\n")[0],
        epilog=doc[doc.index("Exit status:") :],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="OrangeSum .jsonl.gz")
    ap.add_argument("--seeds", action="store_true", help="index the bundled seeds/ instead")
    ap.add_argument("--index", type=Path, help="build the index here, or reuse the one here")
    ap.add_argument("--paragraphs", type=int, default=DEFAULT_PARAGRAPHS)
    ap.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="measured, per row")
    ap.add_argument("--warm", type=float, default=DEFAULT_WARM, help="load before measuring")
    ap.add_argument("--clients", type=int, default=DEFAULT_CLIENTS)
    ap.add_argument(
        "--workers", default="1,2", help="uvicorn worker processes, one row each (default 1,2)"
    )
    ap.add_argument("--queries", type=int, default=DEFAULT_QUERIES, help="of each kind")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--json", nargs="?", const="-", help="write the report as JSON (- : stdout)")
    ap.add_argument("--role", choices=("direct", "stdlib"), help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.role == "direct":
        return run_direct(args)
    if args.role == "stdlib":
        return run_stdlib(args)
    if not (args.seeds or args.corpus.is_file()):
        print(f"corpus not found at {args.corpus}; skipping the HTTP benchmark (--seeds: tiny)")
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="nato-http-"))
    say = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    try:
        if args.seeds:
            paragraphs, source = seed_paragraphs(SEEDS), f"seeds ({SEEDS})"
        else:
            paragraphs, source = read_paragraphs(args.corpus, args.paragraphs), str(args.corpus)
        index = args.index or workdir / "index"
        if not index.exists():
            sources = workdir / "sources"
            sources.mkdir()
            if args.seeds:
                for page in sorted(SEEDS.glob("*.txt")):
                    shutil.copy2(page, sources / page.name)
            else:
                write_sources(paragraphs, sources, DEFAULT_FILES)
            say(f"building the index of {len(paragraphs):,} paragraphs ...")
            subprocess.run(
                index_command(sources, index, rebuild=False),
                env=checkout_env(),
                stdout=subprocess.DEVNULL,
                check=True,
            )
        made = make_queries(paragraphs, args.queries, args.seed)
        queries = [q["text"] for kind in ("keyword", "question") for q in made[kind]]

        rows = []
        say("direct ...")
        rows.append(direct_row(index, args, queries))
        for workers in (int(n) for n in args.workers.split(",")):
            say(f"serve --http, {workers} worker(s) ...")
            port = free_port()
            command = [sys.executable, "-m", "nato_search", "serve", "--index", str(index)]
            command += ["--http", f"127.0.0.1:{port}", "--workers", str(workers)]
            name = f"serve --http, {workers} worker{'s' if workers > 1 else ''}"
            rows.append(http_row(name, command, port, args, queries))
            if workers == 1:  # the same server, asked by POST
                for request, send in POSTED.items():
                    say(f"{request} ...")
                    rows.append(http_row(f"{name}: {request}", command, port, args, queries, send))
                say("write mix ...")
                written = workdir / "index-writes"  # the index given stays as it is
                shutil.copytree(index, written)
                mixed = [arg if arg != str(index) else str(written) for arg in command]
                rows.append(
                    http_row(
                        f"{name}: write mix, 1 in {WRITE_EVERY} a PUT",
                        mixed,
                        port,
                        args,
                        queries,
                        write_mix(),
                        env={"NATO_SEARCH_API_KEY": BENCH_KEY},
                        ready="/health",
                    )
                )
        say("stdlib ...")
        command = [sys.executable, __file__, "--role", "stdlib", "--index", str(index)]
        command += ["--clients", str(args.clients)]
        name = f"stdlib, pool of {args.clients} threads"
        rows.append(http_row(name, command, None, args, queries))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    report = {
        "source": source,
        "paragraphs": len(paragraphs),
        "clients": args.clients,
        "seconds": args.seconds,
        "queries": len(queries),
        "machine": machine_info(),
        "rows": rows,
    }
    if args.json == "-":
        print(json.dumps(report, indent=2))
    else:
        print(format_report(report))
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 1 if any(row["errors"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
