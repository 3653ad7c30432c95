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
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent))  # peers.py, beside this script
from peers import (  # noqa: E402
    FTS5_TOKENIZER,
    FrenchBm25sTokens,
    SystemUnavailable,
    fts5_match,
    whoosh_or_query,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PIAF = REPO_ROOT.parent / "shared" / "eval" / "piaf-v1.1-dev.json"
SYSTEMS = ("nato-search", "whoosh-fr", "sqlite-fts5", "bm25s")
STEMMERS = ("none", "minimal", "light", "snowball")
K = 10


@dataclass(frozen=True)
class Paragraph:
    id: str  # "{article_index}-{paragraph_index}"
    title: str
    text: str


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


class Retriever(Protocol):
    name: str

    def build(self, paragraphs: Sequence[Paragraph]) -> None: ...

    def search(self, question: str, k: int) -> list[str]: ...

    def close(self) -> None: ...


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


# ----------------------------------------------------------------------- adapters


# Each takes one ranking choice away, to show what it is worth: search options, or
# settings of nato_search modules ("module.NAME", default search; restored after the row).
ABLATIONS: dict[str, dict[str, Any]] = {
    "no typo tolerance": {"fuzzy": False},
    "no synonyms": {"synonyms": False},
    "no name variants": {"names": False},
    "no proximity bonus": {"proximity_boost": 0.0},
    "no coarse level": {"coarse_weight": 0.0},
    "coarse level of 4 letters": {"coarse_letters": 4},
    "coarse level of 6 letters": {"coarse_letters": 6},
    "coarse level weighing 1.0": {"coarse_weight": 1.0},
    "no all-words-first": {"all_words_first": False},
    "Whoosh's own idf": {"idf": "whoosh"},
    "K1 1.2 (Whoosh's default)": {"bm25_k1": 1.2},
    # Not choices taken away but one that could be added: is as-you-type a safe default?
    # PIAF questions end with "?", where prefix never applies; the last two rows drop
    # the final punctuation so that it applies to every question's last word.
    "with prefix (as you type)": {"prefix": True},
    "without the final ?": {"bare": True},
    "with prefix, without the final ?": {"prefix": True, "bare": True},
}
_SEARCH_OPTIONS = ("fuzzy", "synonyms", "names", "prefix")
# With --vectors: the word vectors' second stage (``pip install '.[vectors]'``), at its
# defaults and with each setting moved (RankingSettings fields, as in ABLATIONS).
VECTOR_SETTINGS: dict[str, dict[str, Any]] = {
    "": {},
    "weight 0.25": {"vector_weight": 0.25},
    "weight 1.0": {"vector_weight": 1.0},
    "floor 0.3": {"vector_floor": 0.3},
    "floor 0.7": {"vector_floor": 0.7},
    "depth 30": {"vector_depth": 30},
    "depth 100": {"vector_depth": 100},
}


class NatoSearch:
    """The library under test, through its public build_index/search API."""

    def __init__(
        self,
        stemmer: str | None = None,
        ablation: str | None = None,
        shards: int | None = None,
        vectors: str | None = None,
    ) -> None:
        self.stemmer = stemmer
        self.name = "nato-search" if stemmer is None else f"nato-search (stemmer={stemmer})"
        self._vectors: Any = None
        self.backend = {} if shards is None else {"backend": "xapian", "shards": shards}
        if str(REPO_ROOT) not in sys.path:  # benchmark the checkout, not a stale install
            sys.path.insert(0, str(REPO_ROOT))
        try:
            import nato_search
            from nato_search.readers.corpus import Document
        except ImportError as e:
            raise SystemUnavailable(f"cannot import nato_search: {e}") from e
        self._lib, self._Document = nato_search, Document
        changes = ABLATIONS[ablation] if ablation else {}
        if vectors is not None:
            from nato_search.errors import VectorsUnavailableError
            from nato_search.vectors import WordVectors

            try:
                self._vectors = WordVectors.from_package()
            except VectorsUnavailableError as e:
                raise SystemUnavailable(str(e)) from e
            changes = VECTOR_SETTINGS[vectors]
        self._options = {k: v for k, v in changes.items() if k in _SEARCH_OPTIONS}
        self._bare = bool(changes.get("bare"))
        self.settings = nato_search.RankingSettings(
            **{k: v for k, v in changes.items() if k not in (*_SEARCH_OPTIONS, "bare")}
        )
        self._tmp: str | None = None
        self._ix: Any = None

    def build(self, paragraphs: Sequence[Paragraph]) -> None:
        self._tmp = tempfile.mkdtemp(prefix="nato-bench-")
        docs = (
            self._Document(id=p.id, title=p.title, date=None, paragraphs=[p.text])
            for p in paragraphs
        )
        kwargs: dict[str, Any] = {"settings": self.settings}
        if self.stemmer is not None:
            kwargs["stemmer"] = self.stemmer
        kwargs.update(self.backend)
        if self._vectors is not None:
            kwargs["vectors"] = self._vectors
        self._ix = self._lib.build_index(docs, Path(self._tmp) / "index", **kwargs)
        self._ix.__enter__()  # one open index for all queries, as `with ix:` would

    def search(self, question: str, k: int) -> list[str]:
        if self._bare:
            question = question.rstrip(" ?!.\u00a0") or question
        ids = [hit.doc_id for hit in self._ix.search(question, limit=k, **self._options)]
        return list(dict.fromkeys(ids))  # one paragraph per document here

    def close(self) -> None:
        if self._ix is not None:
            self._ix.__exit__(None, None, None)
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)


