"""Many small commits: after thousands of commits of a few documents (adds and updates), do
the segments stay bounded, and are searches as fast as on a fresh build of the same
documents?

    python benchmarks/commits.py                                   # 2,000 commits of 10 documents
    python benchmarks/commits.py --commits 40 --per-commit 5 --seeds   # the bundled seeds (tiny)
    python benchmarks/commits.py --json out.json

Setup. The first ``--base`` paragraphs of the OrangeSum corpus (Orange Actu 2011–2020,
CC BY-SA 4.0; read as speed.py reads them, consecutive paragraphs of one ``doc`` one
document) are built into an index. Then ``--commits`` commits each write
``--per-commit`` documents with ``Index.update``: the next documents of the corpus,
and every fifth commit also replaces one document written before (an update). Every
``--every`` commits the segment count and the files of the index folder are recorded.
Finally the same documents, as they stand, are built fresh into a second index, and
both answer speed.py's keyword queries (``limit=10``, snippets included), alternating
query by query, after one untimed pass each.

With ``--seeds``, the base is the seeds and the commits write made-up notes (a
sentence of a seed with a number): a smoke run, as the test runs it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # speed.py, peers/
from peers.nato_search import group_documents  # noqa: E402
from speed import (  # noqa: E402
    DEFAULT_CORPUS,
    REPO_ROOT,
    machine_info,
    make_queries,
    percentile,
    read_paragraphs,
)

if str(REPO_ROOT) not in sys.path:  # benchmark the checkout, as speed.py does
    sys.path.insert(1, str(REPO_ROOT))

import nato_search  # noqa: E402
from nato_search import Document  # noqa: E402

DEFAULT_BASE = 10_000
DEFAULT_COMMITS = 2_000
DEFAULT_PER_COMMIT = 10
UPDATE_EVERY = 5
"""Every this many commits, one document written before is replaced too."""


def segment_count(path: Path) -> int:
    """The segments of the index's latest commit (Whoosh's table of contents)."""
    from whoosh import index as windex

    return len(windex.open_dir(str(path))._segments())


def folder_files(path: Path) -> int:
    return sum(1 for _ in path.iterdir())


def seed_documents(count: int) -> list[Document]:
    """Made-up notes from the seeds' sentences (the ``--seeds`` smoke run)."""
    seeds = list(nato_search.read_documents(REPO_ROOT / "seeds"))
    sentences = [p for d in seeds for p in d.paragraphs]
    return [
        Document(
            f"note-{n}",
            f"Note {n}",
            dt.date(2024, 1, 1) + dt.timedelta(days=n % 365),
            [f"{sentences[n % len(sentences)]} ({n})"],
        )
        for n in range(count)
    ]


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    needed = args.commits * args.per_commit
    if args.seeds:
        base = list(nato_search.read_documents(REPO_ROOT / "seeds"))
        stream = seed_documents(needed)
        texts = [p for d in base + stream for p in d.paragraphs]
        source = "seeds and notes made of their sentences"
    else:
        paragraphs = read_paragraphs(args.corpus, None)
        documents = group_documents(paragraphs, Document)
        first, taken = [], 0
        while taken < args.base:
            first.append(documents[len(first)])
            taken += len(first[-1].paragraphs)
        base, stream = first, documents[len(first) : len(first) + needed]
        if len(stream) < needed:
            raise SystemExit(
                f"the corpus holds {len(stream)} documents past the base, not {needed}"
            )
        texts = [p.text for p in paragraphs]
        source = str(args.corpus)
    queries = [q["text"] for q in make_queries_of(texts, args)]

    grown = workdir / "grown"
    nato_search.build_index(base, grown, workers=1).close()
    current = {d.id: d for d in base}
    trace = []
    started = time.perf_counter()
    with nato_search.open_index(grown) as ix:
        for number in range(args.commits):
            written = stream[number * args.per_commit : (number + 1) * args.per_commit]
            if number % UPDATE_EVERY == UPDATE_EVERY - 1:
                earlier = stream[(number // 2) * args.per_commit]  # one written before
                written = [
                    *written,
                    Document(
                        earlier.id,
                        earlier.title,
                        earlier.date,
                        [*earlier.paragraphs, f"Mise à jour {number}."],
                    ),
                ]
            ix.update(written)
            current.update((d.id, d) for d in written)
            if (number + 1) % args.every == 0 or number + 1 == args.commits:
                trace.append(
                    {
                        "commits": number + 1,
                        "segments": segment_count(grown),
                        "files": folder_files(grown),
                        "seconds": round(time.perf_counter() - started, 1),
                    }
                )
    commit_s = time.perf_counter() - started

    fresh = workdir / "fresh"
    built = time.perf_counter()
    nato_search.build_index(list(current.values()), fresh, workers=1).close()
    build_s = time.perf_counter() - built

    timings: dict[str, list[float]] = {"grown": [], "fresh": []}
    with nato_search.open_index(grown) as a, nato_search.open_index(fresh) as b:
        indexes = {"grown": a, "fresh": b}
        assert len(a) == len(b), (len(a), len(b))
        for query in queries:  # untimed: each word's statistics are read once
            for ix in indexes.values():
                ix.search(query)
        for query in queries:
            for name, ix in indexes.items():
                t0 = time.perf_counter()
                for hit in ix.search(query, limit=10):
                    hit.snippet()
                timings[name].append((time.perf_counter() - t0) * 1000)
        same = sum(
            [(h.doc_id, h.paragraph) for h in a.search(q)]
            == [(h.doc_id, h.paragraph) for h in b.search(q)]
            for q in queries
        )
        paragraphs = len(a)
    return {
        "source": source,
        "base_documents": len(base),
        "commits": args.commits,
        "per_commit": args.per_commit,
        "documents": len(current),
        "paragraphs": paragraphs,
        "commit_ms_mean": round(commit_s * 1000 / args.commits, 1),
        "fresh_build_s": round(build_s, 1),
        "trace": trace,
        "segments": {"grown": segment_count(grown), "fresh": segment_count(fresh)},
        "p50_ms": {name: round(statistics.median(t), 2) for name, t in timings.items()},
        "p95_ms": {name: round(percentile(t, 95), 2) for name, t in timings.items()},
        "same_top10": f"{same}/{len(queries)}",
        "queries": len(queries),
        "machine": machine_info(),
    }


def make_queries_of(texts: Sequence[str], args: argparse.Namespace) -> list[dict[str, Any]]:
    """speed.py's keyword queries, drawn from ``texts`` with its seed."""
    from speed import Paragraph

    paragraphs = [Paragraph(f"d{i}", 0, "", None, text) for i, text in enumerate(texts)]
    return list(make_queries(paragraphs, args.queries, args.seed)["keyword"])


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"{report['commits']:,} commits of {report['per_commit']} documents on "
        f"{report['base_documents']:,} ({report['source']}): {report['documents']:,} documents, "
        f"{report['paragraphs']:,} paragraphs; {report['commit_ms_mean']} ms a commit",
        "",
        "| after commits | segments | files | seconds |",
        "|---:|---:|---:|---:|",
        *(
            f"| {t['commits']:,} | {t['segments']} | {t['files']} | {t['seconds']} |"
            for t in report["trace"]
        ),
        "",
        "| index | segments | keyword p50 ms | p95 ms |",
        "|---|---:|---:|---:|",
    ]
    for name in ("grown", "fresh"):
        lines.append(
            f"| {name} | {report['segments'][name]} | {report['p50_ms'][name]} "
            f"| {report['p95_ms'][name]} |"
        )
    ratio = report["p50_ms"]["grown"] / report["p50_ms"]["fresh"]
    lines.append(f"\ngrown / fresh p50: {ratio:.2f}; same top 10: {report['same_top10']}")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="OrangeSum .jsonl.gz")
    ap.add_argument("--seeds", action="store_true", help="the bundled seeds instead (tiny)")
    ap.add_argument("--base", type=int, default=DEFAULT_BASE, help="paragraphs built first")
    ap.add_argument("--commits", type=int, default=DEFAULT_COMMITS)
    ap.add_argument("--per-commit", type=int, default=DEFAULT_PER_COMMIT)
    ap.add_argument("--every", type=int, default=100, help="record the segments every N commits")
    ap.add_argument("--queries", type=int, default=100, help="keyword queries")
    ap.add_argument("--seed", type=int, default=1789)
    ap.add_argument("--json", type=Path, help="also write the report as JSON")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not (args.seeds or args.corpus.is_file()):
        print(f"corpus not found at {args.corpus}; skipping (--seeds: a tiny run)")
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="nato-commits-"))
    try:
        report = run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
