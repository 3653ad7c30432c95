"""A brute-force oracle of the ranking spec: what ``Index.search`` must return for a Plan.

It reads no index: it is given the live paragraphs (deleted ones do not exist) and
the analyzers, and scores every paragraph against the Plan by the spec's rules,
in plain Python, one paragraph at a time. It is slow on purpose and simple enough
to check by eye; the property test in ``test_engine_properties.py`` compares the
engine with it.

The spec, in short:

- "words": the tokens of ``indexed_text(title, paragraph)`` through the index's
  analyzer in index mode, with their positions; "names": the tokens of the
  paragraph alone through ``names_analyzer()`` in index mode (frequencies only).
- N = live paragraphs; df = live paragraphs holding the term in the field;
  idf = ln(1 + (N - df + 0.5) / (df + 0.5)); dl = "words" tokens of the
  paragraph; avgdl = mean dl.
- bm25 = idf * tf * (K1 + 1) / (tf + K1 * norm), norm = 1 - B + B * dl / avgdl
  for "words" and 1 for "names". The title's tokens are those before
  ``body_start(title)``; with a ``title_weight`` w, each counts w times in a
  "words" tf and in dl (so in avgdl).
- A scoped ``Terms`` (``title:``/``text:``) matches where its term (a phrase: its
  first term, the phrase standing there) has a position in that part; it scores as
  unscoped.
- ``Terms`` (one term): tf > 0, weight * bm25. ``Terms`` (a phrase, "words"):
  the terms at consecutive positions somewhere, weight * the sum of each term's
  bm25 (one summand per term of the phrase, repeats included). ``Variants``:
  any child, the best child's score. ``AnyOf``: any child, the sum of the
  matching children. ``AllOf``: every child and no ``exclude``, the sum.
- A hit matches some include clause (or there is none), no exclude clause, and
  every date range (undated paragraphs never pass one). Its score is the sum of
  the include clauses it matches, plus for each ``near`` pair standing side by
  side, near_weight * (bm25(a) + bm25(b)); that bonus goes only to the best
  max(limit, near_candidates) hits by (tier, score), ties at the cut included.
  The same hits get, for each ``coarse`` prefix, coarse_weight * a bm25 where
  tf = the summed (weighted) tf of the "words" terms starting with it and df = the summed
  df of those terms, at most N.
- Order: with ``all_words_first`` and two or more include clauses, the hits
  matching every include clause first; then higher score first; then
  (doc_id, paragraph).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from nato_search import RankingSettings
from nato_search.engines.fields import body_start, indexed_text
from nato_search.query.plan import Plan
from nato_search.query.syntax import AllOf, AnyOf, Clause, Terms, Variants

WORDS = "words"
NAMES = "names"


@dataclass(frozen=True)
class ParagraphRecord:
    """One live paragraph, as the index was given it."""

    doc_id: str
    paragraph: int
    title: str
    text: str
    date: dt.date | None


@dataclass(frozen=True)
class OracleHit:
    doc_id: str
    paragraph: int
    score: float
    tier: int
    """0 for the paragraphs ranked first (all include clauses, when tiered), else 1."""


DEFAULTS = RankingSettings()


def records(documents: Iterable[Any]) -> list[ParagraphRecord]:
    """The paragraphs of ``nato_search.Document``s, numbered as the index numbers them."""
    return [
        ParagraphRecord(document.id, number, document.title, text, document.date)
        for document in documents
        for number, text in enumerate(document.paragraphs)
    ]


class _Paragraph:
    """A paragraph's terms: "words" positions and frequencies, "names" frequencies."""

    def __init__(
        self, record: ParagraphRecord, analyzer: Any, names_analyzer: Any, title_weight: float
    ):
        self.record = record
        self.start = body_start(record.title, analyzer)
        words = [
            (t.text, t.pos)
            for t in analyzer(indexed_text(record.title, record.text), positions=True, mode="index")
        ]
        self.positions: dict[str, set[int]] = defaultdict(set)
        for term, pos in words:
            self.positions[term].add(pos)
        self.at: dict[int, set[str]] = defaultdict(set)
        for term, pos in words:
            self.at[pos].add(term)
        self.tf = {WORDS: Counter(term for term, _ in words)}
        self.tf[NAMES] = Counter(t.text for t in names_analyzer(record.text, mode="index"))
        self.in_title = Counter(term for term, pos in words if pos < self.start)
        self.title_weight = title_weight
        self.dl = len(words) + (title_weight - 1) * sum(self.in_title.values())

    def weighted_tf(self, term: str) -> float:
        return self.tf[WORDS][term] + (self.title_weight - 1) * self.in_title[term]

    def in_scope(self, position: int, scope: str) -> bool:
        return position < self.start if scope == "title" else position >= self.start

    def has_phrase(self, terms: tuple[str, ...], scope: str = "") -> bool:
        return any(
            all(term in self.at.get(start + i, ()) for i, term in enumerate(terms))
            and (not scope or self.in_scope(start, scope))
            for start in self.positions.get(terms[0], ())
        )


