"""Searching an index: ranked paragraph hits with highlights on the original text."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import overload

from math import log

from whoosh import query as wq
from whoosh import scoring
from whoosh.matching import DisjunctionMaxMatcher
from whoosh.index import Index as WhooshIndex
from whoosh.searching import Searcher
from whoosh.support.levenshtein import distance

from .analysis import analyze, names_analyzer
from .corpus import Sources, read_documents
from .expansion import Expander, Expansion, Synonyms
from .query import AnyOf, Clause, Query, Terms, Variants, parse
from .schema import day_key
from .snippets import make_snippet
from .writing import LOCK_TIMEOUT, open_writer, write_documents

PROXIMITY_BOOST = 0.3
"""Extra weight of two query words standing side by side (at most one word between them)."""
BM25_K1 = 0.9
BM25_B = 0.75


class FrenchBM25(scoring.BM25F):
    """Whoosh's BM25F with the Robertson–Spärck Jones idf of BM25 (as in Lucene).

    Whoosh's own idf, ``1 + log(N / (n + 1))``, weighs common words too much
    against rare ones; on PIAF this idf ranks better (see the README).
    """

    def idf(self, searcher: Searcher, fieldname: str, text: str) -> float:
        parent = searcher.get_parent()
        n = parent.doc_frequency(fieldname, text)
        return log(1 + (parent.doc_count_all() - n + 0.5) / (n + 0.5))


ALL_WORDS_FIRST = True
"""Rank paragraphs holding every query word before those holding some."""


def _weighting() -> scoring.WeightingModel:
    # The names field holds only a paragraph's capitalized words, so its lengths say
    # nothing about the paragraph: no length normalization there.
    return FrenchBM25(B=BM25_B, K1=BM25_K1, names_B=0.0)


@dataclass(frozen=True)
class Hit:
    """One matching paragraph."""

    doc_id: str
    title: str
    date: dt.date | None
    paragraph: int
    text: str
    score: float
    highlights: list[tuple[int, int]] = field(default_factory=list)

    def snippet(self, style: str = "text", *, max_chars: int = 240, max_fragments: int = 2) -> str:
        """The best fragment(s) of the paragraph with matches marked: ``text``, ``html`` or ``ansi``."""
        return make_snippet(
            self.text, self.highlights, style, max_chars=max_chars, max_fragments=max_fragments
        )


class Results(Sequence[Hit]):
    """Hits best first; ``total`` counts every matching paragraph, not just those returned."""

    def __init__(
        self,
        hits: list[Hit],
        total: int | Callable[[], int],
        query: str,
        suggestion: str | None = None,
    ):
        self._hits = hits
        self._total = total
        self.query = query
        self.suggestion = suggestion
        """The query with unknown words corrected (``Stoltemberg`` → ``Stoltenberg``), else None."""

    @property
    def total(self) -> int:
        """Every matching paragraph; counted on first use, on the snapshot the hits came from."""
        if callable(self._total):
            self._total = self._total()
        return self._total

    @overload
    def __getitem__(self, index: int) -> Hit: ...
    @overload
    def __getitem__(self, index: slice) -> list[Hit]: ...
    def __getitem__(self, index):
        return self._hits[index]

    def __len__(self) -> int:
        return len(self._hits)

    def __repr__(self) -> str:
        return f"<Results {len(self)} of {self.total} for {self.query!r}>"


class Index:
    """An open index. Use it as a context manager; one object serves many threads."""

    def __init__(self, whoosh_index: WhooshIndex, path: str, synonyms: Sequence = ()):
        self._ix = whoosh_index
        self.path = path
        self._analyzer = whoosh_index.schema["text"].analyzer
        self._names = names_analyzer()
        self.synonyms = Synonyms.load(self.analyze, synonyms)
        self._local = threading.local()
        self._searchers: list[Searcher] = []
        self._lock = threading.Lock()
        self._closed = False

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<nato_search.Index {self.path}>"

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for searcher in self._searchers:
                searcher.close()
            self._searchers.clear()

    def __len__(self) -> int:
        """Number of indexed paragraphs."""
        return self._searcher().doc_count()

    def add(self, documents: Sources, *, timeout: float = LOCK_TIMEOUT) -> int:
        """Indexes new documents (files, folders or Documents); returns the paragraphs added.

        An id that is already indexed is a ``ValueError`` (use :meth:`update`).
        Sources are read in full before the index is touched, so a bad file
        changes nothing. Searches see the new paragraphs once this returns.
        """
        documents = list(read_documents(documents))
        with open_writer(self._ix, self.path, timeout) as writer:
            reader = writer.reader()
            taken = [d.id for d in documents if reader.doc_frequency("doc_id", d.id)]
            if taken:
                raise ValueError(
                    f"already in the index at {self.path}: {', '.join(map(repr, taken[:5]))}; "
                    "use update() to replace documents"
                )
            write_documents(writer, documents)
        return sum(len(d.paragraphs) for d in documents)

    def update(self, documents: Sources, *, timeout: float = LOCK_TIMEOUT) -> int:
        """Indexes documents, replacing every paragraph their ids held; returns the paragraphs written."""
        documents = list(read_documents(documents))
        with open_writer(self._ix, self.path, timeout) as writer:
            write_documents(writer, documents, replace=True)
        return sum(len(d.paragraphs) for d in documents)

    def delete(self, doc_ids: Iterable[str] | str, *, timeout: float = LOCK_TIMEOUT) -> int:
        """Removes documents by id; returns the paragraphs removed (0 for unknown ids)."""
        ids = [doc_ids] if isinstance(doc_ids, str) else list(doc_ids)
        with open_writer(self._ix, self.path, timeout) as writer:
            return sum(writer.delete_by_term("doc_id", doc_id) for doc_id in ids)

    def analyze(self, text: str) -> list[str]:
        """Terms of ``text`` as this index sees them."""
        return [term for term, *_ in analyze(text, self._analyzer)]

    def _searcher(self) -> Searcher:
        """This thread's searcher, refreshed when the index has changed since it was opened."""
        if self._closed:
            raise ValueError(f"index {self.path} is closed")
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
        return searcher

    def search(
        self,
        query: str,
        limit: int = 10,
        *,
        fuzzy: bool = True,
        synonyms: bool = True,
        names: bool = True,
    ) -> Results:
        """Paragraphs matching ``query`` (see :mod:`nato_search.query` for the syntax).

        ``fuzzy`` corrects words the index doesn't know, ``synonyms`` adds the
        synonym list's alternatives, ``names`` matches other transliterations of
        names; each counts below an exact match, and each can be switched off.
        """
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ValueError(f"limit must be a positive whole number, not {limit!r}")
        parsed = parse(query, self.analyze)
        if not (parsed.include or parsed.exclude or parsed.dates):
            return Results([], 0, query)
        searcher = self._searcher()
        expander = Expander(
            _Lexicon(searcher, self._analyzer),
            self.synonyms,
            lambda text: [term for term, *_ in analyze(text, self._names)],
            Expansion(fuzzy=fuzzy, synonyms=synonyms, names=names),
        )
        parsed = expander.expand(parsed)
        suggestion = expander.suggestion(query)
        include = [_to_whoosh(c) for c in parsed.include]
        restrict = _date_filter(parsed)
        if restrict is not None:
            # Whoosh reads an empty filter as "no filter", so an empty period must stop here.
            restrict = set(searcher.docs_for_query(restrict))
            if not restrict:
                return Results([], 0, query, suggestion)
        mask = _Union([_to_whoosh(c) for c in parsed.exclude]) if parsed.exclude else None
        near = [
            wq.Phrase("text", [a, b], slop=1, boost=PROXIMITY_BOOST)
            for a, b in _adjacent_words(parsed.include)
        ]
        any_words = _Union(include + near) if include else wq.Every()
        # All-words-first: paragraphs holding every clause come before the rest.
        tiered = ALL_WORDS_FIRST and len(include) > 1
        ranked = searcher.search(
            any_words, limit=limit * 2 if tiered else limit, filter=restrict, mask=mask,
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
        hits = [self._hit(searcher, docnum, score, parsed) for docnum, score in order[:limit]]
        return Results(hits, total, query, suggestion)

    def _hit(self, searcher: Searcher, docnum: int, score: float, parsed: Query) -> Hit:
        stored = searcher.stored_fields(docnum)
        text = stored["text"]
        return Hit(
            doc_id=stored["doc_id"],
            title=stored["title"],
            date=dt.date.fromisoformat(stored["date"]) if stored.get("date") else None,
            paragraph=stored["paragraph"],
            text=text,
            score=float(score or 0.0),
            highlights=highlight(text, parsed, self._analyzer, self._names),
        )


def highlight(text: str, parsed: Query, analyzer, names=None) -> list[tuple[int, int]]:
    """Spans of ``text`` that the query matched: its words anywhere, its phrases only where whole."""
    spans: set[tuple[int, int]] = set()
    for kind, chain in (("words", analyzer), ("names", names)):
        phrases = {t.terms for t in parsed.terms() if t.field == kind}
        if not phrases or chain is None:
            continue
        tokens = analyze(text, chain) if kind == "words" else _index_tokens(text, chain)
        singles = {p[0] for p in phrases if len(p) == 1}
        spans.update((start, end) for term, _, start, end in tokens if term in singles)
        for phrase in (p for p in phrases if len(p) > 1):
            n = len(phrase)
            for i in range(len(tokens) - n + 1):
                if tuple(tok[0] for tok in tokens[i : i + n]) == phrase:
                    spans.update((tok[2], tok[3]) for tok in tokens[i : i + n])
    return sorted(spans)


def _index_tokens(text: str, analyzer) -> list[tuple[str, int, int, int]]:
    """Tokens as the index saw them (index mode: names keys only for capitalized words)."""
    return [
        (t.text, t.pos, t.startchar, t.endchar)
        for t in analyzer(text, positions=True, chars=True, mode="index")
    ]


class _Lexicon:
    """The index's vocabulary, for typo tolerance and suggestions."""

    def __init__(self, searcher: Searcher, analyzer):
        self.searcher = searcher
        self.reader = searcher.reader()
        self.analyzer = analyzer

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

    def surface(self, term: str) -> str | None:
        for docnum in self.searcher.docs_for_query(wq.Term("text", term)):
            text = self.searcher.stored_fields(docnum)["text"]
            for found, _, start, end in analyze(text, self.analyzer):
                if found == term:
                    return text[start:end]
        return None


def _adjacent_words(clauses: list[Clause]) -> list[tuple[str, str]]:
    """Consecutive single words of the query, as typed (not their variants)."""
    words = []
    for clause in clauses:
        exact = clause.clauses[0] if isinstance(clause, Variants) else clause
        single = isinstance(exact, Terms) and exact.field == "words" and len(exact.terms) == 1
        words.append(exact.terms[0] if single else None)
    return [(a, b) for a, b in zip(words, words[1:]) if a and b]


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
