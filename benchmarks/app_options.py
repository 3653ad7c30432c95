"""What the app options cost: each search option against a plain search, same queries.

    python benchmarks/app_options.py                      # 50,000 paragraphs, 100 queries
    python benchmarks/app_options.py --size 179232 --index /tmp/orangesum-index
    python benchmarks/app_options.py --backend xapian --shards 2   # local Xapian shards

Builds (or reopens, with ``--index``) a nato-search index of the first ``--size``
paragraphs of the OrangeSum corpus (consecutive paragraphs of one article are one
document, with its date, and metadata made from its id and length: see
``with_metadata``), takes the keyword queries of ``speed.py`` (same
generator, same seed), and times ``ix.search(q, limit=10)`` with each option set
below. Every query runs every option set in turn, so a busy machine slows them
all alike; the table gives each one's p50 and p95 latency and its p50 over the
plain search's and over a date filter's. A placeholder row searches the empty query
(every paragraph) instead of the query, as often. Each query is searched once untimed first: the first search of a
word reads its statistics, which every later one reuses.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import speed  # noqa: E402  (beside this script: the corpus reader and query generator)

sys.path.insert(0, str(speed.REPO_ROOT))
import nato_search  # noqa: E402

OPTIONS: dict[str, dict[str, Any]] = {
    "plain": {},
    "offset=50": {"offset": 50},
    "filter date >= 2015-01-01": {"filter": "date >= 2015-01-01"},
    "filter doc_id (10 ids)": {"filter": "ids"},
    "filter expression (date, NOT 10 ids)": {"filter": "expression"},
    "filter source = s1 AND words >= 300": {"filter": "source = s1 AND words >= 300"},
    "sort=-date": {"sort": "-date"},
    "sort=-words (a number field)": {"sort": "-words"},
    "sort=source,-date": {"sort": ["source", "-date"]},
    "recency=365": {"recency": 365},
    "per_document=1": {"per_document": 1},
    "facets year,month,doc_id": {"facets": ["year", "month", "doc_id"]},
    "facets source,tags": {"facets": ["source", "tags"]},
    "prefix": {"prefix": True},
    "title:(words) (scoped to titles)": {"q": "title:({query})"},
    "source:s1 in the query": {"q": "{query} source:s1"},
    "placeholder, sort=-date, per_document=1": {"q": "", "sort": "-date", "per_document": 1},
    "placeholder, filter source = s1, facets tags": {
        "q": "",
        "filter": "source = s1",
        "facets": ["tags"],
    },
}
REFERENCE = "filter date >= 2015-01-01"
"""What the issue measures filters, sorts and placeholders against (today's date filter)."""
SOURCES = 5
TAGS = 12


def with_metadata(document: Any) -> Any:
    """The document with metadata derived from it alone (the corpus has none), so every
    run makes the same: a ``source`` of five, one to three ``tags`` of twelve, and its
    length in ``words`` (a number)."""
    digest = zlib.crc32(document.id.encode("utf-8"))
    tags = sorted({f"t{(digest >> shift) % TAGS}" for shift in range(0, 3 * (1 + digest % 3), 3)})
    words = sum(len(p.split()) for p in document.paragraphs)
    document.metadata = {"source": f"s{digest % SOURCES}", "tags": tags, "words": words}
    return document


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=speed.DEFAULT_CORPUS)
    ap.add_argument("--size", type=int, default=50_000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--index", type=Path, help="index folder to build, or reuse if it exists")
    ap.add_argument("--backend", choices=("whoosh", "xapian"), default="whoosh")
    ap.add_argument("--shards", type=int, default=1, help="with --backend xapian")
    args = ap.parse_args(argv)
    if not args.corpus.is_file():
        print(f"corpus not found at {args.corpus}; pass --corpus PATH")
        return 0
    paragraphs = speed.read_paragraphs(args.corpus, args.size)
    queries = [
        q["text"]
        for q in speed.make_queries(paragraphs, args.queries, speed.DEFAULT_SEED)["keyword"]
    ]
    suffix = f"-xapian-{args.shards}" if args.backend == "xapian" else ""
    path = args.index or Path(f"/tmp/nato-app-options-meta-{args.size}{suffix}")
    if not (path / "nato-search.json").exists():
        started = time.perf_counter()
        nato_search.build_index(
            map(with_metadata, speed.group_documents(paragraphs, nato_search.Document)),
            path,
            backend=args.backend,
            shards=args.shards,
        ).close()
        print(f"built {len(paragraphs)} paragraphs in {time.perf_counter() - started:.0f} s")
    ids = sorted({p.doc for p in paragraphs})[:: max(1, len({p.doc for p in paragraphs}) // 10)][
        :10
    ]
    listed = ", ".join(f'"{doc_id}"' for doc_id in ids)
    timings: dict[str, list[float]] = {name: [] for name in OPTIONS}
    with nato_search.open_index(path) as ix:
        for query in queries[:5]:  # warm up
            ix.search(query)
        for query in queries:
            ix.search(query)  # the first search of a word computes its statistics: not timed
            for name, options in OPTIONS.items():
                if options.get("filter") == "ids":
                    options = {"filter": {"doc_id": ids}}
                elif options.get("filter") == "expression":
                    options = {"filter": f"date >= 2015-01-01 AND doc_id NOT IN [{listed}]"}
                options = dict(options)
                typed = options.pop("q", "{query}").format(query=query)
                started = time.perf_counter()
                ix.search(typed, limit=10, **options)
                timings[name].append((time.perf_counter() - started) * 1000)
        print(f"{len(ix):,} paragraphs, {ix.documents:,} documents, {len(queries)} keyword queries")
    plain = statistics.median(timings["plain"])
    dated = statistics.median(timings[REFERENCE])
    print("| option | p50 ms | p95 ms | p50 / plain | p50 / date filter |")
    print("|---|---:|---:|---:|---:|")
    for name, values in timings.items():
        p50 = statistics.median(values)
        p95 = statistics.quantiles(values, n=20)[-1]
        print(f"| {name} | {p50:.1f} | {p95:.1f} | {p50 / plain:.2f} | {p50 / dated:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
