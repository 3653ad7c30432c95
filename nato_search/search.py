"""Searching an index, whatever engine holds it: ranked paragraph hits with highlights.

The ranking policy lives here and in :mod:`query`/:mod:`expansion`; an engine
(``whoosh_engine``, ``xapian_engine``) only stores paragraphs and runs the
engine-neutral :class:`~nato_search.query.Plan` it is given.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, overload

from whoosh.analysis import Analyzer

from .analysis import analyze
from .corpus import Document, Sources, read_documents
from .expansion import Expander, Expansion, Lexicon, Synonyms
from .query import Clause, Plan, Query, Terms, Variants, parse
from .snippets import make_snippet

LOCK_TIMEOUT = 10.0
"""Seconds a writer waits for another process's writer to finish before giving up."""
PROXIMITY_BOOST = 0.3
"""Extra weight, as a share of a phrase match, of two query words standing side by side."""
ALL_WORDS_FIRST = True
"""Rank paragraphs holding every query word before those holding some."""
BM25_K1 = 0.8
BM25_B = 0.75
"""BM25's term-frequency saturation and length normalization, chosen on PIAF (see the README)."""


class IndexLockedError(RuntimeError):
    """Another writer holds the index's lock (it is released when that writer ends or dies)."""


class IndexDamagedError(RuntimeError):
    """The index's files cannot be read (truncated, overwritten); it must be rebuilt."""


def damage_message(path: str | os.PathLike[str], exc: BaseException) -> str:
    return (
        f"the index at {path} is damaged ({type(exc).__name__}: {exc}); "
        f"rebuild it with `nato-search index SOURCE... --index {path} --rebuild`"
    )


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
        total: int,
        query: str,
        suggestion: str | None = None,
        partial: bool = False,
    ):
        self._hits = hits
        self.total = total
        """Every matching paragraph, counted on the snapshot the hits came from."""
        self.query = query
        self.suggestion = suggestion
        """The query with unknown words corrected (``Stoltemberg`` → ``Stoltenberg``), else None."""
        self.partial = partial
        """True when some shards did not answer (only with ``allow_partial=True``)."""

    @overload
    def __getitem__(self, index: int) -> Hit: ...
    @overload
    def __getitem__(self, index: slice) -> list[Hit]: ...
    def __getitem__(self, index: int | slice) -> Hit | list[Hit]:
        return self._hits[index]

    def __len__(self) -> int:
        return len(self._hits)

    def __repr__(self) -> str:
        return f"<Results {len(self)} of {self.total} for {self.query!r}>"


class Snapshot(Lexicon, Protocol):
    """One consistent state of an engine's index, lent to one search at a time."""

    partial: bool
    analyzer: Analyzer
    names: Analyzer

    def count(self) -> int: ...

    def ranked(self, plan: Plan, limit: int) -> tuple[list[tuple[dict[str, Any], float]], int]:
        """Stored fields and scores of the best paragraphs, and how many match in all."""
        ...


class Engine(Protocol):
    """Where paragraphs are stored and searched (an index folder, Xapian shards)."""

    path: str

    @property
    def analyzer(self) -> Analyzer: ...

    def snapshot(self, allow_partial: bool = False) -> AbstractContextManager[Snapshot]:
        """The latest committed state, for one search (then given back)."""
        ...

    def write(
        self,
        documents: list[Document],
        *,
        replace: bool,
        timeout: float,
        delete: Iterable[str] = (),
    ) -> None:
        """One commit: removes the ``delete`` ids, then adds (or replaces) ``documents``."""
        ...

    def delete(self, doc_ids: Iterable[str], *, timeout: float) -> int: ...

    def close(self) -> None: ...


