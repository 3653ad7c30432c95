"""The arrays of one Whoosh segment, the model the BM25 engine (:mod:`.bm25`) ranks over:
each field's terms, postings, frequencies and positions as NumPy arrays.

They are built from Whoosh's files (:mod:`.whoosh_private`) or by the writer that wrote
the segment, and saved and mapped as a file (:mod:`.arrays_file`). Deletions are not in
them: a segment's deleted documents change without changing its id, so
:func:`~.whoosh_private.deleted_mask` reads them from the segment each time.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

I32 = npt.NDArray[np.int32]
Counts = npt.NDArray[np.uint16] | npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
Bools = npt.NDArray[np.bool_]
T = TypeVar("T")

WORDS_FIELD = "text"
NAMES_FIELD = "names"
DAY_FIELD = "day"
BODY_FIELD = "body"
KEYS_FIELD = "keys"

LOOKUPS_KEPT = 50_000
"""Term lookups a field remembers (about 5 MB at most)."""
_SAMPLE_EVERY = 32
"""Terms from one sample of a field's vocabulary to the next (see ``_samples``)."""
STARTS_KEPT = 1_000_000
"""Position offsets a field remembers (8 MB at most)."""
_STARTS_FROM = 128
"""Postings from which a term's position offsets are remembered (shorter: cheap to make)."""


K = TypeVar("K")
V = TypeVar("V")


class Kept(Generic[K, V]):
    """Answers remembered up to a total ``size`` of ``limit``; past it, all forgotten at
    once (another thread may miss one meanwhile: it works it out again)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.items: dict[K, V] = {}
        self.total = 0

    def get(self, key: K) -> V | None:
        return self.items.get(key)

    def put(self, key: K, value: V, size: int) -> None:
        if self.total + size > self.limit:
            self.items, self.total = {}, 0
        self.items[key] = value
        self.total += size


@dataclass(eq=False)
class FieldPostings:
    """One field's inverted lists in flat arrays, terms sorted (by UTF-8 bytes, as Whoosh sorts them)."""

    term_blob: U8
    """Every term's UTF-8 bytes, concatenated in sorted order."""
    term_off: I64
    """``n_terms + 1`` offsets: term i is ``term_blob[term_off[i]:term_off[i+1]]``."""
    post_off: I64
    """``n_terms + 1`` offsets: term i's postings are ``docs[post_off[i]:post_off[i+1]]``."""
    docs: I32
    """Segment-local doc numbers, ascending within a term (deleted docs included)."""
    tf: Counts
    """Term frequency in that doc (uint16 where every one fits, else int32)."""
    pos_term: I64 | None = None
    """``n_terms + 1`` offsets into ``pos`` (fields with positions only): term i's positions,
    posting by posting, ``tf`` of them each. Per term rather than per posting, which would
    cost 8 bytes a posting (a third of the file at 180,000 paragraphs)."""
    pos: Counts | None = None
    """Positions, ascending within a posting (uint16 where every one fits, else int32)."""
    _looked_up: dict[str, int] = dataclasses.field(default_factory=dict, repr=False)
    """Recent answers of :meth:`lookup`: a search looks each of its terms up several times."""
    _samples: list[bytes] | None = dataclasses.field(default=None, repr=False)
    """Every ``_SAMPLE_EVERY``-th term, made on the first lookup: a binary search over them
    runs in C, leaving a few steps on the blob (a fifth of the time of a search all on it)."""
    _starts: Kept[int, I64] = dataclasses.field(
        default_factory=lambda: Kept(STARTS_KEPT), repr=False
    )
    """Recent answers of :meth:`positions` for long posting lists: a query reads a word's
    positions once per pair of words it is in, and frequent words recur across queries."""

    def __len__(self) -> int:
        return len(self.term_off) - 1

    def lookup(self, term: str) -> int:
        """The index of ``term``, or -1: a binary search on the blob (its answers remembered,
        a bounded number of them)."""
        found = self._looked_up.get(term)
        if found is None:
            key = term.encode("utf-8")
            i = self._first_at_least(key)
            found = i if i < len(self) and self.term_bytes(i) == key else -1
            if len(self._looked_up) >= LOOKUPS_KEPT:
                self._looked_up.clear()  # another thread may miss meanwhile: it searches again
            self._looked_up[term] = found
        return found

    def prefix_range(self, prefix: str) -> tuple[int, int]:
        """``(lo, hi)``: terms ``lo`` to ``hi - 1`` are those starting with ``prefix``
        (terms sort by bytes, and no UTF-8 byte is 0xff)."""
        key = prefix.encode("utf-8")
        return self._first_at_least(key), self._first_at_least(key + b"\xff")

    def term_bytes(self, i: int) -> bytes:
        return bytes(self.term_blob.data[int(self.term_off[i]) : int(self.term_off[i + 1])])

    def _first_at_least(self, key: bytes) -> int:
        samples = self._samples
        if samples is None:
            samples = self._samples = self._sample()
        j = bisect.bisect_left(samples, key)  # the answer is past sample j - 1, up to sample j
        lo, hi = max(0, (j - 1) * _SAMPLE_EVERY + 1), min(len(self), j * _SAMPLE_EVERY)
        blob, off = self.term_blob.data, self.term_off[lo : hi + 1].tolist()
        first = lo
        while lo < hi:
            mid = (lo + hi) // 2
            if bytes(blob[off[mid - first] : off[mid - first + 1]]) < key:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _sample(self) -> list[bytes]:
        blob, starts = self.term_blob.data, self.term_off[: len(self) : _SAMPLE_EVERY].tolist()
        ends = self.term_off[1 : len(self) + 1 : _SAMPLE_EVERY].tolist()
        return [bytes(blob[a:b]) for a, b in zip(starts, ends, strict=True)]

    def term(self, i: int) -> str:
        return self.term_blob[int(self.term_off[i]) : int(self.term_off[i + 1])].tobytes().decode()

    def postings(self, i: int) -> tuple[I32, Counts]:
        """Term i's (docs, tf), views into the arrays."""
        start, end = int(self.post_off[i]), int(self.post_off[i + 1])
        return self.docs[start:end], self.tf[start:end]

    def positions(self, i: int) -> tuple[I64, Counts]:
        """Term i's positions, and where each of its postings' positions start in them
        (``n_postings + 1`` offsets)."""
        assert self.pos_term is not None and self.pos is not None
        starts = self._starts.get(i)
        if starts is None:
            _, tf = self.postings(i)
            starts = np.zeros(len(tf) + 1, np.int64)
            np.cumsum(tf, out=starts[1:])
            if len(starts) > _STARTS_FROM:
                self._starts.put(i, starts, len(starts))
        return starts, self.pos[int(self.pos_term[i]) : int(self.pos_term[i + 1])]


