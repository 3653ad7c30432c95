"""The Whoosh backend: the embedded default, an index folder with no server.

Translates the engine-neutral query plan to Whoosh queries, ranks with BM25,
and lends searches a searcher from a bounded pool, replaced when the index changes.
"""

from __future__ import annotations

import os
import pickle
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from math import log
from typing import Any, TypeVar

import whoosh
from whoosh import index as windex
from whoosh import query as wq
from whoosh import scoring
from whoosh.analysis import Analyzer
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.filetables import FileFormatError
from whoosh.index import TOC
from whoosh.index import Index as WhooshIndex
from whoosh.matching import AndNotMatcher, DisjunctionMaxMatcher, Matcher
from whoosh.searching import Searcher
from whoosh.support.levenshtein import distance

from . import search as policy
from .analysis import analyze
from .corpus import Document
from .pool import Pool
from .query import AnyOf, Clause, Plan, Query, Terms, Variants
from .schema import META_FILE, day_key
from .search import IndexDamagedError, damage_message
from .writing import open_writer, write_documents

T = TypeVar("T")


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
    """An index folder; one object serves many threads.

    Searches borrow a searcher from a bounded pool. Before each search the
    pool checks the folder's identity (its metadata file, which a rebuild
    replaces) and Whoosh's commit generation, so a long-running process sees
    what any other process committed, rebuilds included.
    """

    def __init__(self, path: str, validate: Callable[[], None] = lambda: None):
        self.path = path
        self.analyzer: Analyzer
        """The analyzer of the latest build opened (a rebuild may change the stemmer)."""
        self._validate = validate
        self._opened: tuple[object, WhooshIndex] | None = None
        self._opening = threading.Lock()
        self._pool: Pool[WhooshSnapshot] = Pool(
            self._open_snapshot, WhooshSnapshot.close, self._is_current
        )
        self._open_snapshot().close()  # damage and missing files show now, not on a search

    @property
    def open_searchers(self) -> int:
        return self._pool.open_readers

    def _identity(self) -> tuple[object, int]:
        """Which build is at ``path`` (its metadata file), and its latest commit."""
        meta = os.stat(os.path.join(self.path, META_FILE))
        build = (meta.st_dev, meta.st_ino, meta.st_mtime_ns)
        return build, TOC._latest_generation(FileStorage(self.path), "MAIN")

    def _index(self, build: object) -> WhooshIndex:
        """The Whoosh index of that build, reopened (and its settings checked) after a rebuild."""
        with self._opening:
            if self._opened is None or self._opened[0] != build:
                self._validate()
                ix = _retry_replaced(self.path, lambda: windex.open_dir(self.path))
                # ix.schema reads the table of contents again, which a commit may replace
                schema = _retry_replaced(self.path, lambda: ix.schema)
                self.analyzer = schema["text"].analyzer
                self._opened = (build, ix)
            return self._opened[1]

    def _open_snapshot(self) -> WhooshSnapshot:
        def attempt() -> WhooshSnapshot:
            identity = self._identity()
            ix = self._index(identity[0])
            searcher = ix.searcher(weighting=_weighting())
            if searcher.reader().generation() != identity[1]:
                searcher.close()
                raise FileNotFoundError("a commit landed while the searcher opened")
            schema = searcher.schema
            return WhooshSnapshot(
                searcher, identity, schema["text"].analyzer, schema["names"].analyzer
            )

        return _retry_replaced(self.path, attempt)

    def _is_current(self, snapshot: WhooshSnapshot) -> bool:
        try:
            return snapshot.identity == self._identity()
        except OSError:
            return False

    @contextmanager
    def snapshot(self, allow_partial: bool = False) -> Iterator[WhooshSnapshot]:
        """The latest committed state, lent to this search alone."""
        try:
            with self._pool.lease() as snapshot:
                yield snapshot
        except Exception as exc:
            if _is_damage(exc):
                raise IndexDamagedError(damage_message(self.path, exc)) from exc
            raise

    def write(
        self,
        documents: list[Document],
        *,
        replace: bool,
        timeout: float,
        delete: Iterable[str] = (),
    ) -> None:
        with open_writer(self.path, timeout) as writer:
            for doc_id in delete:
                writer.delete_by_term("doc_id", doc_id)
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
        with open_writer(self.path, timeout) as writer:
            return sum(writer.delete_by_term("doc_id", doc_id) for doc_id in doc_ids)

    def close(self) -> None:
        self._pool.close()


# Whoosh reports unreadable segment data with these; and with a bare Exception
# ("Block tag error") or an IndexError, KeyError, ValueError or OverflowError raised
# inside its storage code, where only bad bytes can cause them.
_DAMAGE_TYPES = (
    zlib.error,
    struct.error,
    EOFError,
    pickle.UnpicklingError,
    UnicodeDecodeError,
    FileFormatError,
)
_DAMAGE_IN_STORAGE = (Exception, IndexError, KeyError, ValueError, OverflowError)
_STORAGE_CODE = tuple(
    os.path.join(os.path.dirname(whoosh.__file__), part, "") for part in ("codec", "filedb", "util")
)


