"""The Whoosh backend: the embedded default, an index folder with no server.

Translates the engine-neutral query plan to Whoosh queries, ranks with BM25,
and keeps one searcher per thread, replaced when the index changes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from math import log

from whoosh import query as wq
from whoosh import scoring
from whoosh.index import Index as WhooshIndex
from whoosh.matching import DisjunctionMaxMatcher
from whoosh.searching import Searcher
from whoosh.support.levenshtein import distance

from . import search as policy
from .analysis import analyze
from .corpus import Document
from .query import AnyOf, Clause, Plan, Query, Terms, Variants
from .schema import day_key
from .writing import open_writer, write_documents


class FrenchBM25(scoring.BM25F):
    """Whoosh's BM25F with the Robertson–Spärck Jones idf of BM25 (as in Lucene).

    Whoosh's own idf, ``1 + log(N / (n + 1))``, weighs common words too much
    against rare ones; on PIAF this idf ranks better (see the README).
    """

    def idf(self, searcher: Searcher, fieldname: str, text: str) -> float:
        parent = searcher.get_parent()
        n = parent.doc_frequency(fieldname, text)
        return log(1 + (parent.doc_count_all() - n + 0.5) / (n + 0.5))


def _weighting() -> scoring.WeightingModel:
    # The names field holds only a paragraph's capitalized words, so its lengths say
    # nothing about the paragraph: no length normalization there.
    return FrenchBM25(B=policy.BM25_B, K1=policy.BM25_K1, names_B=0.0)


class WhooshEngine:
    """An index folder; one object serves many threads."""

    def __init__(self, whoosh_index: WhooshIndex, path: str):
        self._ix = whoosh_index
        self.path = path
        self.analyzer = whoosh_index.schema["text"].analyzer
        self.names = whoosh_index.schema["names"].analyzer
        self._local = threading.local()
        self._searchers: list[Searcher] = []
        self._lock = threading.Lock()

    def snapshot(self, allow_partial: bool = False) -> WhooshSnapshot:
        """This thread's searcher, replaced when the index has changed since it was opened."""
        searcher = getattr(self._local, "searcher", None)
        if searcher is None or not searcher.up_to_date():
            # A new searcher rather than searcher.refresh(), which closes the old one's
            # readers: Results still counting their total may hold the old snapshot.
            fresh = self._ix.searcher(weighting=_weighting())
            with self._lock:
                if searcher is not None and searcher in self._searchers:
                    self._searchers.remove(searcher)
                self._searchers.append(fresh)
            self._local.searcher = searcher = fresh
        return WhooshSnapshot(searcher, self.analyzer)

    def write(self, documents: list[Document], *, replace: bool, timeout: float) -> None:
        with open_writer(self._ix, self.path, timeout) as writer:
            if not replace:
                reader = writer.reader()
                taken = [d.id for d in documents if reader.doc_frequency("doc_id", d.id)]
                if taken:
                    raise ValueError(
                        f"already in the index at {self.path}: "
                        f"{', '.join(map(repr, taken[:5]))}; use update() to replace documents"
                    )
            write_documents(writer, documents, replace=replace)

    def delete(self, doc_ids: Iterable[str], *, timeout: float) -> int:
        with open_writer(self._ix, self.path, timeout) as writer:
            return sum(writer.delete_by_term("doc_id", doc_id) for doc_id in doc_ids)

    def close(self) -> None:
        with self._lock:
            for searcher in self._searchers:
                searcher.close()
            self._searchers.clear()