@dataclass(eq=False)
class WordForms:
    """The words of a segment's "text" field as written, filed under the terms they gave:
    highlighting finds a hit's matched words among those of the query's terms, without
    analyzing every word of the hit."""

    blob: U8
    """Every word's UTF-8 bytes, concatenated in sorted order."""
    off: I64
    """``n_words + 1`` offsets into ``blob``."""
    term_off: I64
    """``n_terms + 1`` offsets (the terms of the "text" field): term i's words are
    ``ids[term_off[i]:term_off[i+1]]``."""
    ids: I32
    """Word numbers, ascending within a term."""

    def of_term(self, i: int) -> list[str]:
        blob, off = self.blob.data, self.off
        ids = self.ids[int(self.term_off[i]) : int(self.term_off[i + 1])].tolist()
        return [bytes(blob[int(off[n]) : int(off[n + 1])]).decode() for n in ids]


def word_forms(
    words: Iterable[str], terms_of: Callable[[list[str]], list[tuple[str, ...]]], texts: list[bytes]
) -> WordForms:
    """The forms of ``words``: ``terms_of`` gives each word's terms; ``texts`` are the field's
    sorted terms (a term missing from them, which no consistent segment has, is skipped)."""
    encoded = sorted(w.encode("utf-8") for w in set(words))
    blob, off = _term_arrays(encoded)
    number = {t: i for i, t in enumerate(texts)}
    term_ids: list[int] = []
    word_ids: list[int] = []
    decoded = [w.decode("utf-8") for w in encoded]
    for n, terms in enumerate(terms_of(decoded)):
        for term in dict.fromkeys(terms):
            i = number.get(term.encode("utf-8"))
            if i is not None:
                term_ids.append(i)
                word_ids.append(n)
    by_term = np.argsort(np.array(term_ids, np.int64), kind="stable")
    term_off = np.zeros(len(texts) + 1, np.int64)
    np.cumsum(np.bincount(np.array(term_ids, np.int64), minlength=len(texts)), out=term_off[1:])
    return WordForms(blob, off, term_off, np.array(word_ids, np.int32)[by_term])


