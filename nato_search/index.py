"""The facade: an open :class:`Index`, its writes, and the :class:`Hit`/:class:`Results`
of its searches, whatever engine holds it.

The ranking policy lives here and in :mod:`nato_search.query`; an engine
(:mod:`nato_search.engines.whoosh`, :mod:`nato_search.engines.xapian`) only stores
paragraphs and runs the engine-neutral plan it is given.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import numbers
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any, overload

from nato_search import vectors as word_vectors
from nato_search.engines.base import Engine, Snapshot
from nato_search.errors import (
    IndexClosedError,
    OptionError,
)
from nato_search.highlight import Highlighter
from nato_search.query import filters
from nato_search.query.expansion import Expander, Expansion, Synonyms
from nato_search.query.plan import (
    DATE_FACETS,
    SORT_BUILT_IN,
    Page,
    Plan,
    Row,
    key_term,
    sort_field,
)
from nato_search.query.syntax import Clause, FieldFilter, Query, Terms, Variants, parse
from nato_search.readers.corpus import Document, Sources, read_documents
from nato_search.rerank import reordered
from nato_search.settings import LOCK_TIMEOUT, RankingSettings
from nato_search.text.analyzer import analyze
from nato_search.text.snippets import make_snippet


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
    title_highlights: list[tuple[int, int]] = field(default_factory=list)
    """What the query matched in ``title`` (a title word counts in all its paragraphs)."""
    matched_all: bool = True
    """The paragraph (with its title) holds every word of the query."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """The document's metadata (JSONL keys other than id, title, date, text, paragraphs)."""
    page: int | None = None
    """The page (1-based) where the paragraph starts, for paged sources (PDF); else None."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: an ISO date, lists for offsets, and the text snippet."""
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "date": self.date.isoformat() if self.date else None,
            "paragraph": self.paragraph,
            "page": self.page,
            "score": self.score,
            "matched_all": self.matched_all,
            "text": self.text,
            "highlights": [list(span) for span in self.highlights],
            "title_highlights": [list(span) for span in self.title_highlights],
            "snippet": self.snippet("text"),
            "metadata": self.metadata,
        }

    def snippet(self, style: str = "text", *, max_chars: int = 240, max_fragments: int = 2) -> str:
        """The best fragment(s) of the paragraph with matches marked: ``text``, ``html`` or ``ansi``."""
        return make_snippet(
            self.text, self.highlights, style, max_chars=max_chars, max_fragments=max_fragments
        )