def _retry_replaced(path: str, attempt: Callable[[], T], tries: int = 20) -> T:
    """``attempt()``, again when a commit in another process replaced a file under it."""
    for remaining in range(tries - 1, -1, -1):
        try:
            return attempt()
        except FileNotFoundError:
            if remaining == 0 or not os.path.isdir(path):
                raise
        except Exception as exc:
            if remaining == 0 or not _is_damage(exc):
                raise
        time.sleep(0.01)
    raise AssertionError("unreachable")


def _is_damage(exc: BaseException) -> bool:
    if isinstance(exc, _DAMAGE_TYPES):
        return True
    if type(exc) not in _DAMAGE_IN_STORAGE or exc.__traceback__ is None:
        return False
    innermost = exc.__traceback__
    while innermost.tb_next is not None:
        innermost = innermost.tb_next
    return innermost.tb_frame.f_code.co_filename.startswith(_STORAGE_CODE)


class WhooshSnapshot:
    """One committed state of the index: its vocabulary and its searches (one search at a time)."""

    partial = False

    def __init__(
        self, searcher: Searcher, identity: tuple[object, int], analyzer: Analyzer, names: Analyzer
    ):
        self.searcher = searcher
        self.reader = searcher.reader()
        self.identity = identity
        self.analyzer = analyzer
        self.names = names

    def close(self) -> None:
        self.searcher.close()

    def count(self) -> int:
        count: int = self.searcher.doc_count()
        return count

    def known(self, term: str) -> bool:
        frequency: int = self.reader.doc_frequency("text", term)
        return frequency > 0

    def frequency(self, term: str, field: str = "words") -> int:
        frequency: int = self.reader.doc_frequency("text" if field == "words" else field, term)
        return frequency

    def similar(self, term: str, max_edits: int) -> list[tuple[str, int, int]]:
        found = []
        # One shared first letter: typos there are rare, and the prefix makes the scan fast.
        for candidate in self.reader.terms_within("text", term, max_edits, prefix=1):
            if candidate != term:
                edits = distance(candidate, term)
                found.append((candidate, edits, self.reader.doc_frequency("text", candidate)))
        return found

    def ranked(self, plan: Plan, limit: int) -> tuple[list[tuple[dict[str, Any], float]], int]:
        """Stored fields and scores of the best paragraphs, and how many match in all."""
        searcher, parsed = self.searcher, plan.query
        include = [_to_whoosh(c) for c in parsed.include]
        restrict = _date_filter(parsed)
        if restrict is not None:
            # Whoosh reads an empty filter as "no filter", so an empty period must stop here.
            restrict = set(searcher.docs_for_query(restrict))
            if not restrict:
                return [], 0
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
        order = [(h.docnum, h.score) for h in ranked]
        if tiered:
            all_words = wq.AndMaybe(wq.And(include), _Union(near)) if near else wq.And(include)
            all_words = searcher.search(all_words, limit=limit, filter=restrict, mask=mask)
            first = [(h.docnum, h.score) for h in all_words]
            seen = {docnum for docnum, _ in first}
            order = first + [(docnum, score) for docnum, score in order if docnum not in seen]
        rows = [(searcher.stored_fields(d), score) for d, score in order[:limit]]
        return rows, len(ranked)

    def surface(self, term: str) -> str | None:
        for docnum in self.searcher.docs_for_query(wq.Term("text", term)):
            text = self.searcher.stored_fields(docnum)["text"]
            for found, _, start, end in analyze(text, self.analyzer):
                if found == term:
                    return str(text[start:end])
        return None


def _to_whoosh(clause: Clause) -> wq.Query:
    if isinstance(clause, Terms):
        if clause.field == "names":
            return wq.Term("names", clause.terms[0], boost=clause.weight)
        return _field_query("text", clause.terms, clause.weight)
    children = [_to_whoosh(c) for c in clause.clauses]
    if isinstance(clause, Variants):
        return BestOf(children)
    if isinstance(clause, AnyOf):
        return _Union(children)
    group = wq.And(children)
    if clause.exclude:
        return _Without(group, _Union([_to_whoosh(c) for c in clause.exclude]))
    return group


class _WithoutMatcher(AndNotMatcher):
    """Whoosh-Reloaded 2.7.5's AndNot matcher returns its first document unchecked when
    the excluded matcher starts on an earlier one; this one skips it there first."""

    def _find_first(self) -> None:
        if self.a.is_active() and self.b.is_active():
            self._find_next()


class _Without(wq.AndNot):
    """Matches ``a`` but not ``b``."""

    def matcher(self, searcher: Searcher, context: Any = None) -> AndNotMatcher:
        excluded = self.b.matcher(searcher, searcher.boolean_context())
        return _WithoutMatcher(self.a.matcher(searcher, context), excluded)


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
        score: float
        if a.is_active() and b.is_active():
            if a.id() == b.id():
                score = max(a.score(), b.score())
            else:
                score = a.score() if a.id() < b.id() else b.score()
        else:
            score = a.score() if a.is_active() else b.score()
        return score


class BestOf(wq.DisjunctionMax):
    """Matches any subquery, scored by the best one that matched this document."""

    def _matcher(self, subs: list[wq.Query], searcher: Searcher, context: Any) -> Matcher:
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