@dataclass(eq=False)
class SegmentArrays:
    segment_id: str
    """``MAIN_<segid>``."""
    doc_count: int
    """The segment's ``doc_count_all()``, deleted docs included."""
    length: I32
    """Tokens of the "text" field in each doc: the sum of its tf over all terms."""
    day: I32
    """``YYYYMMDD`` from the "day" field, 0 when undated."""
    body: I32
    """The "text" field's position where the paragraph starts (after its title's words;
    0: no title), from the "body" field."""
    words: FieldPostings
    """The "text" field."""
    names: FieldPostings
    """The "names" field."""
    keys: FieldPostings
    """The "keys" field: ``doc_id=…`` and ``key=value`` metadata terms (tf always 1)."""
    forms: WordForms | None = None
    """The words of the "text" field as written (None: unknown, for another analyzer)."""
    checksums: dict[str, int] = dataclasses.field(default_factory=dict, repr=False)
    """Each array's CRC-32 as its file records it (loaded arrays only)."""
    source: tuple[str, int, int] | None = dataclasses.field(default=None, repr=False)
    """The file mapped: its path, inode and size (None: built in memory)."""


# Building


@dataclass
class Postings:
    """One field's postings as a segment holds them, terms sorted by their UTF-8 bytes."""

    texts: list[bytes]
    post_off: I64
    """``n_terms + 1`` offsets into ``docs``."""
    docs: npt.NDArray[np.integer[Any]]
    tf: npt.NDArray[np.integer[Any]] | None = None
    pos_off: I64 | None = None
    """``n_postings + 1`` offsets into ``pos``: each posting's positions."""
    pos: npt.NDArray[np.integer[Any]] | None = None


def from_postings(
    segment_id: str,
    doc_count: int,
    *,
    words: Postings,
    names: Postings,
    days: Postings,
    bodies: Postings,
    keys: Postings,
    forms: WordForms | None = None,
) -> SegmentArrays:
    """The arrays of a segment from its postings: read back from the segment by
    :func:`build`, or kept in memory by the writer that wrote it."""
    assert words.tf is not None and words.pos_off is not None and words.pos is not None
    assert names.tf is not None
    w_blob, w_term_off = _term_arrays(words.texts)
    n_blob, n_term_off = _term_arrays(names.texts)
    w_off = words.post_off.astype(np.int64, copy=False)
    w_tf = words.tf.astype(np.int32, copy=False)
    pos_term = words.pos_off.astype(np.int64, copy=False)[w_off]
    w_docs = words.docs.astype(np.int32, copy=False)
    pos = words.pos.astype(np.int32, copy=False)
    n_docs = names.docs.astype(np.int32, copy=False)
    n_tf = names.tf.astype(np.int32, copy=False)
    n_off = names.post_off.astype(np.int64, copy=False)
    words_field = FieldPostings(w_blob, w_term_off, w_off, w_docs, w_tf, pos_term, pos)
    names_field = FieldPostings(n_blob, n_term_off, n_off, n_docs, n_tf)
    k_blob, k_term_off = _term_arrays(keys.texts)
    k_docs = keys.docs.astype(np.int32, copy=False)
    keys_off = keys.post_off.astype(np.int64, copy=False)
    keys_field = FieldPostings(k_blob, k_term_off, keys_off, k_docs, np.ones(len(k_docs), np.int32))

    for field in (words_field, names_field, keys_field):
        _check_docs(field, doc_count)
    length = np.bincount(w_docs, weights=w_tf, minlength=doc_count).astype(np.int32)

    day = _numbered(days, doc_count, f"{segment_id}: a day posting is out of range")
    body = _numbered(bodies, doc_count, f"{segment_id}: a body posting is out of range")
    if forms is not None and len(forms.term_off) != len(w_term_off):
        raise ValueError(f"{segment_id}: word forms for other terms")
    return SegmentArrays(
        segment_id, doc_count, length, day, body, words_field, names_field, keys_field, forms
    )


def _numbered(postings: Postings, doc_count: int, out_of_range: str) -> I32:
    """Each doc's number from a field of one number a doc (its term), 0 where it has none."""
    numbers = np.zeros(doc_count, np.int32)
    docs = postings.docs
    if len(docs) and (docs.min() < 0 or docs.max() >= doc_count):
        raise ValueError(out_of_range)
    for i, text in enumerate(postings.texts):
        numbers[docs[postings.post_off[i] : postings.post_off[i + 1]]] = int(text)
    return numbers


def _concatenate(parts: list[npt.NDArray[Any]], dtype: type[np.generic]) -> npt.NDArray[Any]:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)


def _term_arrays(texts: list[bytes]) -> tuple[U8, I64]:
    blob = np.frombuffer(b"".join(texts), np.uint8).copy()
    off = np.zeros(len(texts) + 1, np.int64)
    np.cumsum(np.fromiter(map(len, texts), np.int64, len(texts)), out=off[1:])
    return blob, off


def _check_docs(field: FieldPostings, doc_count: int) -> None:
    if len(field.docs) and (int(field.docs.min()) < 0 or int(field.docs.max()) >= doc_count):
        raise ValueError("a posting's doc number is out of range")


# Files