class WhooshFrench:
    """Stock Whoosh: LanguageAnalyzer("fr") (stopwords + Snowball, no accent folding), BM25F."""

    name = "whoosh-fr"

    def __init__(self) -> None:
        try:
            from whoosh import analysis, fields, index, query
        except ImportError as e:
            raise SystemUnavailable(f"cannot import whoosh: {e}") from e
        self._fields, self._index, self._query = fields, index, query
        self._analyzer = analysis.LanguageAnalyzer("fr")
        self._tmp: str | None = None
        self._searcher: Any = None

    def build(self, paragraphs: Sequence[Paragraph]) -> None:
        f = self._fields
        schema = f.Schema(
            id=f.ID(stored=True),
            title=f.TEXT(analyzer=self._analyzer),
            text=f.TEXT(analyzer=self._analyzer),
        )
        self._tmp = tempfile.mkdtemp(prefix="whoosh-bench-")
        ix = self._index.create_in(self._tmp, schema)
        with ix.writer() as w:
            for p in paragraphs:
                w.add_document(id=p.id, title=p.title, text=p.text)
        self._searcher = ix.searcher()

    def search(self, question: str, k: int) -> list[str]:
        query = whoosh_or_query(self._analyzer, question)
        return [hit["id"] for hit in self._searcher.search(query, limit=k)]

    def close(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)


class SqliteFts5:
    """Stdlib SQLite FTS5, unicode61 with diacritics removed, bm25() ranking."""

    name = "sqlite-fts5"

    def __init__(self) -> None:
        self._db = sqlite3.connect(":memory:")
        try:
            self._db.execute(
                f"CREATE VIRTUAL TABLE para USING fts5(title, text, tokenize = '{FTS5_TOKENIZER}')"
            )
        except sqlite3.OperationalError as e:
            raise SystemUnavailable(f"SQLite {sqlite3.sqlite_version} lacks FTS5: {e}") from e
        self._ids: list[str] = []

    def build(self, paragraphs: Sequence[Paragraph]) -> None:
        self._ids = [p.id for p in paragraphs]
        with self._db:
            self._db.executemany(
                "INSERT INTO para(rowid, title, text) VALUES (?, ?, ?)",
                ((i, p.title, p.text) for i, p in enumerate(paragraphs)),
            )

    def search(self, question: str, k: int) -> list[str]:
        match = fts5_match(question)
        if match is None:
            return []
        rows = self._db.execute(
            "SELECT rowid FROM para WHERE para MATCH ? ORDER BY rank LIMIT ?", (match, k)
        )
        return [self._ids[r] for (r,) in rows]

    def close(self) -> None:
        self._db.close()


class Bm25s:
    """bm25s (Lucene BM25) on folded, stopword-filtered, Snowball-stemmed title + text.

    Stopwords: bm25s's own French list, folded (Snowball's list plus "les" and
    "ils", which Whoosh's copy lacks). Words are stemmed with their accents,
    then folded: the French Snowball rules expect accented input.
    """

    name = "bm25s"

    def __init__(self) -> None:
        self._tokens = FrenchBm25sTokens()
        self._bm25s = self._tokens.bm25s
        self._model: Any = None
        self._ids: list[str] = []

    def build(self, paragraphs: Sequence[Paragraph]) -> None:
        self._ids = [p.id for p in paragraphs]
        self._model = self._bm25s.BM25()
        corpus = [self._tokens(f"{p.title} {p.text}") for p in paragraphs]
        self._model.index(corpus, show_progress=False)

    def search(self, question: str, k: int) -> list[str]:
        tokens = [t for t in self._tokens(question) if t in self._model.vocab_dict]
        if not tokens:
            return []
        k = min(k, len(self._ids))
        docs, scores = self._model.retrieve([tokens], k=k, show_progress=False)
        return [self._ids[d] for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def close(self) -> None:
        self._model = None


def make_systems(
    names: Sequence[str],
    stemmers: Sequence[str],
    ablations: bool = False,
    xapian_shards: Sequence[int] = (),
    vectors: bool = False,
) -> list[tuple[str, Callable[[], Retriever]]]:
    """(row name, factory) pairs; factories raise SystemUnavailable to skip."""
    peers: dict[str, Callable[[], Retriever]] = {
        "whoosh-fr": WhooshFrench,
        "sqlite-fts5": SqliteFts5,
        "bm25s": Bm25s,
    }
    factories: list[tuple[str, Callable[[], Retriever]]] = []
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
    factory: Callable[[], Retriever],
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