class Results(Sequence[Hit]):
    """Hits best first; ``total`` counts every matching paragraph, not just those returned.

    Plain values only, so it pickles, and stays whole after the index is closed."""

    def __init__(
        self,
        hits: list[Hit],
        total: int,
        query: str,
        suggestion: str | None = None,
        partial: bool = False,
        offset: int = 0,
        facets: dict[str, dict[str, int]] | None = None,
    ):
        self._hits = hits
        self.total = total
        """Every matching paragraph (document, with ``per_document``), counted on the snapshot
        the hits came from."""
        self.offset = offset
        """Hits skipped before the first one here."""
        self.facets = facets or {}
        """``{name: {value: count}}`` over every match, most frequent first."""
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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, hits included (:meth:`Hit.to_dict`)."""
        return {
            "query": self.query,
            "total": self.total,
            "offset": self.offset,
            "suggestion": self.suggestion,
            "partial": self.partial,
            "facets": self.facets,
            "hits": [hit.to_dict() for hit in self._hits],
        }


class Index:
    """An open index. Use it as a context manager; one object serves many threads."""

    def __init__(
        self,
        engine: Engine,
        synonyms: Iterable[str | os.PathLike[str]] = (),
        vectors: word_vectors.WordVectors | None = None,
    ):
        self._engine = engine
        self.path = engine.path
        self.backend = engine.backend
        """``whoosh`` (an index folder) or ``xapian`` (shards)."""
        self.settings = engine.ranking
        """How this index ranks and expands queries (:class:`RankingSettings`)."""
        self.synonyms = Synonyms.load(self.analyze, synonyms)
        self.vectors = vectors
        """Word vectors that reorder the best paragraphs of each search (None: none)."""
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
        """Number of indexed paragraphs (:attr:`documents` counts documents)."""
        with self._snapshot() as snapshot:
            return snapshot.count()

    @property
    def documents(self) -> int:
        """Number of indexed documents."""
        with self._snapshot() as snapshot:
            return snapshot.documents()

    def document(self, doc_id: str) -> Document | None:
        """The document as indexed (paragraphs in order, metadata), or None."""
        if not isinstance(doc_id, str):
            raise TypeError(f"doc_id must be a str, not {type(doc_id).__name__}")
        with self._snapshot() as snapshot:
            return _document(snapshot.document(doc_id))

    def _snapshot(self, allow_partial: bool = False) -> AbstractContextManager[Snapshot]:
        self._check_open()
        return self._engine.snapshot(allow_partial)

    def _check_open(self) -> None:
        if self._closed:
            raise IndexClosedError(f"index {self.path} is closed")

    def add(self, documents: Sources, *, timeout: float = LOCK_TIMEOUT) -> int:
        """Indexes new documents (files, folders or Documents); returns the paragraphs added.

        An id that is already indexed is a ``ValueError`` (use :meth:`update`).
        Sources are read in full before the index is touched, so a bad file
        changes nothing: it is a :class:`CorpusError` naming it (not skipped, as a build
        skips it). Searches see the new paragraphs once this returns.
        """
        self._check_open()
        read = list(read_documents(documents, strict=True))
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
        removed = _ids(delete)
        read = list(read_documents(documents, strict=True))
        self._engine.write(read, replace=True, delete=removed, timeout=timeout)
        return sum(len(d.paragraphs) for d in read)

    def delete(self, doc_ids: Iterable[str] | str, *, timeout: float = LOCK_TIMEOUT) -> int:
        """Removes documents by id; returns the paragraphs removed (0 for unknown ids)."""
        self._check_open()
        return self._engine.delete(_ids(doc_ids), timeout=timeout)

    def analyze(self, text: str) -> list[str]:
        """Terms of ``text`` as this index sees them."""
        return [term for term, *_ in analyze(text, self._engine.analyzer)]

    def search(
        self,
        query: str | None,
        limit: int = 10,
        *,
        offset: int = 0,
        filter: str | Mapping[str, Any] | None = None,
        sort: str | Sequence[str] | None = None,
        per_document: int | None = None,
        facets: Iterable[str] | None = (),
        recency: float | None = None,
        prefix: bool = False,
        fuzzy: bool = True,
        synonyms: bool = True,
        names: bool = True,
        vectors: bool = True,
        allow_partial: bool = False,
    ) -> Results:
        """Paragraphs matching ``query`` (see :mod:`nato_search.query.syntax` for the syntax).

        ``offset`` skips that many hits (``search(q, 10, offset=10)`` is
        ``search(q, 20)[10:]``, same total). ``filter`` is an expression
        (``"source = AFP AND pages >= 10"``; see :mod:`nato_search.query.filters`) or a
        dict, which keeps paragraphs holding, for every key, its value or one of its list
        of values, exactly; a field no paragraph has is an :class:`OptionError`.

        An empty ``query`` (``""``, blanks or None) is a placeholder search: every paragraph
        the filter keeps, in index order (document id, then paragraph) or the ``sort``'s,
        with ``total`` and facets. ``sort`` is None (relevance), a field (``"date"``,
        ``"year"``, ``"doc_id"``, a metadata key) or ``"-field"`` for descending, or a
        list of them (``["source", "-date"]``): each tie is broken by the next, then by
        relevance; numbers sort numerically, a paragraph without a value comes last either
        way, one with several values sorts by its least (ascending) or greatest. ``recency``
        (days, > 0) halves each paragraph's relevance for every that many days it is older
        than the index's newest dated paragraph (undated ones count as the oldest).
        ``per_document`` keeps each document's
        best that many paragraphs, and ``total`` then counts documents. ``facets`` names
        what to count over every match (``year``, ``month``, ``doc_id``, metadata keys) in
        ``Results.facets``. ``prefix`` also matches words that start with the query's last
        word (3+ letters, not followed by a space or punctuation), below the word itself.

        ``fuzzy`` corrects words the index doesn't know, ``synonyms`` adds the
        synonym list's alternatives, ``names`` matches other transliterations of
        names; each counts below an exact match, and each can be switched off.
        ``allow_partial`` (sharded indexes) answers from the shards that are up,
        with ``Results.partial`` set, instead of raising.
        """
        if query is None:
            query = ""
        if not isinstance(query, str):
            raise OptionError("q", f"the query is a str or None, not {type(query).__name__}")
        page = _page(limit, offset, sort, per_document, facets, recency)
        expression = _expression(filter)
        switches = dict(prefix=prefix, fuzzy=fuzzy, synonyms=synonyms, names=names)
        for name, value in {**switches, "vectors": vectors, "allow_partial": allow_partial}.items():
            if not isinstance(value, bool):
                raise OptionError(name, f"{name} must be True or False, not {value!r:.60}")
        with self._snapshot(allow_partial) as snapshot:
            options = Expansion(fuzzy, synonyms, names)
            plan, expander = self._plan(snapshot, query, options, prefix=prefix)
            if plan is not None and plan.query.filters:
                expression = _with_fields(expression, plan.query.filters)
            page = _resolved(page, expression, snapshot)
            if plan is None:
                return Results([], 0, query, offset=offset, facets={f: {} for f in page.facets})
            words = (
                self.vectors
                if vectors and query.strip() and not page.sort and not page.per_document
                else None
            )
            if words is None:
                ranking = snapshot.ranked(plan, page)
            else:
                need = max(page.offset + page.limit, self.settings.vector_depth)
                ranking = snapshot.ranked(plan, replace(page, offset=0, limit=need))
                ranking.rows = reordered(ranking.rows, plan.query, snapshot, words, self.settings)
                ranking.rows = ranking.rows[page.offset : page.offset + page.limit]
            suggestion = expander.suggestion(query)
            partial = snapshot.partial
            marks = _marks(plan.query, snapshot)
        hits = [self._hit(row, marks, snapshot) for row in ranking.rows]
        return Results(hits, ranking.total, query, suggestion, partial, offset, ranking.facets)

    def more_like(self, doc_id: str, paragraph: int | None = None, limit: int = 10) -> Results:
        """Paragraphs of other documents like that paragraph (or the whole document): a
        search for its ``settings.more_like_terms`` most distinctive terms (tf × idf), ranked by
        BM25 like any search; ``Results.query`` lists them. No hits for an unknown id."""
        page = _page(limit, 0, None, None, (), None)
        with self._snapshot() as snapshot:
            document = _document(snapshot.document(doc_id))
            if document is None:
                return Results([], 0, "")
            if paragraph is not None and not (
                _whole(paragraph) and 0 <= paragraph < len(document.paragraphs)
            ):
                raise ValueError(
                    f"paragraph must be None or 0 to {len(document.paragraphs) - 1} "
                    f"for {doc_id!r}, not {paragraph!r}"
                )
            chosen = (
                document.paragraphs if paragraph is None else [document.paragraphs[int(paragraph)]]
            )
            terms = _distinctive(
                snapshot,
                [self.analyze(p) for p in document.paragraphs],
                chosen,
                self.analyze,
                self.settings.more_like_terms,
            )
            if not terms:
                return Results([], 0, "")
            exclude: list[Clause] = [Terms(doc_id, (key_term("doc_id", doc_id),), "keys")]
            parsed = Query(" ".join(terms), [Terms(t, (t,)) for t in terms], exclude)
            ranking = snapshot.ranked(Plan(parsed, (), False, 0.0), page)
            marks = _marks(parsed, snapshot)
        hits = [self._hit(row, marks, snapshot) for row in ranking.rows]
        return Results(hits, ranking.total, parsed.text, partial=snapshot.partial)

    def plan(
        self, query: str, *, fuzzy: bool = True, synonyms: bool = True, names: bool = True
    ) -> Plan | None:
        """What :meth:`search` runs for ``query`` on the index as it is now (every form of
        every word, the proximity pairs); None for a query with nothing to search."""
        with self._snapshot() as snapshot:
            return self._plan(snapshot, query, Expansion(fuzzy, synonyms, names))[0]

    def _plan(
        self, snapshot: Snapshot, query: str, options: Expansion, *, prefix: bool = False
    ) -> tuple[Plan | None, Expander]:
        def words(text: str) -> list[str]:
            return [term for term, *_ in analyze(text, snapshot.analyzer)]

        def name_keys(text: str) -> list[str]:
            return [term for term, *_ in analyze(text, snapshot.names)]

        settings = self.settings
        expander = Expander(snapshot, self.synonyms, name_keys, options, settings)
        if not query.strip():  # a placeholder search: every paragraph
            return Plan(Query(query), all_words_first=settings.all_words_first), expander
        keys: list[str] = []
        if ":" in query:  # only then can it name a field (source:AFP); Xapian asks its shards
            keys = ["doc_id", *(k for k in snapshot.key_names() if k not in filters.BUILT_IN)]
        parsed = parse(query, words, keys)
        if not (parsed.include or parsed.exclude or parsed.dates):
            if parsed.filters:  # only fields (source:AFP): a placeholder search, filtered
                placeholder = Query(query, filters=parsed.filters)
                return Plan(placeholder, all_words_first=settings.all_words_first), expander
            return None, expander
        coarse = (
            _coarse_prefixes(parsed, settings.coarse_letters) if settings.coarse_weight > 0 else ()
        )
        parsed = expander.expand(parsed)
        if prefix:
            _complete_last_word(snapshot, query, parsed, settings)
        near = tuple(_adjacent_words(parsed.include)) if settings.proximity_boost > 0 else ()
        plan = Plan(
            parsed,
            near,
            settings.all_words_first,
            settings.proximity_boost,
            coarse,
            settings.coarse_weight,
        )
        return plan, expander

    def _hit(self, row: Row, marks: tuple[Highlighter, Highlighter], snapshot: Snapshot) -> Hit:
        stored = row.stored
        text, title = stored["text"], stored["title"]
        return Hit(
            doc_id=stored["doc_id"],
            title=title,
            date=dt.date.fromisoformat(stored["date"]) if stored.get("date") else None,
            paragraph=stored["paragraph"],
            text=text,
            score=float(row.score or 0.0),
            highlights=marks[0](text),
            title_highlights=marks[1](title),
            matched_all=row.matched_all,
            metadata=_metadata(stored),
            page=stored.get("page"),
        )


def _ids(doc_ids: Iterable[str] | str) -> list[str]:
    """Document ids as given (one str, or an iterable of them), each once, checked."""
    if isinstance(doc_ids, (bytes, bytearray)) or not isinstance(doc_ids, (str, Iterable)):
        raise TypeError(
            f"document ids are a str or an iterable of str, not {type(doc_ids).__name__}"
        )
    ids = [doc_ids] if isinstance(doc_ids, str) else list(dict.fromkeys(doc_ids))
    for doc_id in ids:
        if not isinstance(doc_id, str):
            raise TypeError(f"document ids are str, not {type(doc_id).__name__} ({doc_id!r:.60})")
    return ids


def _metadata(stored: Mapping[str, Any]) -> dict[str, Any]:
    meta = stored.get("meta")
    found = json.loads(meta) if isinstance(meta, str) else meta
    return dict(found) if isinstance(found, dict) else {}


def _document(paragraphs: list[dict[str, Any]]) -> Document | None:
    if not paragraphs:
        return None
    paragraphs = sorted(paragraphs, key=lambda stored: int(stored["paragraph"]))
    first = paragraphs[0]
    return Document(
        id=first["doc_id"],
        title=first["title"],
        date=dt.date.fromisoformat(first["date"]) if first.get("date") else None,
        paragraphs=[stored["text"] for stored in paragraphs],
        metadata=_metadata(first),
        pages=[stored["page"] for stored in paragraphs] if "page" in first else None,
    )


def _page(
    limit: int,
    offset: int,
    sort: str | Sequence[str] | None,
    per_document: int | None,
    facets: Iterable[str] | None,
    recency: float | None,
) -> Page:
    """The search options, checked (a bad one is an :class:`OptionError` naming it)."""
    if not _whole(limit) or limit < 1:
        raise OptionError("limit", f"limit must be a positive whole number, not {limit!r:.60}")
    if not _whole(offset) or offset < 0:
        raise OptionError("offset", f"offset must be a whole number, 0 or more, not {offset!r:.60}")
    if recency is not None and not (
        isinstance(recency, numbers.Real)
        and not isinstance(recency, bool)
        and 0 < float(recency) < math.inf
    ):
        raise OptionError(
            "recency", f"recency must be None or a number of days above 0, not {recency!r:.60}"
        )
    if per_document is not None and (not _whole(per_document) or per_document < 1):
        raise OptionError(
            "per_document",
            f"per_document must be None or a positive whole number, not {per_document!r:.60}",
        )
    names = [] if facets is None else [facets] if isinstance(facets, str) else list(facets)
    for name in names:
        if not isinstance(name, str) or not name or "=" in name:
            raise OptionError(
                "facets",
                "facets must be names without '=' (year, month, doc_id, metadata keys), "
                f"not {name!r:.60}",
            )
    return Page(
        int(limit),
        int(offset),
        None,
        _sort(sort),
        None if per_document is None else int(per_document),
        tuple(dict.fromkeys(names)),
        None if recency is None else float(recency),
    )


def _sort(sort: str | Sequence[str] | None) -> tuple[str, ...]:
    """The sort fields, checked for their form (their names are checked on the index)."""
    if sort is None:
        return ()
    specs = [sort] if isinstance(sort, str) else sort
    if not isinstance(specs, Sequence) or not specs:
        raise OptionError("sort", f"sort is a field, '-field' or a list of them, not {sort!r:.60}")
    seen: set[str] = set()
    for spec in specs:
        if not isinstance(spec, str) or spec in ("", "-") or spec.startswith("--"):
            raise OptionError(
                "sort", f"sort fields are names, '-' before for descending, not {spec!r:.60}"
            )
        name = sort_field(spec)[0]
        if name in seen:
            raise OptionError("sort", f"sort: {filters.shown(name)} is given twice")
        seen.add(name)
    return tuple(specs)


def _whole(value: object) -> bool:
    """A whole number of any integer type (NumPy's too), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _expression(filter: str | Mapping[str, Any] | None) -> filters.Expression | None:
    """The filter parsed (its syntax checked before the index is read)."""
    if filter is None:
        return None
    if isinstance(filter, Mapping):
        return filters.from_mapping(filter)
    if not isinstance(filter, str):
        raise OptionError(
            "filter",
            f"filter is an expression or a dict of key: value(s), not {type(filter).__name__}",
        )
    return filters.parse(filter)


def _marks(parsed: Query, snapshot: Snapshot) -> tuple[Highlighter, Highlighter]:
    """What marks a hit's text and its title: a word scoped to one (``title:otan``) is
    marked only there."""
    analyzer, names = snapshot.analyzer, snapshot.names
    looked_up: dict[frozenset[str], set[str] | None] = {}

    def written(terms: Iterable[str]) -> set[str] | None:  # both ask for the same terms
        key = frozenset(terms)
        if key not in looked_up:
            looked_up[key] = snapshot.written(key)
        return looked_up[key]

    return (
        Highlighter(parsed, analyzer, names, written, scope="text"),
        Highlighter(parsed, analyzer, names, written, scope="title"),
    )


def _with_fields(
    expression: filters.Expression | None, fields: Sequence[FieldFilter]
) -> filters.Expression:
    """The filter and the query's metadata fields (``source:AFP``), all of them holding."""
    parts: list[filters.Filter] = [] if expression is None else [expression.tree]
    for written in fields:
        op = "=" if len(written.values) == 1 else "IN"
        condition = filters.Condition(written.field, op, written.values, written.position)
        parts.append(filters.Not(condition) if written.negated else condition)
    return filters.Expression(filters.And(tuple(parts)))


def _resolved(page: Page, expression: filters.Expression | None, snapshot: Snapshot) -> Page:
    """The page with its filter resolved on ``snapshot``, and its facet names checked."""
    if wanted := [f for f in page.facets if f not in ("doc_id", *DATE_FACETS)]:
        names = snapshot.key_names()
        for facet in wanted:
            if facet not in names:
                known = filters.listed(["doc_id", *DATE_FACETS, *names])
                raise OptionError(
                    "facets", f"facets: unknown name {filters.shown(facet)}; known names: {known}"
                )
    if wanted := [n for n, _ in map(sort_field, page.sort) if n not in SORT_BUILT_IN]:
        names = snapshot.key_names()
        for name in wanted:
            if name not in names:
                known = filters.listed([*SORT_BUILT_IN, *names])
                raise OptionError(
                    "sort", f"sort: unknown field {filters.shown(name)}; known fields: {known}"
                )
    if expression is None:
        return page
    return replace(page, filter=filters.resolve(expression, snapshot))


_LAST_WORD = re.compile(r"(?:^|[\s(])(\w[\w'’-]*)$")


def _complete_last_word(
    snapshot: Snapshot, typed: str, parsed: Query, settings: RankingSettings
) -> None:
    """The query's last word, still being typed, also matches the words it starts
    (``muni`` → ``munitions``), at ``settings.prefix_weight``; in place, on the last clause."""
    found = _LAST_WORD.search(typed)
    letters = sum(c.isalpha() for c in found[1]) if found else 0
    if not found or letters < settings.prefix_min_letters or not parsed.include:
        return
    last = parsed.include[-1]
    forms = last.clauses if isinstance(last, Variants) else (last,)
    exact = forms[0]
    if not (isinstance(exact, Terms) and exact.field == "words" and len(exact.terms) == 1):
        return
    if exact.text != found[1]:
        return
    have = {t.terms for t in forms if isinstance(t, Terms)}
    completions = [
        Terms(word, (word,), "words", settings.prefix_weight)
        for word in snapshot.completions(exact.terms[0], settings.prefix_completions)
        if (word,) not in have
    ]
    if completions:
        parsed.include[-1] = Variants((*forms, *completions))


def _distinctive(
    snapshot: Snapshot,
    document: list[list[str]],
    chosen: list[str],
    analyze_text: Any,
    limit: int,
) -> list[str]:
    """The ``limit`` terms of ``chosen`` with the highest tf × idf that other
    documents also hold, best first (then alphabetically)."""
    inside = Counter(term for terms in document for term in set(terms))
    tf = Counter(term for text in chosen for term in analyze_text(text))
    paragraphs = max(snapshot.count(), 1)
    weights = []
    for term, count in tf.items():
        holding = snapshot.frequency(term)
        if holding > inside[term]:
            weights.append((-count * math.log(1 + paragraphs / holding), term))
    return [term for _, term in sorted(weights)[:limit]]


def _coarse_prefixes(parsed: Query, letters: int) -> tuple[str, ...]:
    """The first letters of each distinct word typed (in phrases too, not excluded):
    words of letters only, since a number's first digits say nothing of its meaning."""
    terms = dict.fromkeys(t for c in parsed.terms() if c.field == "words" for t in c.terms)
    return tuple(sorted(t[:letters] for t in terms if t.isalpha()))


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