class Index:
    """An open index. Use it as a context manager; one object serves many threads."""

    def __init__(self, engine: Engine, synonyms: Iterable[str | os.PathLike[str]] = ()):
        self._engine = engine
        self.path = engine.path
        self.synonyms = Synonyms.load(self.analyze, synonyms)
        self._closed = False

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<nato_search.Index {self.path}>"

    def close(self) -> None:
        self._closed = True
        self._engine.close()

    def __len__(self) -> int:
        """Number of indexed paragraphs."""
        with self._snapshot() as snapshot:
            return snapshot.count()

    def _snapshot(self, allow_partial: bool = False) -> AbstractContextManager[Snapshot]:
        self._check_open()
        return self._engine.snapshot(allow_partial)

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"index {self.path} is closed")

    def add(self, documents: Sources, *, timeout: float = LOCK_TIMEOUT) -> int:
        """Indexes new documents (files, folders or Documents); returns the paragraphs added.

        An id that is already indexed is a ``ValueError`` (use :meth:`update`).
        Sources are read in full before the index is touched, so a bad file
        changes nothing. Searches see the new paragraphs once this returns.
        """
        self._check_open()
        read = list(read_documents(documents))
        self._engine.write(read, replace=False, timeout=timeout)
        return sum(len(d.paragraphs) for d in read)

    def update(self, documents: Sources, *, timeout: float = LOCK_TIMEOUT) -> int:
        """Indexes documents, replacing every paragraph their ids held; returns the paragraphs written."""
        return self.replace(documents, delete=(), timeout=timeout)

    def replace(
        self, documents: Sources, *, delete: Iterable[str], timeout: float = LOCK_TIMEOUT
    ) -> int:
        """In one commit, removes the ``delete`` ids and indexes ``documents`` (replacing
        their ids); a search sees the index before or after, never between."""
        self._check_open()
        read = list(read_documents(documents))
        self._engine.write(read, replace=True, delete=list(delete), timeout=timeout)
        return sum(len(d.paragraphs) for d in read)

    def delete(self, doc_ids: Iterable[str] | str, *, timeout: float = LOCK_TIMEOUT) -> int:
        """Removes documents by id; returns the paragraphs removed (0 for unknown ids)."""
        self._check_open()
        ids = [doc_ids] if isinstance(doc_ids, str) else list(dict.fromkeys(doc_ids))
        return self._engine.delete(ids, timeout=timeout)

    def analyze(self, text: str) -> list[str]:
        """Terms of ``text`` as this index sees them."""
        return [term for term, *_ in analyze(text, self._engine.analyzer)]

    def search(
        self,
        query: str,
        limit: int = 10,
        *,
        fuzzy: bool = True,
        synonyms: bool = True,
        names: bool = True,
        allow_partial: bool = False,
    ) -> Results:
        """Paragraphs matching ``query`` (see :mod:`nato_search.query` for the syntax).

        ``fuzzy`` corrects words the index doesn't know, ``synonyms`` adds the
        synonym list's alternatives, ``names`` matches other transliterations of
        names; each counts below an exact match, and each can be switched off.
        ``allow_partial`` (sharded indexes) answers from the shards that are up,
        with ``Results.partial`` set, instead of raising.
        """
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ValueError(f"limit must be a positive whole number, not {limit!r}")
        with self._snapshot(allow_partial) as snapshot:
            plan, expander = self._plan(snapshot, query, Expansion(fuzzy, synonyms, names))
            if plan is None:
                return Results([], 0, query)
            rows, total = snapshot.ranked(plan, limit)
            suggestion = expander.suggestion(query)
            partial = snapshot.partial
        hits = [self._hit(stored, score, plan.query, snapshot) for stored, score in rows]
        return Results(hits, total, query, suggestion, partial)

    def plan(
        self, query: str, *, fuzzy: bool = True, synonyms: bool = True, names: bool = True
    ) -> Plan | None:
        """What :meth:`search` runs for ``query`` on the index as it is now (every form of
        every word, the proximity pairs); None for a query with nothing to search."""
        with self._snapshot() as snapshot:
            return self._plan(snapshot, query, Expansion(fuzzy, synonyms, names))[0]

    def _plan(
        self, snapshot: Snapshot, query: str, options: Expansion
    ) -> tuple[Plan | None, Expander]:
        def words(text: str) -> list[str]:
            return [term for term, *_ in analyze(text, snapshot.analyzer)]

        def name_keys(text: str) -> list[str]:
            return [term for term, *_ in analyze(text, snapshot.names)]

        expander = Expander(snapshot, self.synonyms, name_keys, options)
        parsed = parse(query, words)
        if not (parsed.include or parsed.exclude or parsed.dates):
            return None, expander
        parsed = expander.expand(parsed)
        near = tuple(_adjacent_words(parsed.include)) if PROXIMITY_BOOST > 0 else ()
        return Plan(parsed, near, ALL_WORDS_FIRST, PROXIMITY_BOOST), expander

    def _hit(self, stored: dict[str, Any], score: float, parsed: Query, snapshot: Snapshot) -> Hit:
        text = stored["text"]
        return Hit(
            doc_id=stored["doc_id"],
            title=stored["title"],
            date=dt.date.fromisoformat(stored["date"]) if stored.get("date") else None,
            paragraph=stored["paragraph"],
            text=text,
            score=float(score or 0.0),
            highlights=highlight(text, parsed, snapshot.analyzer, snapshot.names),
        )


def highlight(
    text: str, parsed: Query, analyzer: Analyzer, names: Analyzer | None = None
) -> list[tuple[int, int]]:
    """Spans of ``text`` that the query matched: its words anywhere, its phrases only where whole."""
    spans: set[tuple[int, int]] = set()
    for kind, chain in (("words", analyzer), ("names", names)):
        phrases = {t.terms for t in parsed.terms() if t.field == kind}
        if not phrases or chain is None:
            continue
        # the names field keeps only capitalized words in index mode, as the index saw them
        tokens = analyze(text, chain, "query" if kind == "words" else "index")
        singles = {p[0] for p in phrases if len(p) == 1}
        spans.update((start, end) for term, _, start, end in tokens if term in singles)
        for phrase in (p for p in phrases if len(p) > 1):
            n = len(phrase)
            for i in range(len(tokens) - n + 1):
                if tuple(tok[0] for tok in tokens[i : i + n]) == phrase:
                    spans.update((tok[2], tok[3]) for tok in tokens[i : i + n])
    return sorted(spans)


def _adjacent_words(clauses: list[Clause]) -> list[tuple[str, str]]:
    """Consecutive single words of the query, as typed (not their variants)."""
    words: list[str | None] = []
    for clause in clauses:
        exact = clause.clauses[0] if isinstance(clause, Variants) else clause
        if isinstance(exact, Terms) and exact.field == "words" and len(exact.terms) == 1:
            words.append(exact.terms[0])
        else:
            words.append(None)
    return [(a, b) for a, b in itertools.pairwise(words) if a and b]
