"""Searching an index: ranked paragraph hits with highlights on the original text."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import overload

from whoosh import query as wq
from whoosh.index import Index as WhooshIndex
from whoosh.searching import Searcher

from .analysis import analyze
from .query import AnyOf, Clause, Query, Terms, parse
from .schema import day_key
from .snippets import make_snippet

TITLE_BOOST = 2.0
"""A title word counts this much more than a paragraph word: titles say what a text is about."""


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

    def __init__(self, hits: list[Hit], total: int, query: str):
        self._hits = hits
        self.total = total
        self.query = query

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

    def __init__(self, whoosh_index: WhooshIndex, path: str):
        self._ix = whoosh_index
        self.path = path
        self._analyzer = whoosh_index.schema["text"].analyzer
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

    def analyze(self, text: str) -> list[str]:
        """Terms of ``text`` as this index sees them."""
        return [term for term, *_ in analyze(text, self._analyzer)]

    def _searcher(self) -> Searcher:
        """This thread's searcher, refreshed when the index has changed since it was opened."""
        if self._closed:
            raise ValueError(f"index {self.path} is closed")
        searcher = getattr(self._local, "searcher", None)
        if searcher is None or not searcher.up_to_date():
            fresh = searcher.refresh() if searcher is not None else self._ix.searcher()
            with self._lock:
                if searcher is not None and searcher in self._searchers:
                    self._searchers.remove(searcher)
                self._searchers.append(fresh)
            self._local.searcher = searcher = fresh
        return searcher

    def search(self, query: str, limit: int = 10) -> Results:
        """Paragraphs matching ``query`` (see :mod:`nato_search.query` for the syntax)."""
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive whole number, not {limit!r}")
        parsed = parse(query, self.analyze)
        if not (parsed.include or parsed.exclude or parsed.dates):
            return Results([], 0, query)
        searcher = self._searcher()
        include = [_to_whoosh(c) for c in parsed.include]
        restrict = _date_filter(parsed)
        if restrict is not None:
            # Whoosh reads an empty filter as "no filter", so an empty period must stop here.
            restrict = set(searcher.docs_for_query(restrict))
            if not restrict:
                return Results([], 0, query)
        mask = wq.Or([_to_whoosh(c) for c in parsed.exclude]) if parsed.exclude else None
        any_words = wq.Or(include) if include else wq.Every()
        # All-words-first: paragraphs holding every clause come before the rest.
        tiered = len(include) > 1
        ranked = searcher.search(
            any_words, limit=limit * 2 if tiered else limit, filter=restrict, mask=mask,
            scored=bool(include),
        )
        total = len(ranked)
        order = [(h.docnum, h.score) for h in ranked]
        if tiered:
            all_words = searcher.search(wq.And(include), limit=limit, filter=restrict, mask=mask)
            first = [(h.docnum, h.score) for h in all_words]
            seen = {docnum for docnum, _ in first}
            order = first + [(docnum, score) for docnum, score in order if docnum not in seen]
        hits = [self._hit(searcher, docnum, score, parsed) for docnum, score in order[:limit]]
        return Results(hits, total, query)

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
            highlights=highlight(text, parsed, self._analyzer),
        )


def highlight(text: str, parsed: Query, analyzer) -> list[tuple[int, int]]:
    """Spans of ``text`` that the query matched: its words anywhere, its phrases only where whole."""
    tokens = analyze(text, analyzer)
    terms = [t.terms for t in parsed.terms()]
    singles = {t[0] for t in terms if len(t) == 1}
    spans = {(start, end) for term, _, start, end in tokens if term in singles}
    for phrase in (t for t in terms if len(t) > 1):
        n = len(phrase)
        for i in range(len(tokens) - n + 1):
            if tuple(tok[0] for tok in tokens[i : i + n]) == phrase:
                spans.update((tok[2], tok[3]) for tok in tokens[i : i + n])
    return sorted(spans)


def _to_whoosh(clause: Clause) -> wq.Query:
    if isinstance(clause, Terms):
        return wq.Or([_field_query("text", clause.terms), _field_query("title", clause.terms, TITLE_BOOST)])
    children = [_to_whoosh(c) for c in clause.clauses]
    return wq.Or(children) if isinstance(clause, AnyOf) else wq.And(children)


def _field_query(fieldname: str, terms: tuple[str, ...], boost: float = 1.0) -> wq.Query:
    if len(terms) == 1:
        return wq.Term(fieldname, terms[0], boost=boost)
    return wq.Phrase(fieldname, list(terms), boost=boost)


def _date_filter(parsed: Query) -> wq.Query | None:
    if not parsed.dates:
        return None
    ranges = [wq.TermRange("day", day_key(r.start), day_key(r.end)) for r in parsed.dates]
    return ranges[0] if len(ranges) == 1 else wq.And(ranges)