class Oracle:
    """Scores live paragraphs against a Plan exactly as the ranking spec says."""

    def __init__(
        self,
        paragraphs: Iterable[ParagraphRecord],
        analyzer: Any,
        names_analyzer: Any,
        settings: RankingSettings = DEFAULTS,
    ):
        self.paragraphs = [
            _Paragraph(p, analyzer, names_analyzer, settings.title_weight) for p in paragraphs
        ]
        self.k1, self.b = settings.bm25_k1, settings.bm25_b
        self.near_candidates = settings.near_candidates
        self.n = len(self.paragraphs)
        self.avgdl = (sum(p.dl for p in self.paragraphs) / self.n if self.n else 0.0) or 1.0
        self._df: dict[tuple[str, str], int] = {}

    # --- statistics ---

    def df(self, term: str, field: str = WORDS) -> int:
        key = (field, term)
        if key not in self._df:
            self._df[key] = sum(1 for p in self.paragraphs if p.tf[field][term] > 0)
        return self._df[key]

    def idf(self, term: str, field: str = WORDS) -> float:
        df = self.df(term, field)
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def coarse(self, prefix: str, paragraph: _Paragraph) -> float:
        terms = {t for p in self.paragraphs for t in p.tf[WORDS] if t.startswith(prefix)}
        if not any(paragraph.tf[WORDS][t] for t in terms):
            return 0.0
        tf = sum(paragraph.weighted_tf(t) for t in terms)
        df = min(self.n, sum(self.df(t) for t in terms))
        idf = math.log(1 + (self.n - df + 0.5) / (df + 0.5))
        norm = 1 - self.b + self.b * paragraph.dl / self.avgdl
        return idf * tf * (self.k1 + 1) / (tf + self.k1 * norm)

    def bm25(self, term: str, paragraph: _Paragraph, field: str = WORDS) -> float:
        if paragraph.tf[field][term] == 0:
            return 0.0
        tf = paragraph.weighted_tf(term) if field == WORDS else paragraph.tf[field][term]
        norm = 1 - self.b + self.b * paragraph.dl / self.avgdl if field == WORDS else 1.0
        return self.idf(term, field) * tf * (self.k1 + 1) / (tf + self.k1 * norm)

    # --- clauses ---

    def clause(self, clause: Clause, paragraph: _Paragraph) -> tuple[bool, float]:
        """Whether ``clause`` matches ``paragraph``, and its score there (0 when it does not)."""
        if isinstance(clause, Terms):
            return self._terms(clause, paragraph)
        results = [self.clause(child, paragraph) for child in clause.clauses]
        scores = [score for matched, score in results if matched]
        if isinstance(clause, Variants):
            return (True, max(scores)) if scores else (False, 0.0)
        if isinstance(clause, AnyOf):
            return (True, sum(scores)) if scores else (False, 0.0)
        if isinstance(clause, AllOf):
            if len(scores) < len(results):
                return False, 0.0
            if any(self.clause(excluded, paragraph)[0] for excluded in clause.exclude):
                return False, 0.0
            return True, sum(scores)
        raise TypeError(f"not a clause: {clause!r}")

    def _terms(self, clause: Terms, paragraph: _Paragraph) -> tuple[bool, float]:
        terms, field = clause.terms, clause.field
        if len(terms) == 1:
            if paragraph.tf[field][terms[0]] == 0:
                return False, 0.0
            if clause.scope and not any(
                paragraph.in_scope(p, clause.scope) for p in paragraph.positions[terms[0]]
            ):
                return False, 0.0
            return True, clause.weight * self.bm25(terms[0], paragraph, field)
        if field != WORDS:
            raise ValueError(f"a phrase in the {field!r} field: {clause!r}")
        if not paragraph.has_phrase(terms, clause.scope):
            return False, 0.0
        return True, clause.weight * sum(self.bm25(term, paragraph) for term in terms)

    # --- queries ---

    def ranked(self, plan: Plan, limit: int = 10) -> list[OracleHit]:
        """Every hit, best first (the proximity bonus as ``search(plan, limit)`` gives it)."""
        query = plan.query
        tiered = plan.all_words_first and len(query.include) >= 2
        found = []
        for paragraph in self.paragraphs:
            date = paragraph.record.date
            if any(date is None or not r.start <= date <= r.end for r in query.dates):
                continue
            if any(self.clause(c, paragraph)[0] for c in query.exclude):
                continue
            included = [self.clause(c, paragraph) for c in query.include]
            if query.include and not any(matched for matched, _ in included):
                continue
            score = sum(s for matched, s in included if matched)
            tier = 1 if tiered and not all(matched for matched, _ in included) else 0
            found.append((paragraph, score, tier))
        # The bonus goes to the best near_candidates by (tier, score), ties at the cut
        # included: those the engine reads positions for, whatever the limit.
        keys = sorted(((-tier, score) for _, score, tier in found), reverse=True)
        cut = keys[min(len(keys), self.near_candidates) - 1] if keys else None
        hits = []
        coarse = plan.coarse if plan.coarse_weight > 0 else ()
        for paragraph, score, tier in found:
            if (plan.near or coarse) and (-tier, score) >= cut:
                for a, b in plan.near:
                    if any(
                        p + 1 in paragraph.positions.get(b, ())
                        for p in paragraph.positions.get(a, ())
                    ):
                        score += plan.near_weight * (
                            self.bm25(a, paragraph) + self.bm25(b, paragraph)
                        )
                score += plan.coarse_weight * sum(self.coarse(p, paragraph) for p in coarse)
            record = paragraph.record
            hits.append(OracleHit(record.doc_id, record.paragraph, score, tier))
        # Paragraphs holding every clause are lifted to the best partial match's score.
        full = [h.score for h in hits if h.tier == 0]
        partial = [h.score for h in hits if h.tier == 1]
        if full and partial and max(partial) > min(full):
            lift = max(partial) - min(full)
            hits = [replace(h, score=h.score + lift) if h.tier == 0 else h for h in hits]
        hits.sort(key=lambda h: (h.tier, -h.score, h.doc_id, h.paragraph))
        return hits

    def search(self, plan: Plan, limit: int) -> tuple[list[tuple[str, int, float, int]], int]:
        """The best ``limit`` hits as ``(doc_id, paragraph, score, tier)``, and how many in all."""
        hits = self.ranked(plan, limit)
        top = [(h.doc_id, h.paragraph, h.score, h.tier) for h in hits[:limit]]
        return top, len(hits)