class WhooshSnapshot:
    """One committed state of the index, for one thread: its vocabulary and its searches."""

    partial = False

    def __init__(self, searcher: Searcher, analyzer):
        self.searcher = searcher
        self.reader = searcher.reader()
        self.analyzer = analyzer

    def count(self) -> int:
        return self.searcher.doc_count()

    def known(self, term: str) -> bool:
        return self.reader.doc_frequency("text", term) > 0

    def frequency(self, term: str, field: str = "words") -> int:
        return self.reader.doc_frequency("text" if field == "words" else field, term)

    def similar(self, term: str, max_edits: int) -> list[tuple[str, int, int]]:
        found = []
        # One shared first letter: typos there are rare, and the prefix makes the scan fast.
        for candidate in self.reader.terms_within("text", term, max_edits, prefix=1):
            if candidate != term:
                edits = distance(candidate, term)
                found.append((candidate, edits, self.reader.doc_frequency("text", candidate)))
        return found

    def ranked(self, plan: Plan, limit: int) -> tuple[list[tuple[dict, float]], Callable[[], int]]:
        """Stored fields and scores of the best paragraphs, and a way to count them all."""
        searcher, parsed = self.searcher, plan.query
        include = [_to_whoosh(c) for c in parsed.include]
        restrict = _date_filter(parsed)
        if restrict is not None:
            # Whoosh reads an empty filter as "no filter", so an empty period must stop here.
            restrict = set(searcher.docs_for_query(restrict))
            if not restrict:
                return [], lambda: 0
        mask = _Union([_to_whoosh(c) for c in parsed.exclude]) if parsed.exclude else None
        near = [wq.Phrase("text", [a, b], slop=1, boost=plan.near_weight) for a, b in plan.near]
        any_words = _Union(include + near) if include else wq.Every()
        # All-words-first: paragraphs holding every clause come before the rest.
        tiered = plan.all_words_first and len(include) > 1
        ranked = searcher.search(
            any_words,
            limit=limit * 2 if tiered else limit,
            filter=restrict,
            mask=mask,
            scored=bool(include),
        )
        total = ranked.__len__  # counting every match is costly: done only if asked
        order = [(h.docnum, h.score) for h in ranked]
        if tiered:
            all_words = wq.AndMaybe(wq.And(include), _Union(near)) if near else wq.And(include)
            all_words = searcher.search(all_words, limit=limit, filter=restrict, mask=mask)
            first = [(h.docnum, h.score) for h in all_words]
            seen = {docnum for docnum, _ in first}
            order = first + [(docnum, score) for docnum, score in order if docnum not in seen]
        return [(searcher.stored_fields(d), score) for d, score in order[:limit]], total

    def surface(self, term: str) -> str | None:
        for docnum in self.searcher.docs_for_query(wq.Term("text", term)):
            text = self.searcher.stored_fields(docnum)["text"]
            for found, _, start, end in analyze(text, self.analyzer):
                if found == term:
                    return text[start:end]
        return None


def _to_whoosh(clause: Clause) -> wq.Query:
    if isinstance(clause, Terms):
        if clause.field == "names":
            return wq.Term("names", clause.terms[0], boost=clause.weight)
        return _field_query("text", clause.terms, clause.weight)
    children = [_to_whoosh(c) for c in clause.clauses]
    if isinstance(clause, Variants):
        return BestOf(children)
    return _Union(children) if isinstance(clause, AnyOf) else wq.And(children)


class _Union(wq.Or):
    """Or as a tree of union matchers, which skip blocks that cannot reach the top hits.

    Whoosh's automatic choice preloads every posting of every clause into arrays
    when a segment has under 5,000 documents, as every segment that updates add does.
    """

    matcher_type = wq.Or.DEFAULT_MATCHER


class _BestOfMatcher(DisjunctionMaxMatcher):
    """Whoosh's DisMax matcher scores a document with the other branch's score when the
    branches stand on different documents (Whoosh-Reloaded 2.7.5); this one doesn't."""

    def score(self) -> float:
        a, b = self.a, self.b
        if a.is_active() and b.is_active():
            if a.id() == b.id():
                return max(a.score(), b.score())
            return a.score() if a.id() < b.id() else b.score()
        return a.score() if a.is_active() else b.score()


class BestOf(wq.DisjunctionMax):
    """Matches any subquery, scored by the best one that matched this document."""

    def _matcher(self, subs, searcher, context):
        reader = searcher.reader()
        return self._tree_matcher(
            subs, _BestOfMatcher, searcher, context, lambda q: q.estimate_size(reader)
        )


def _field_query(fieldname: str, terms: tuple[str, ...], boost: float = 1.0) -> wq.Query:
    if len(terms) == 1:
        return wq.Term(fieldname, terms[0], boost=boost)
    return wq.Phrase(fieldname, list(terms), boost=boost)


def _date_filter(parsed: Query) -> wq.Query | None:
    if not parsed.dates:
        return None
    ranges = [wq.TermRange("day", day_key(r.start), day_key(r.end)) for r in parsed.dates]
    return ranges[0] if len(ranges) == 1 else wq.And(ranges)
