"""Retrieval-quality benchmark: nato-search against stock peers on PIAF.

Every PIAF paragraph is one retrievable unit and every question is judged
against the paragraph that holds it, so each question has exactly one relevant
answer and recall@k is a hit rate. All systems index the same paragraphs and
answer the same questions in one run, which keeps the table comparable.

    python benchmarks/quality.py                       # all systems, full dev set
    python benchmarks/quality.py --systems sqlite-fts5,bm25s --max-articles 50
    python benchmarks/quality.py --stemmer light,snowball --json out.json
    python benchmarks/quality.py --systems nato-search --backend xapian --shards 1,2,4

Peers are optional (``pip install .[bench]``): a system whose imports fail is
reported as skipped and the run still succeeds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # peers/, beside this script
from peers import (  # noqa: E402
    ABLATIONS,
    VECTOR_SETTINGS,
    Bm25s,
    NatoSearch,
    Peer,
    SqliteFts5,
    SystemUnavailable,
    WhooshFrench,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PIAF = REPO_ROOT.parent / "shared" / "eval" / "piaf-v1.1-dev.json"
SYSTEMS = ("nato-search", "whoosh-fr", "sqlite-fts5", "bm25s")
STEMMERS = ("none", "minimal", "light", "snowball")
K = 10


@dataclass(frozen=True)
class Paragraph:
    """A peers.Passage that is its own document: one retrievable unit, judged by its id."""

    id: str  # "{article_index}-{paragraph_index}"
    title: str
    text: str

    @property
    def uid(self) -> str:
        return self.id

    @property
    def doc(self) -> str:
        return self.id

    @property
    def date(self) -> None:
        return None


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    paragraph_id: str  # the one relevant paragraph: the one holding the question


@dataclass(frozen=True)
class Metrics:
    mrr: float
    recall_at_1: float
    recall_at_k: float


# --------------------------------------------------------------------------- data


def load_squad(
    path: Path, max_articles: int | None = None, max_questions: int | None = None
) -> tuple[list[Paragraph], list[Question]]:
    """Read a SQuAD-format file; slices take the first N so quick runs are reproducible."""
    with open(path, encoding="utf-8") as f:
        articles = json.load(f)["data"]
    if max_articles is not None:
        articles = articles[:max_articles]
    paragraphs: list[Paragraph] = []
    questions: list[Question] = []
    for a, article in enumerate(articles):
        for p, para in enumerate(article["paragraphs"]):
            pid = f"{a}-{p}"
            paragraphs.append(Paragraph(pid, article.get("title", ""), para["context"]))
            for q, qa in enumerate(para["qas"]):
                questions.append(Question(str(qa.get("id", f"{pid}-{q}")), qa["question"], pid))
    if max_questions is not None:
        questions = questions[:max_questions]
    return paragraphs, questions


# ------------------------------------------------------------------------ metrics


def evaluate(ranked: Sequence[Sequence[str]], relevant: Sequence[str], k: int = K) -> Metrics:
    """MRR@k, recall@1 and recall@k with one relevant paragraph per question."""
    if len(ranked) != len(relevant):
        raise ValueError("one ranked list per question")
    if not relevant:
        return Metrics(0.0, 0.0, 0.0)
    rr = at1 = atk = 0.0
    for ids, rel in zip(ranked, relevant, strict=True):
        top = list(ids[:k])
        if rel in top:
            rank = top.index(rel) + 1
            rr += 1.0 / rank
            at1 += rank == 1
            atk += 1
    n = len(relevant)
    return Metrics(rr / n, at1 / n, atk / n)


def make_systems(
    names: Sequence[str],
    stemmers: Sequence[str],
    ablations: bool = False,
    xapian_shards: Sequence[int] = (),
    vectors: bool = False,
) -> list[tuple[str, Callable[[], Peer]]]:
    """(row name, factory) pairs; factories raise SystemUnavailable to skip."""
    peers: dict[str, Callable[[], Peer]] = {
        "whoosh-fr": WhooshFrench,
        "sqlite-fts5": SqliteFts5,
        "bm25s": Bm25s,
    }
    factories: list[tuple[str, Callable[[], Peer]]] = []
    for name in names:
        if name == "nato-search":
            if not stemmers:
                factories.append(("nato-search", NatoSearch))
            for s in stemmers:
                factories.append((f"nato-search (stemmer={s})", functools.partial(NatoSearch, s)))
            if ablations:
                for a in ABLATIONS:
                    factories.append((f"nato-search, {a}", functools.partial(NatoSearch, None, a)))
            for n in xapian_shards:
                row = f"nato-search (xapian, {n} shard{'s' if n > 1 else ''})"
                factories.append((row, functools.partial(NatoSearch, shards=n)))
            for setting in VECTOR_SETTINGS if vectors else ():
                if setting and not ablations:
                    continue
                row = f"nato-search + word vectors{', ' + setting if setting else ''}"
                factories.append((row, functools.partial(NatoSearch, vectors=setting)))
        elif name in peers:
            factories.append((name, peers[name]))
        else:
            raise ValueError(f"unknown system {name!r}; choose from {', '.join(SYSTEMS)}")
    return factories


# ------------------------------------------------------------------------ running


def run_system(
    row: str,
    factory: Callable[[], Peer],
    paragraphs: Sequence[Paragraph],
    questions: Sequence[Question],
    k: int = K,
) -> dict[str, Any]:
    """Build, query every question and score one system; a skip is a row, not a failure."""
    try:
        system = factory()
    except SystemUnavailable as e:
        return {"system": row, "status": "skipped", "reason": str(e)}
    except Exception as e:  # a broken system is reported, and main() then exits 1
        return {"system": row, "status": "error", "reason": f"{type(e).__name__}: {e}"}
    try:
        t0 = time.perf_counter()
        system.build(paragraphs)
        build_s = time.perf_counter() - t0
        ranked: list[list[str]] = []
        latencies: list[float] = []
        for q in questions:
            t0 = time.perf_counter()
            ids = system.search(q.text, k)
            latencies.append((time.perf_counter() - t0) * 1000)
            ranked.append(ids)
    except Exception as e:
        return {"system": row, "status": "error", "reason": f"{type(e).__name__}: {e}"}
    finally:
        system.close()
    m = evaluate(ranked, [q.paragraph_id for q in questions], k)
    return {
        "system": row,
        "status": "ok",
        "top_hits": [ids[0] if ids else None for ids in ranked],
        "mrr@10": m.mrr,
        "recall@1": m.recall_at_1,
        "recall@10": m.recall_at_k,
        "ms_per_query_median": statistics.median(latencies) if latencies else 0.0,
        "build_s": build_s,
    }


def add_parity(rows: list[dict[str, Any]]) -> None:
    """For Xapian rows: the share of questions whose top hit is the Whoosh row's top hit."""
    reference = next(
        (r for r in rows if r["system"] == "nato-search" and r["status"] == "ok"), None
    )
    for r in rows:
        if reference and "xapian" in r["system"] and r["status"] == "ok":
            same = sum(a == b for a, b in zip(r["top_hits"], reference["top_hits"], strict=True))
            r["same_top_hit"] = same / len(reference["top_hits"]) if reference["top_hits"] else 1.0
            r["mrr_minus_whoosh"] = r["mrr@10"] - reference["mrr@10"]
    for r in rows:
        r.pop("top_hits", None)


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    parity = any("same_top_hit" in r for r in rows)
    header = ["system", "MRR@10", "R@1", "R@10", "ms/query", "build s"]
    header += ["top=wh"] if parity else []
    lines: list[list[str]] = [header]
    for r in rows:
        if r["status"] != "ok":
            lines.append([r["system"], f"{r['status']} ({r['reason']})"])
            continue
        values = (r["mrr@10"], r["recall@1"], r["recall@10"])
        lines.append(
            [r["system"], *(f"{v:.3f}" for v in values)]
            + [f"{r['ms_per_query_median']:.2f}", f"{r['build_s']:.2f}"]
            + ([f"{r['same_top_hit']:.1%}" if "same_top_hit" in r else ""] if parity else [])
        )
    width = max(len(line[0]) for line in lines)
    return "\n".join(
        f"{line[0]:<{width}}  " + "  ".join(f"{c:>8}" for c in line[1:]) for line in lines
    )


