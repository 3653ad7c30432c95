"""Signals tried on top of nato-search's ranking, on PIAF, before building them in.

Each signal re-scores the best ``--depth`` paragraphs of nato-search's own answer
(its score plus weight × the signal) and is reported against that answer, so a row
says what the signal would add to today's ranking. Neither signal is in the engine:
the README's ablation table says why.

- article: BM25 of the paragraph's whole article (its title once and every
  paragraph), the same analysis, K1 and B as the engine.
- pairs: every pair of distinct query words standing within ``window`` positions of
  each other, in either order (a sequential-dependence-style score): BM25 of the
  pair's count, with the idf of the rarer word.
- lemmas: BM25 over dictionary lemmas (simplemma, ``pip install .[bench]``) of the
  words the analyzer keeps, folded: a conflation level no rule-based stemmer
  reaches (``meurt``/``mourir``, ``devient``/``devenu``). Skipped without simplemma.
- together: each signal at its best weight, added; chosen on the same questions,
  so an upper bound of what these signals give.

    python benchmarks/rerank_signals.py
    python benchmarks/rerank_signals.py --weights 0.1,0.2 --windows 3,8 --max-articles 50
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # quality.py, beside this script
from quality import DEFAULT_PIAF, Metrics, NatoSearch, Paragraph, evaluate, load_squad  # noqa: E402

Signal = Callable[[int, str], float]  # (question number, paragraph id) -> score


class Bm25:
    """BM25 over bags of terms, as the engine scores a paragraph."""

    def __init__(self, units: dict[str, Counter[str]], k1: float, b: float):
        self.units, self.k1, self.b = units, k1, b
        self.lengths = {u: sum(c.values()) for u, c in units.items()}
        self.average = sum(self.lengths.values()) / max(len(units), 1)
        self.df = Counter(t for c in units.values() for t in c)

    def idf(self, term: str) -> float:
        n, df = len(self.units), self.df[term]
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def saturate(self, unit: str, tf: int) -> float:
        norm = 1 - self.b + self.b * self.lengths[unit] / self.average
        return tf * (self.k1 + 1) / (tf + self.k1 * norm)

    def score(self, unit: str, terms: Sequence[str]) -> float:
        bag = self.units[unit]
        return sum(self.idf(t) * self.saturate(unit, bag[t]) for t in terms if bag[t])


def article_signal(paragraphs: Sequence[Paragraph], queries: list[list[str]], terms) -> Signal:
    from nato_search import RankingSettings

    BM25_K1, BM25_B = RankingSettings().bm25_k1, RankingSettings().bm25_b

    article = {p.id: p.id.split("-")[0] for p in paragraphs}
    bags: dict[str, Counter[str]] = defaultdict(Counter)
    titled: set[str] = set()
    for p in paragraphs:
        a = article[p.id]
        if a not in titled:
            bags[a].update(terms(p.title))
            titled.add(a)
        bags[a].update(terms(p.text))
    bm25 = Bm25(dict(bags), BM25_K1, BM25_B)
    return lambda q, pid: bm25.score(article[pid], queries[q])


def pairs_signal(
    paragraphs: Sequence[Paragraph], queries: list[list[str]], positions, window: int
) -> Signal:
    from nato_search import RankingSettings

    BM25_K1, BM25_B = RankingSettings().bm25_k1, RankingSettings().bm25_b

    where = {p.id: positions(p) for p in paragraphs}
    bm25 = Bm25(
        {pid: Counter({t: len(v) for t, v in w.items()}) for pid, w in where.items()},
        BM25_K1,
        BM25_B,
    )

    def score(q: int, pid: str) -> float:
        found, total = where[pid], 0.0
        for a, b in itertools.combinations(queries[q], 2):
            near = sum(
                1
                for x in found.get(a, ())
                if any(0 < abs(x - y) <= window for y in found.get(b, ()))
            )
            if near:
                rarer = a if bm25.df[a] <= bm25.df[b] else b
                total += bm25.idf(rarer) * bm25.saturate(pid, near)
        return total

    return score


def lemma_signal(
    paragraphs: Sequence[Paragraph], questions: Sequence[str], lemmas: Callable[[str], list[str]]
) -> Signal:
    from nato_search import RankingSettings
    from nato_search.engines.fields import indexed_text

    BM25_K1, BM25_B = RankingSettings().bm25_k1, RankingSettings().bm25_b

    bags = {p.id: Counter(lemmas(indexed_text(p.title, p.text))) for p in paragraphs}
    bm25 = Bm25(bags, BM25_K1, BM25_B)
    queries = [list(dict.fromkeys(lemmas(q))) for q in questions]
    return lambda q, pid: bm25.score(pid, queries[q])


def dictionary_lemmas(analyzer) -> Callable[[str], list[str]] | None:
    """Each kept word's lemma as simplemma gives it, folded; None without simplemma."""
    try:
        import simplemma
    except ImportError:
        return None
    from unidecode import unidecode

    def lemmas(text: str) -> list[str]:
        return [
            unidecode(simplemma.lemmatize(text[t.startchar : t.endchar].lower(), lang="fr")).lower()
            for t in analyzer(text, chars=True, mode="index")
        ]

    return lemmas


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--piaf", type=Path, default=DEFAULT_PIAF)
    ap.add_argument("--depth", type=int, default=100, help="paragraphs re-scored per question")
    ap.add_argument("--weights", default="0.1,0.2,0.3", help="weights of each signal")
    ap.add_argument("--windows", default="3,4,8", help="pair windows, in positions")
    ap.add_argument("--max-articles", type=int, metavar="N", help="only the first N articles")
    args = ap.parse_args(argv)
    if not args.piaf.is_file():
        print(f"PIAF dataset not found at {args.piaf}; skipping (pass --piaf PATH).")
        return 0
    paragraphs, questions = load_squad(args.piaf, args.max_articles)
    system = NatoSearch()
    system.build(paragraphs)
    try:
        from nato_search.engines.fields import indexed_text
        from nato_search.text.analyzer import french_analyzer

        analyzer = french_analyzer()

        def terms(text: str) -> list[str]:
            return [t.text for t in analyzer(text, mode="index")]

        def positions(p: Paragraph) -> dict[str, list[int]]:
            found: dict[str, list[int]] = defaultdict(list)
            for t in analyzer(indexed_text(p.title, p.text), positions=True, mode="index"):
                found[t.text].append(t.pos)
            return found

        answers = [
            [(h.doc_id, h.score) for h in system._ix.search(q.text, limit=args.depth)]
            for q in questions
        ]
        queries = [list(dict.fromkeys(t.text for t in analyzer(q.text))) for q in questions]
    finally:
        system.close()
    relevant = [q.paragraph_id for q in questions]
    base = evaluate([[pid for pid, _ in a] for a in answers], relevant)
    rows = [("nato-search as it ranks", "", base)]
    signals = [("article BM25", "", article_signal(paragraphs, queries, terms))]
    for window in (int(w) for w in args.windows.split(",")):
        signals.append(
            ("word pairs", f"window {window}", pairs_signal(paragraphs, queries, positions, window))
        )
    lemmas = dictionary_lemmas(analyzer)
    if lemmas is not None:
        signals.append(
            ("lemmas", "", lemma_signal(paragraphs, [q.text for q in questions], lemmas))
        )

    def rerank(added: list[tuple[float, list[dict[str, float]]]]) -> Metrics:
        ranked = [
            [
                pid
                for _, pid in sorted(
                    ((s + sum(w * c[q][pid] for w, c in added), pid) for pid, s in a),
                    key=lambda x: -x[0],
                )
            ]
            for q, a in enumerate(answers)
        ]
        return evaluate(ranked, relevant)

    best: dict[str, tuple[float, float, list[dict[str, float]]]] = {}  # name -> mrr, weight, cache
    for name, setting, signal in signals:
        cached = [{pid: signal(q, pid) for pid, _ in a} for q, a in enumerate(answers)]
        for weight in (float(w) for w in args.weights.split(",")):
            m = rerank([(weight, cached)])
            rows.append((name, f"{setting}, weight {weight}".lstrip(", "), m))
            if m.mrr > best.get(name, (-1.0,))[0]:
                best[name] = (m.mrr, weight, cached)
    rows.append(
        (
            "together",
            "best weight of each",
            rerank([(weight, cached) for _, weight, cached in best.values()]),
        )
    )
    print(
        f"{args.piaf}: {len(paragraphs)} paragraphs, {len(questions)} questions, depth {args.depth}"
    )
    print(f"{'signal':<24}{'setting':<22}{'MRR@10':>8}{'R@10':>8}{'change':>9}")
    for name, setting, m in rows:
        print(f"{name:<24}{setting:<22}{m.mrr:>8.4f}{m.recall_at_k:>8.3f}{m.mrr - base.mrr:>+9.4f}")
    if lemmas is None:
        print("lemmas: skipped (simplemma is not installed: pip install .[bench])")
    return 0


if __name__ == "__main__":
    sys.exit(main())
