"""Speed benchmark: nato-search against stock peers on OrangeSum news paragraphs.

    python benchmarks/speed.py                                  # 10k, 50k, all; every system
    python benchmarks/speed.py --sizes 10000 --systems nato-search,whoosh-fr
    python benchmarks/speed.py --sizes 10000,50000 --queries 100 --json out.json
    python benchmarks/speed.py --systems nato-search --backend xapian --shards 1,2,4
    python benchmarks/speed.py --systems nato-search,whoosh-fr --workers 1   # + a one-process build

Corpus: ``../shared/corpora/orangesum-paragraphs.jsonl.gz`` beside the repo (one
JSON object a line: ``doc``, ``date``, ``title``, ``i``, ``text``). A size of N
takes the first N paragraphs in file order, and consecutive paragraphs of the
same ``doc`` become one document (a ``doc`` id met again later gets a suffix,
so ids stay unique). Peers index the same paragraphs, one row each with the
document's title, and store id, title, text and date as nato-search does.

Systems: ``nato-search`` (the checkout, not an installed copy), ``whoosh-fr``
(stock Whoosh: ``LanguageAnalyzer("fr")``, one default writer), ``sqlite-fts5``
(``unicode61 remove_diacritics 2``, on disk, ``ORDER BY rank``), ``bm25s``
(unidecode folding, French stopwords, PyStemmer; saved with ``model.save``) and
``tantivy`` (its Python bindings; an ``fr_stem`` analyzer registered from its
own filters: simple tokenizer, lowercase, French stopwords and stemmer, ASCII
folding). A peer that cannot be imported is a "skipped" row.

Every (system, size) is measured in fresh processes, so peak memory is clean
and no system profits from another's caches:

* build job: reads the slice, then times indexing it to disk (paragraphs/s),
  measures the index size on disk and the peak memory up to the end of the build
  (the summed RSS of the process and its descendants, sampled every 50 ms, so
  that worker processes count together; or ``ru_maxrss`` of the process or of
  a child, if larger), then answers every query
  on the open index, ``limit=10``, and reports p50/p95 latency per query kind.
  nato-search's timing includes ``hit.snippet()`` for every hit; peers only
  fetch the stored id and text of their hits (no highlighting).
* cold job: a new process opens the index already on disk and answers the
  first keyword query; "cold ms" is open + first answer (imports excluded and
  reported apart in the JSON). The OS page cache is warm: this is a process
  cold start, not a disk cold start.
* add job (nato-search, largest size only): times ``ix.add(documents)`` for
  1,000 more paragraphs (those after the slice; for "all", copies of the first
  1,000 under new ids) and reports it as a share of the full build time.

Query set, generated once in this process from the smallest slice (so every
query has answers at every size) with ``random.Random(seed)``, then handed to
every job as the same JSON file:

* keyword queries: pick a paragraph; among its distinct words, keep the
  frequent-but-not-stopword ones (letters only, >= 4 chars, among the 3,000
  most frequent of the slice after removing Whoosh's French stoplist plus a
  few extra function words); take 2-4 of them in text order. Query i with
  i % 4 == 1 is written without accents (unidecode); query i with i % 8 == 2
  gets a one-letter typo in a word of >= 6 letters (deletion or transposition
  of two neighbours, never the first or last letter).
* questions: pick a paragraph, one of its sentences with >= 8 words, then
  5-9 of its words kept in order, prefixed with an interrogative
  (Pourquoi, Comment, Qui, Quand, Où, Combien, Quel, Que) and ended with " ?".

Ratios ("×wh") are speed-ups over stock Whoosh at the same size: whoosh's time
divided by the system's, so 3.0 means three times faster. The machine may be
busy with other work, so absolute timings are noisy; ratios are the figures
to compare.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import gzip
import json
import os
import platform
import random
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # peers/, beside this script
from peers import (  # noqa: E402
    Bm25s,
    NatoSearch,
    Peer,
    SqliteFts5,
    SystemUnavailable,
    Tantivy,
    WhooshFrench,
)

# How these paragraphs become documents, for soak.py, durability.py and app_options.py too.
from peers import group_documents as group_documents  # noqa: E402
from peers import parse_date as parse_date  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpora" / "orangesum-paragraphs.jsonl.gz"
SYSTEMS = ("nato-search", "whoosh-fr", "sqlite-fts5", "bm25s", "tantivy")
DEFAULT_SIZES = "10000,50000,all"
DEFAULT_QUERIES = 200
DEFAULT_SEED = 1789
ADD_PARAGRAPHS = 1000
K = 10
JOB_TIMEOUT_S = 4 * 3600

INTERROGATIVES = ("Pourquoi", "Comment", "Qui", "Quand", "Où", "Combien", "Quel", "Que")
# Function words Whoosh's French stoplist lacks; they make poor keywords.
EXTRA_STOPWORDS = frozenset(
    "les ils elles cette cet ces dont tout tous toute toutes plus aussi tres apres avant "
    "depuis sans sous entre alors encore comme selon etre avoir fait faire peut deux trois "
    "lors ainsi donc car ceux celle celui leurs quand quel quelle quels quelles".split()
)
OPERATORS = frozenset({"OR", "AND", "NOT"})  # never put query syntax into generated queries
_LETTERS = re.compile(r"[^\W\d_]+")
_QWORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_SENTENCE = re.compile(r"[^.!?…]+[.!?…]*")


@dataclass(frozen=True)
class Paragraph:
    doc: str
    i: int
    title: str
    date: str | None  # ISO date as in the file; parsed where a Document is made
    text: str

    @property
    def uid(self) -> str:
        return f"{self.doc}/{self.i}"


# --------------------------------------------------------------------------- data


def read_paragraphs(path: Path, limit: int | None = None) -> list[Paragraph]:
    """The first ``limit`` paragraphs of the corpus, in file order."""
    out: list[Paragraph] = []
    seen_docs: dict[str, int] = {}
    previous = None
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if limit is not None and len(out) >= limit:
                break
            if not line.strip():
                continue
            r = json.loads(line)
            doc = str(r.get("doc", ""))
            if doc != previous:  # a new run of paragraphs: a new document
                n = seen_docs.get(doc, 0)
                seen_docs[doc] = n + 1
                previous = doc
            run = seen_docs[doc] - 1
            doc_id = doc if run == 0 else f"{doc}~{run}"
            out.append(
                Paragraph(
                    doc_id,
                    int(r.get("i", 0) or 0),
                    str(r.get("title") or ""),
                    str(r["date"]) if r.get("date") else None,
                    str(r.get("text") or ""),
                )
            )
    return out


def count_paragraphs(path: Path) -> int:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return sum(1 for line in f if line.strip())


# ------------------------------------------------------------------------ queries


def _fold(text: str) -> str:
    from unidecode import unidecode

    return unidecode(text)


def stopwords() -> frozenset[str]:
    from whoosh.lang.stopwords import stoplists

    return frozenset(_fold(w) for w in stoplists["fr"]) | EXTRA_STOPWORDS


def _typo(word: str, rng: random.Random) -> str:
    j = rng.randrange(1, len(word) - 2)  # interior: never the first or last letter
    if rng.random() < 0.5 or word[j] == word[j + 1]:
        return word[:j] + word[j + 1 :]  # deletion
    return word[:j] + word[j + 1] + word[j] + word[j + 2 :]  # transposition


def make_queries(paragraphs: Sequence[Paragraph], n: int, seed: int) -> dict[str, list[dict]]:
    """``n`` keyword queries and ``n`` questions drawn from ``paragraphs`` (see the module doc)."""
    rng = random.Random(seed)
    stop = stopwords()
    counts = Counter(w for p in paragraphs for w in _LETTERS.findall(p.text.lower()) if len(w) >= 4)
    pool = {w for w, c in counts.most_common() if c >= 2 and _fold(w) not in stop}
    pool = set(sorted(pool, key=lambda w: (-counts[w], w))[:3000])
    if not pool or not paragraphs:
        raise ValueError("corpus slice too small to draw queries from")
    budget = 1000 * max(n, 1)

    keyword: list[dict] = []
    while len(keyword) < n:
        budget -= 1
        if budget < 0:
            raise ValueError("corpus slice too small to draw keyword queries from")
        i = len(keyword)
        p = rng.choice(paragraphs)
        words = list(dict.fromkeys(w for w in _LETTERS.findall(p.text.lower()) if w in pool))
        if len(words) < 2:
            continue
        picks = sorted(rng.sample(range(len(words)), min(len(words), rng.randint(2, 4))))
        chosen = [words[j] for j in picks]
        folded, typo = i % 4 == 1, i % 8 == 2
        if typo:
            long_words = [j for j, w in enumerate(chosen) if len(w) >= 6]
            if not long_words:
                continue
            j = rng.choice(long_words)
            chosen[j] = _typo(chosen[j], rng)
        if folded:
            chosen = [_fold(w) for w in chosen]
        keyword.append({"text": " ".join(chosen), "folded": folded, "typo": typo, "from": p.uid})

    question: list[dict] = []
    while len(question) < n:
        budget -= 1
        if budget < 0:
            raise ValueError("corpus slice too small to draw questions from")
        p = rng.choice(paragraphs)
        sentences = [
            ws
            for s in _SENTENCE.findall(p.text)
            if len(ws := [w for w in _QWORD.findall(s) if w not in OPERATORS]) >= 8
        ]
        if not sentences:
            continue
        words = rng.choice(sentences)
        keep = sorted(rng.sample(range(len(words)), min(len(words), rng.randint(5, 9))))
        text = f"{rng.choice(INTERROGATIVES)} {' '.join(words[j] for j in keep)} ?"
        question.append({"text": text, "from": p.uid})
    return {"keyword": keyword, "question": question}


# ----------------------------------------------------------------------- systems


# nato-search makes every hit's snippet, as the app does; bm25s as its figures were measured.
ADAPTERS: dict[str, Callable[[], Peer]] = {
    "nato-search": functools.partial(NatoSearch, snippets=True),
    "whoosh-fr": WhooshFrench,
    "sqlite-fts5": SqliteFts5,
    "bm25s": functools.partial(Bm25s, threads=1),
    "tantivy": Tantivy,
}
XAPIAN_SYSTEM = "nato-search-xapian-"
"""Prefix of the rows for nato-search on N Xapian shards (``--backend xapian --shards N``)."""
WORKERS_SYSTEM = "nato-search-workers-"
"""Prefix of the rows for nato-search built by N processes (``--workers N``); the
``nato-search`` row is build_index's default (one process per core)."""