def _comma_list(values: Sequence[str] | None) -> list[str]:
    return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--piaf", type=Path, default=DEFAULT_PIAF, help="SQuAD-format JSON (default: %(default)s)"
    )
    ap.add_argument(
        "--systems", default=",".join(SYSTEMS), help="comma list of: " + ", ".join(SYSTEMS)
    )
    ap.add_argument(
        "--stemmer",
        action="append",
        metavar="NAME",
        help=f"nato-search stemmer(s), repeatable or comma list ({', '.join(STEMMERS)}); "
        "default: the library's own default",
    )
    ap.add_argument(
        "--backend",
        choices=("whoosh", "xapian"),
        default="whoosh",
        help="xapian: also run nato-search on Xapian shards, beside the Whoosh row (parity)",
    )
    ap.add_argument("--shards", default="1", help="with --backend xapian: shard counts, e.g. 1,2,4")
    ap.add_argument(
        "--ablations",
        action="store_true",
        help="also run nato-search with each ranking choice taken away (see ABLATIONS)",
    )
    ap.add_argument(
        "--vectors",
        action="store_true",
        help="also run nato-search with word vectors (pip install '.[vectors]'); with "
        "--ablations, with each of their settings moved (see VECTOR_SETTINGS)",
    )
    ap.add_argument("--max-articles", type=int, metavar="N", help="only the first N articles")
    ap.add_argument("--max-questions", type=int, metavar="N", help="only the first N questions")
    ap.add_argument("--json", type=Path, metavar="PATH", help="also write rows + metadata as JSON")
    args = ap.parse_args(argv)
    args.systems = _comma_list([args.systems])
    args.stemmer = _comma_list(args.stemmer)
    try:
        args.shards = [int(n) for n in _comma_list([args.shards])]
    except ValueError:
        ap.error(f"--shards takes whole numbers, not {args.shards!r}")
    for name in args.systems:
        if name not in SYSTEMS:
            ap.error(f"unknown system {name!r}; choose from {', '.join(SYSTEMS)}")
    for name in args.stemmer:
        if name not in STEMMERS:
            ap.error(f"unknown stemmer {name!r}; choose from {', '.join(STEMMERS)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.piaf.is_file():
        print(
            f"PIAF dataset not found at {args.piaf}; skipping the quality benchmark "
            "(pass --piaf PATH to point at a copy)."
        )
        return 0
    paragraphs, questions = load_squad(args.piaf, args.max_articles, args.max_questions)
    print(f"{args.piaf}: {len(paragraphs)} paragraphs, {len(questions)} questions")

    rows = []
    shards = args.shards if args.backend == "xapian" else []
    if shards and "nato-search" in args.systems and args.stemmer:
        print("--backend xapian compares with the default stemmer: drop --stemmer", file=sys.stderr)
        return 2
    for row, factory in make_systems(
        args.systems, args.stemmer, args.ablations, shards, args.vectors
    ):
        print(f"running {row} ...", file=sys.stderr, flush=True)
        rows.append(run_system(row, factory, paragraphs, questions))
    add_parity(rows)
    print(format_table(rows))
    failed = any(r["status"] == "error" for r in rows)

    if args.json:
        report = {
            "dataset": str(args.piaf.resolve()),
            "paragraphs": len(paragraphs),
            "questions": len(questions),
            "k": K,
            "python": platform.python_version(),
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "cores": os.cpu_count(),
            "rows": rows,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
