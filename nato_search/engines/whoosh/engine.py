"""The Whoosh backend: the embedded default, an index folder with no server.

Whoosh holds the paragraphs: it writes, updates, deletes and stores them, and
its folder is the one source of truth (stock Whoosh-Reloaded opens it). Queries
are ranked by :mod:`.bm25` over NumPy arrays kept beside each Whoosh
segment (:mod:`.arrays`); Whoosh then reads the stored fields of the
hits. Searches borrow a snapshot from a bounded pool, replaced when the index
changes.
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
from typing import Any, TypeVar

import whoosh
from whoosh.analysis import Analyzer
from whoosh.filedb.filestore import FileStorage
from whoosh.index import EmptyIndexError
from whoosh.index import Index as WhooshIndex
from whoosh.reading import TermNotFound
from whoosh.searching import Searcher

from nato_search.engines.fields import IN_FIRST, META_FILE
from nato_search.engines.pool import Pool
from nato_search.engines.whoosh import arrays_file, whoosh_private
from nato_search.engines.whoosh.bm25 import Collection, ScoredSegment
from nato_search.engines.whoosh.whoosh_private import FileFormatError
from nato_search.engines.whoosh.writer import open_writer, write_documents
from nato_search.errors import IndexDamagedError, damage_message
from nato_search.query.plan import Page, Plan, Ranking, Row
from nato_search.readers.corpus import Document
from nato_search.settings import DEFAULT_SETTINGS, RankingSettings
from nato_search.text.analyzer import analyze

T = TypeVar("T")


class WhooshEngine:
    """An index folder; one object serves many threads.

    Searches borrow a searcher from a bounded pool. Before each search the
    pool checks the folder's identity (its metadata file, which a rebuild
    replaces) and Whoosh's commit generation, so a long-running process sees
    what any other process committed, rebuilds included.
    """

    backend = "whoosh"

    def __init__(
        self,
        path: str,
        validate: Callable[[], None] = lambda: None,
        settings: RankingSettings = DEFAULT_SETTINGS,
    ):
        self.path = path
        self.ranking = settings
        self.analyzer: Analyzer
        """The analyzer of the latest build opened (a rebuild may change the stemmer)."""
        self._validate = validate
        self._opened: tuple[object, WhooshIndex] | None = None
        self._scored: tuple[tuple[object, int], Collection] | None = None
        self._opening = threading.Lock()
        self._pool: Pool[WhooshSnapshot] = Pool(
            self._open_snapshot, WhooshSnapshot.close, self._identity, lambda s: s.identity
        )
        self._open_snapshot().close()  # damage and missing files show now, not on a search

    @property
    def open_searchers(self) -> int:
        return self._pool.open_readers

    def _identity(self) -> tuple[object, int]:
        """Which build is at ``path`` (its metadata file), and its latest commit."""
        meta = os.stat(os.path.join(self.path, META_FILE))
        build = (meta.st_dev, meta.st_ino, meta.st_mtime_ns)
        return build, whoosh_private.latest_generation(self.path)

    def _index(self, build: object) -> WhooshIndex:
        """The Whoosh index of that build, reopened (and its settings checked) after a rebuild."""
        with self._opening:
            if self._opened is None or self._opened[0] != build:
                self._validate()
                # No mmap: Whoosh copies each memory-mapped part of a compound segment into a
                # BytesIO (the whole segment, per reader); read through a file, it copies nothing.
                storage = FileStorage(self.path, supports_mmap=False)
                ix = _retry_replaced(self.path, storage.open_index)
                # ix.schema reads the table of contents again, which a commit may replace
                schema = _retry_replaced(self.path, lambda: ix.schema)
                self.analyzer = schema["text"].analyzer
                self._opened = (build, ix)
            return self._opened[1]

    def _open_snapshot(self) -> WhooshSnapshot:
        def attempt() -> WhooshSnapshot:
            identity = self._identity()
            ix = self._index(identity[0])
            searcher = ix.searcher()
            try:
                if searcher.reader().generation() != identity[1]:
                    raise FileNotFoundError("a commit landed while the searcher opened")
                collection = self._collection(searcher, identity)
            except BaseException:
                searcher.close()
                raise
            schema = searcher.schema
            return WhooshSnapshot(
                searcher, identity, collection, schema["text"].analyzer, schema["names"].analyzer
            )

        return _retry_replaced(self.path, attempt)

    def _collection(self, searcher: Searcher, identity: tuple[object, int]) -> Collection:
        """The scorer's view of a commit, one for every pooled searcher of that commit:
        its arrays are read-only (memory-mapped), so threads share it."""
        with self._opening:
            if self._scored is not None and self._scored[0] == identity:
                return self._scored[1]
        # Only writers save arrays, under the lock: a reader saving them could race a merge
        # and leave the file of a segment that no longer exists. A segment without them
        # (an older index, a writer killed right after its commit) is read into memory.
        segments = [
            ScoredSegment(
                arrays_file.for_reader(self.path, leaf, persist=False),
                ~whoosh_private.deleted_mask(leaf.segment()),
                base,
            )
            for leaf, base in searcher.reader().leaf_readers()
        ]
        collection = Collection(segments, self.ranking)
        with self._opening:
            self._scored = (identity, collection)
        return collection

    @contextmanager
    def snapshot(self, allow_partial: bool = False) -> Iterator[WhooshSnapshot]:
        """The latest committed state, lent to this search alone."""
        try:
            with self._pool.lease() as snapshot:
                for segment in snapshot.collection.segments:
                    arrays_file.check_size(segment.arrays)
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
                taken = [d.id for d in documents if _holds(reader, d.id)]
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


def _holds(reader: Any, doc_id: str) -> bool:
    """Whether a live paragraph has ``doc_id`` (a term's document frequency counts the
    paragraphs deleted since its segment was written too)."""
    try:
        return bool(reader.postings("doc_id", doc_id).is_active())
    except TermNotFound:
        return False


# Whoosh reports unreadable segment data with these; and with a bare Exception
# ("Block tag error") or an IndexError, KeyError, ValueError or OverflowError raised
# inside its storage code, where only bad bytes can cause them.
_DAMAGE_TYPES = (
    arrays_file.ArraysDamagedError,
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
        except (FileNotFoundError, EmptyIndexError):
            # EmptyIndexError: the folder's listing showed no table of contents, which a
            # listing taken while a commit renames its new one in can miss (seen once in
            # ~30 soak runs on ext4); Whoosh retries such misses only for IOError.
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
        self,
        searcher: Searcher,
        identity: tuple[object, int],
        collection: Collection,
        analyzer: Analyzer,
        names: Analyzer,
    ):
        self.searcher = searcher
        self.reader = searcher.reader()
        self.identity = identity
        self.collection = collection
        self.analyzer = analyzer
        self.names = names

    def close(self) -> None:
        self.searcher.close()

    def count(self) -> int:
        return self.collection.live_count

    def known(self, term: str) -> bool:
        return self.collection.frequency(term) > 0

    def frequency(self, term: str, field: str = "words") -> int:
        return self.collection.frequency(term, field)

    def similar(self, term: str, max_edits: int) -> list[tuple[str, int, int]]:
        return self.collection.similar(term, max_edits)

    def similar_written(self, typed: str, max_edits: int) -> list[tuple[str, int, int, str]]:
        spans = analyze(typed, self.analyzer)
        if len(spans) != 1:
            return []
        word = typed[spans[0][2] : spans[0][3]]  # without an elision: l'Ukrane -> Ukrane
        found: dict[str, int] = {}
        for form in dict.fromkeys((word, word.lower(), word[:1].upper() + word[1:].lower())):
            near = self.collection.similar_written(form, max_edits)
            if near is None:
                return []
            for written, edits in near.items():
                found[written] = min(edits, found.get(written, edits))
        similar = []
        for written, edits in found.items():
            terms = analyze(written, self.analyzer, "index")
            if len(terms) == 1 and (frequency := self.collection.frequency(terms[0][0])):
                similar.append((terms[0][0], edits, frequency, written))
        return similar

    def ranked(self, plan: Plan, page: Page) -> Ranking:
        """The page's paragraphs (stored fields, score), how many match, and the facets."""
        best, total, facets = self.collection.rank(plan, page)
        rows = [Row(self.searcher.stored_fields(n), score, full) for n, score, full in best]
        firsts: dict[str, Any] = {}
        for row, (number, _, _) in zip(rows, best, strict=True):
            if row.stored.get("meta") is IN_FIRST:
                doc_id = row.stored["doc_id"]
                if doc_id not in firsts:
                    firsts[doc_id] = self._first(number - int(row.stored["paragraph"]), doc_id)
                row.stored["meta"] = firsts[doc_id].get("meta")
        return Ranking(rows, total, facets)

    def _first(self, number: int, doc_id: str) -> dict[str, Any]:
        """The stored fields of ``doc_id``'s first paragraph, which hold its metadata: at
        ``number`` (a document's paragraphs lie together, in order), else wherever it is."""
        if number >= 0:
            found = self.searcher.stored_fields(number)
            if found.get("doc_id") == doc_id and found.get("paragraph") == 0:
                return dict(found)
        return next(
            (f for f in self.searcher.documents(doc_id=doc_id) if f.get("paragraph") == 0), {}
        )

    def documents(self) -> int:
        return self.collection.documents

    def document(self, doc_id: str) -> list[dict[str, Any]]:
        """The stored fields of the document's live paragraphs, in any order."""
        return list(self.searcher.documents(doc_id=doc_id))

    def completions(self, prefix: str, limit: int) -> list[str]:
        return self.collection.completions(prefix, limit)

    def key_names(self) -> list[str]:
        return self.collection.key_names

    def key_values(self, key: str) -> list[str]:
        return self.collection.key_values(key)

    def written(self, terms: Iterable[str]) -> set[str] | None:
        return self.collection.written(terms)

    def surface(self, term: str) -> str | None:
        for number in self.collection.holding(term):
            text = self.searcher.stored_fields(number)["text"]
            for found, _, start, end in analyze(text, self.analyzer):
                if found == term:
                    return str(text[start:end])
        return None