VECTORS_SYSTEM = "nato-search-vectors"
"""The row for nato-search with word vectors (``--vectors``; the ``vectors`` extra)."""


def adapter(system: str) -> Peer:
    if system == VECTORS_SYSTEM:
        return NatoSearch(vectors="", snippets=True)
    if system.startswith(XAPIAN_SYSTEM):
        shards = int(system[len(XAPIAN_SYSTEM) :])
        return NatoSearch(shards=shards, serve_shards=True, snippets=True)
    if system.startswith(WORKERS_SYSTEM):
        return NatoSearch(workers=int(system[len(WORKERS_SYSTEM) :]), snippets=True)
    return ADAPTERS[system]()


# ------------------------------------------------------------------- worker side


def _peak_rss_mib() -> dict[str, float]:
    # ru_maxrss is in KiB on Linux; the kernel updates it lazily, so the current RSS
    # (from /proc) can be a little higher and counts too.
    own = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, _current_rss_mib())
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"self": own, "children": children, "peak": max(own, children)}


class TreeMemory:
    """The summed RSS of this process and its descendants (a build's worker processes),
    sampled every ``interval`` s in a thread; ``peak`` is the largest sum seen."""

    def __init__(self, interval: float = 0.05) -> None:
        import threading

        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.peak = max(self.peak, _tree_rss_mib(os.getpid()))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return max(self.peak, _tree_rss_mib(os.getpid()))


def _tree_rss_mib(root: int) -> float:
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        rss[pid] = int(fields[21])  # pages
    tree, changed = {root}, True
    while changed:
        grown = {pid for pid, parent in parents.items() if parent in tree} | tree
        changed, tree = grown != tree, grown
    return sum(rss.get(pid, 0) for pid in tree) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (a build's workers): a
    measure that a busy machine disturbs less than elapsed time (grouping the slice
    into documents included)."""
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _current_rss_mib() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def disk_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(
        (Path(root) / name).lstat().st_size for root, _, files in os.walk(path) for name in files
    )


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (``q`` in 0..100), as numpy's default."""
    data = sorted(values)
    if not data:
        return float("nan")
    pos = (len(data) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def _time_queries(system: Any, queries: Sequence[dict], k: int) -> dict[str, float]:
    latencies, hits = [], []
    for q in queries:
        t0 = time.perf_counter()
        ids = system.search(q["text"], k)
        latencies.append((time.perf_counter() - t0) * 1000)
        hits.append(len(ids))
    timed = {
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "mean_ms": statistics.fmean(latencies) if latencies else float("nan"),
        "mean_hits": statistics.fmean(hits) if hits else 0.0,
        "no_hit": sum(h == 0 for h in hits),
    }
    typo = [t for t, q in zip(latencies, queries, strict=True) if q.get("typo")]
    if typo:  # keyword queries: those with a typo apart from the others
        timed["typo_p50_ms"] = percentile(typo, 50)
        exact = [t for t, q in zip(latencies, queries, strict=True) if not q.get("typo")]
        timed["exact_p50_ms"] = percentile(exact, 50)
        timed["typo_queries"] = len(typo)
    return timed


def run_worker(spec: dict) -> dict:
    """One job in this (fresh) process: build + warm queries, cold start, or incremental add."""
    job, path = spec["job"], Path(spec["index"])
    queries = json.loads(Path(spec["queries"]).read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    try:
        system = adapter(spec["system"])
    except SystemUnavailable as e:
        return {"status": "skipped", "reason": str(e)}
    import_ms = (time.perf_counter() - t0) * 1000

    if job == "build":
        paragraphs = read_paragraphs(Path(spec["corpus"]), spec["size"])
        base = _current_rss_mib()
        tree = TreeMemory()
        cpu0 = _cpu_s()
        t0 = time.perf_counter()
        system.build(paragraphs, path)
        build_s = getattr(system, "build_s", None) or time.perf_counter() - t0
        build_cpu_s = _cpu_s() - cpu0
        rss = _peak_rss_mib()
        rss_tree = tree.stop()
        try:
            result = {
                "status": "ok",
                "paragraphs": len(paragraphs),
                "build_s": build_s,
                "build_cpu_s": build_cpu_s,
                "index_bytes": disk_bytes(path),
                "base_rss_mib": base,
                "peak_rss_mib": max(rss["peak"], rss_tree),
                "peak_rss_self_mib": rss["self"],
                "peak_rss_children_mib": rss["children"],
                "peak_rss_tree_mib": rss_tree,
                "keyword": _time_queries(system, queries["keyword"], spec["k"]),
                "question": _time_queries(system, queries["question"], spec["k"]),
            }
        finally:
            system.close()
        return result

    if job == "cold":
        first = queries["keyword"][0]["text"]
        t0 = time.perf_counter()
        system.open(path)
        open_ms = (time.perf_counter() - t0) * 1000
        ids = system.search(first, spec["k"])
        cold_ms = (time.perf_counter() - t0) * 1000
        # Then every query once, as a search process would: its memory afterwards.
        for query in queries["keyword"] + queries["question"]:
            system.search(query["text"], spec["k"])
        search_rss = _current_rss_mib()
        system.close()
        return {
            "status": "ok",
            "import_ms": import_ms,
            "open_ms": open_ms,
            "cold_ms": cold_ms,
            "first_hits": len(ids),
            "search_rss_mib": search_rss,
        }

    if job == "add":
        assert isinstance(system, NatoSearch)  # the only system with an add job
        system.open(path)
        try:
            corpus = Path(spec["corpus"])
            size, total = spec["size"], spec["total"]
            if size + ADD_PARAGRAPHS <= total:
                extra = read_paragraphs(corpus, size + ADD_PARAGRAPHS)[size:]
            else:  # the slice is the whole corpus: add copies under new ids
                extra = read_paragraphs(corpus, ADD_PARAGRAPHS)
            before = system.count()
            t0 = time.perf_counter()
            system.add(extra)
            add_s = time.perf_counter() - t0
            after = system.count()
        finally:
            system.close()
        if after - before != len(extra):
            return {
                "status": "error",
                "reason": f"index grew by {after - before}, not {len(extra)} paragraphs",
            }
        return {"status": "ok", "paragraphs": len(extra), "add_s": add_s}

    raise ValueError(f"unknown job {job!r}")


def worker_main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    try:
        result = run_worker(spec)
    except Exception as e:  # reported as an error row by the parent
        import traceback

        traceback.print_exc()
        result = {"status": "error", "reason": f"{type(e).__name__}: {e}"}
    Path(spec["result"]).write_text(json.dumps(result), encoding="utf-8")
    return 0


# ------------------------------------------------------------------- parent side


def run_job(spec: dict, workdir: Path, timeout: float = JOB_TIMEOUT_S) -> dict:
    """Run one job in a fresh interpreter; a crash or timeout is an error result."""
    name = f"{spec['system']}-{spec['size']}-{spec['job']}"
    spec = {**spec, "result": str(workdir / f"{name}.result.json")}
    spec_path = workdir / f"{name}.spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(spec_path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": "error", "reason": f"{spec['job']} job timed out after {timeout:.0f} s"}
    result_path = Path(spec["result"])
    if proc.returncode != 0 or not result_path.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {
            "status": "error",
            "reason": f"{spec['job']} job exited {proc.returncode}: {' | '.join(tail)}",
        }
    result = json.loads(result_path.read_text(encoding="utf-8"))
    if result.get("status") == "error" and proc.stderr.strip():
        result["stderr"] = proc.stderr.strip()[-2000:]
    return result


def run_pair(
    system: str, size: int, total: int | None, common: dict, workdir: Path, add: bool, keep: bool
) -> tuple[dict, dict | None]:
    """Build + cold (+ add) jobs for one (system, size) → (row, incremental result or None)."""
    row: dict[str, Any] = {"size": size, "system": system}
    index = workdir / f"{system}-{size}"
    spec = {**common, "system": system, "size": size, "total": total, "index": str(index)}
    try:
        built = run_job({**spec, "job": "build"}, workdir)
        if built["status"] != "ok":
            return {**row, **built}, None
        row.update(status="ok", **{k: v for k, v in built.items() if k != "status"})
        row["paragraphs_per_s"] = built["paragraphs"] / built["build_s"]
        row["index_mb"] = built["index_bytes"] / 1e6
        cold = run_job({**spec, "job": "cold"}, workdir)
        if cold["status"] != "ok":
            return {**row, "status": "error", "reason": f"cold start: {cold.get('reason')}"}, None
        row.update(
            cold_ms=cold["cold_ms"],
            cold_open_ms=cold["open_ms"],
            import_ms=cold["import_ms"],
            search_rss_mib=cold["search_rss_mib"],
        )
        incremental = None
        if add:
            added = run_job({**spec, "job": "add"}, workdir)
            incremental = {"system": system, "size": size, **added}
            if incremental["status"] == "ok":
                incremental["share_of_build"] = incremental["add_s"] / row["build_s"]
        return row, incremental
    finally:
        if not keep:
            shutil.rmtree(index, ignore_errors=True)


def add_ratios(rows: list[dict]) -> None:
    """Speed-ups over whoosh-fr at the same size: whoosh's time ÷ this system's."""
    base = {r["size"]: r for r in rows if r["system"] == "whoosh-fr" and r["status"] == "ok"}
    for r in rows:
        w = base.get(r["size"])
        if r["status"] != "ok" or w is None:
            continue
        r["build_x_whoosh"] = w["build_s"] / r["build_s"]
        r["kw_p50_x_whoosh"] = w["keyword"]["p50_ms"] / r["keyword"]["p50_ms"]
        r["q_p50_x_whoosh"] = w["question"]["p50_ms"] / r["question"]["p50_ms"]


HEADER = [
    "size",
    "system",
    "build s",
    "para/s",
    "MB",
    "peak MiB",
    "kw p50",
    "kw p95",
    "q p50",
    "q p95",
    "cold ms",
    "search MiB",
    "build×wh",
    "kw×wh",
    "q×wh",
]
LEGEND = """\
build s: index the slice and commit to disk; para/s = paragraphs ÷ build s;
  MB: index on disk (10^6 bytes)
peak MiB: memory of the build up to its end: the summed RSS of the build process and its
  worker processes, sampled every 50 ms (or the process's or a child's own peak RSS, if larger),
  including the interpreter and the slice held in memory (base_rss_mib in --json)
kw / q p50, p95: ms per keyword query / question, warm, limit 10; nato-search includes hit.snippet()
  for every hit, peers fetch stored id + text but do no highlighting
cold ms: fresh process, index on disk: open + first answer (imports excluded; OS page cache warm)
search MiB: RSS of that fresh process after it answered every query once (the queries held too)
×wh: speed-up over whoosh-fr at the same size (whoosh time ÷ system time; > 1 is faster)"""


def _fmt(value: float | None, digits: int = 2) -> str:
    """Fixed decimals, or 3 significant digits below 1 so tiny timings never print as 0."""
    if value is None:
        return "-"
    if 0 < abs(value) < 1:
        return f"{value:.3g}"
    return f"{value:,.{digits}f}"


def format_table(rows: Sequence[dict]) -> str:
    lines: list[list[str]] = [HEADER]
    for r in rows:
        head = [str(r["size"]), r["system"]]
        if r["status"] != "ok":
            lines.append([*head, f"{r['status']} ({r.get('reason', '')})"])
            continue
        lines.append(
            head
            + [
                _fmt(r["build_s"]),
                _fmt(r["paragraphs_per_s"], 0),
                _fmt(r["index_mb"], 1),
                _fmt(r["peak_rss_mib"], 0),
                _fmt(r["keyword"]["p50_ms"]),
                _fmt(r["keyword"]["p95_ms"]),
                _fmt(r["question"]["p50_ms"]),
                _fmt(r["question"]["p95_ms"]),
                _fmt(r["cold_ms"], 1),
                _fmt(r.get("search_rss_mib"), 0),
                _fmt(r.get("build_x_whoosh")),
                _fmt(r.get("kw_p50_x_whoosh")),
                _fmt(r.get("q_p50_x_whoosh")),
            ]
        )
    w0 = max(len(line[0]) for line in lines)
    w1 = max(len(line[1]) for line in lines)
    out = []
    for line in lines:
        cells = line[2:]
        if len(cells) == 1:  # a skipped or failed row: one free-text cell
            rest = "  " + cells[0]
        else:
            rest = "".join(f"  {c:>{max(len(HEADER[i + 2]), 8)}}" for i, c in enumerate(cells))
        out.append(f"{line[0]:>{w0}}  {line[1]:<{w1}}{rest}")
    return "\n".join(out)


def format_typos(rows: Sequence[dict]) -> str:
    """Keyword p50 of the queries with a typo against the others', per system and size."""
    lines = []
    for r in rows:
        kw = r.get("keyword") or {}
        if "typo_p50_ms" in kw:
            lines.append(
                f"{r['size']} {r['system']}: keyword p50 with a typo {_fmt(kw['typo_p50_ms'])} ms "
                f"({kw['typo_queries']} queries), without {_fmt(kw['exact_p50_ms'])} ms"
            )
    return "\n".join(lines)


def format_incremental(inc: dict | None, system: str = "nato-search") -> str:
    if inc is None:
        return f"{system} add {ADD_PARAGRAPHS:,} paragraphs: not measured"
    where = f"{system} add {ADD_PARAGRAPHS:,} paragraphs to the {inc['size']}-paragraph index"
    if inc["status"] == "ok":
        share = 100 * inc["share_of_build"]
        return f"{where}: {inc['add_s']:.2f} s ({share:.1f}% of its full build)"
    return f"{where}: {inc['status']} ({inc.get('reason')})"


def machine_info() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for dist in ("Whoosh-Reloaded", "bm25s", "PyStemmer", "tantivy", "Unidecode"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    versions["sqlite"] = sqlite3.sqlite_version
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "loadavg_at_start": load,
        "versions": versions,
    }


def _comma_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_CORPUS,
        help="paragraphs .jsonl.gz (default: %(default)s)",
    )
    ap.add_argument(
        "--systems", default=",".join(SYSTEMS), help="comma list of: " + ", ".join(SYSTEMS)
    )
    ap.add_argument(
        "--sizes",
        default=DEFAULT_SIZES,
        help="comma list of paragraph counts or 'all' (default: %(default)s)",
    )
    ap.add_argument(
        "--queries",
        type=int,
        default=DEFAULT_QUERIES,
        metavar="N",
        help="keyword queries and questions, N of each (default: %(default)s)",
    )
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="query-set seed")
    ap.add_argument("--json", type=Path, metavar="PATH", help="also write rows + metadata as JSON")
    ap.add_argument(
        "--workdir",
        type=Path,
        metavar="DIR",
        help="where indexes are built (default: a temporary folder)",
    )
    ap.add_argument(
        "--keep-dir",
        action="store_true",
        help="keep the indexes and job files instead of deleting them",
    )
    ap.add_argument(
        "--backend",
        choices=("whoosh", "xapian"),
        default="whoosh",
        help="xapian: also nato-search on Xapian shards served over loopback",
    )
    ap.add_argument("--shards", default="1", help="with --backend xapian: shard counts, e.g. 1,2,4")
    ap.add_argument(
        "--workers",
        default="",
        help="also nato-search built by this many processes (e.g. 1,2); "
        "the nato-search row is build_index's default, one per core",
    )
    ap.add_argument(
        "--vectors",
        action="store_true",
        help="also nato-search with word vectors (pip install '.[vectors]')",
    )
    args = ap.parse_args(argv)
    args.systems = _comma_list(args.systems)
    for name in args.systems:
        if name not in SYSTEMS:
            ap.error(f"unknown system {name!r}; choose from {', '.join(SYSTEMS)}")
    if args.vectors:
        at = args.systems.index("nato-search") + 1 if "nato-search" in args.systems else 0
        args.systems.insert(at, VECTORS_SYSTEM)
    if args.backend == "xapian":
        if not all(n.isdigit() and int(n) > 0 for n in _comma_list(args.shards)):
            ap.error(f"--shards takes positive whole numbers, not {args.shards!r}")
        at = args.systems.index("nato-search") + 1 if "nato-search" in args.systems else 0
        xapian = [f"{XAPIAN_SYSTEM}{n}" for n in _comma_list(args.shards)]
        args.systems[at:at] = xapian
    if args.workers:
        if not all(n.isdigit() and int(n) > 0 for n in _comma_list(args.workers)):
            ap.error(f"--workers takes positive whole numbers, not {args.workers!r}")
        at = args.systems.index("nato-search") + 1 if "nato-search" in args.systems else 0
        args.systems[at:at] = [f"{WORKERS_SYSTEM}{n}" for n in _comma_list(args.workers)]
    args.sizes = _comma_list(args.sizes)
    for s in args.sizes:
        if s != "all" and not (s.isdigit() and int(s) > 0):
            ap.error(f"bad size {s!r}: a positive paragraph count or 'all'")
    if not args.sizes or not args.systems:
        ap.error("need at least one size and one system")
    if args.queries < 1:
        ap.error("--queries must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) == 2 and argv[0] == "--worker":
        return worker_main(argv[1])
    args = parse_args(argv)
    if not args.corpus.is_file():
        print(
            f"corpus not found at {args.corpus}; skipping the speed benchmark "
            "(pass --corpus PATH to point at a copy)."
        )
        return 0

    machine = machine_info()
    print(
        f"machine: {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, "
        f"{machine['date']}, load {machine['loadavg_at_start']}"
    )
    total = count_paragraphs(args.corpus)
    sizes = list(dict.fromkeys(min(total, int(s)) if s != "all" else total for s in args.sizes))
    smallest = read_paragraphs(args.corpus, min(sizes))
    queries = make_queries(smallest, args.queries, args.seed)
    print(
        f"{args.corpus}: {total} paragraphs; sizes {', '.join(map(str, sizes))}; "
        f"{args.queries} keyword queries + {args.queries} questions (seed {args.seed})"
    )

    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="nato-speed-", dir=args.workdir))
    queries_path = workdir / "queries.json"
    queries_path.write_text(json.dumps(queries, ensure_ascii=False), encoding="utf-8")
    common = {"corpus": str(args.corpus.resolve()), "queries": str(queries_path), "k": K}

    rows: list[dict] = []
    incremental: dict | None = None
    try:
        for size in sizes:
            for system in args.systems:
                print(f"[{size}] {system} ...", file=sys.stderr, flush=True)
                add = system == "nato-search" and size == max(sizes)
                row, inc = run_pair(system, size, total, common, workdir, add, args.keep_dir)
                rows.append(row)
                incremental = inc or incremental
    finally:
        if args.keep_dir:
            print(f"indexes kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    add_ratios(rows)
    print(format_table(rows))
    print(LEGEND)
    print(format_typos(rows))
    if "nato-search" in args.systems:
        print(format_incremental(incremental))
    failed = any(r["status"] == "error" for r in rows) or (
        incremental is not None and incremental["status"] == "error"
    )

    if args.json:
        report = {
            "corpus": str(args.corpus.resolve()),
            "corpus_paragraphs": total,
            "sizes": sizes,
            "systems": args.systems,
            "k": K,
            "machine": machine,
            "queries": {"seed": args.seed, "per_kind": args.queries, **queries},
            "rows": rows,
            "incremental": incremental,
            "legend": LEGEND,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
