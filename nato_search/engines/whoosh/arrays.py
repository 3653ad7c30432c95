"""Per-segment NumPy arrays beside each Whoosh segment, for a fast query engine.

Like Lucene's per-segment files: a segment never changes once written, so its
arrays are built once (at commit, or by the first reader that misses them),
written beside it as ``MAIN_<segid>.arrays`` and memory-mapped by every later
reader. The name matches Whoosh's segment-file pattern, so Whoosh's own
``clean_files`` (stock Whoosh included) deletes the file when its segment is
merged away. Deletions are not in the file: a segment's deleted documents
change without changing its id, so :func:`deleted_mask` reads them from the
segment each time.

Building reads Whoosh's files directly, a whole posting block at a time: the
terms file record by record, then each block's pickled ids and values, with
positions decoded from all the values of a field at once in NumPy. Whatever
does not have the usual shape (an inlined posting list, a position pickle that
is not a plain list of small ints) is decoded by Whoosh's own code instead.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import io
import json
import os
import pickle
import struct
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import numpy as np
import numpy.typing as npt
from whoosh.codec.whoosh3 import W3TermInfo
from whoosh.filedb.filetables import OrderedHashReader
from whoosh.filedb.structfile import BufferFile

from nato_search import durable
from nato_search.text.analyzer import WordCachedAnalyzer
from nato_search.text.analyzer import words as analysis_words

FORMAT = 5
"""Bumped when the layout changes; a file of another format is rebuilt (3: the keys field;
4: the words as written; 5: a CRC-32 per array)."""

MAGIC = b"NSARR\0"
ALIGN = 64
SUFFIX = ".arrays"
STALE_AFTER = 600.0
"""Seconds after which a temporary file left by a writer counts as abandoned."""

I32 = npt.NDArray[np.int32]
Counts = npt.NDArray[np.uint16] | npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
Bools = npt.NDArray[np.bool_]
T = TypeVar("T")

WORDS_FIELD = "text"
NAMES_FIELD = "names"
DAY_FIELD = "day"
KEYS_FIELD = "keys"

# Whoosh's on-disk structures (whoosh.filedb.filetables, whoosh.codec.whoosh3).
_LENGTHS = struct.Struct("!ii")  # key length, value length of a terms-file record
_FIELDNUM = struct.Struct("!H")
_TERMINFO = struct.Struct("!BfIBBfII")  # flags, weight, doc freq, lengths, max weight, ids
_EXTENT = struct.Struct("!qi")  # offset and length of a posting list in the postings file
_BLOCK_LENGTH = struct.Struct("!i")
_BLOCK_MAGIC = b"W3Bl"
LOOKUPS_KEPT = 50_000
"""Term lookups a field remembers (about 5 MB at most)."""
_SAMPLE_EVERY = 32
"""Terms from one sample of a field's vocabulary to the next (see ``_samples``)."""
STARTS_KEPT = 1_000_000
"""Position offsets a field remembers (8 MB at most)."""
_STARTS_FROM = 128
"""Postings from which a term's position offsets are remembered (shorter: cheap to make)."""
_TERMS_EXT = ".trm"
_POSTINGS_EXT = ".pst"


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


def stored_word_forms(segment_reader: Any, texts: list[bytes]) -> WordForms | None:
    """The forms of the words of the stored titles and paragraphs of a segment (what its
    "text" field indexed), for a segment read back from Whoosh's files; None when the
    field's analyzer is not a :class:`WordCachedAnalyzer`, whose terms go word by word."""
    analyzer = segment_reader.schema[WORDS_FIELD].analyzer
    if not isinstance(analyzer, WordCachedAnalyzer):
        return None
    words: set[str] = set()
    for stored in segment_reader.all_stored_fields():
        for name in ("title", "text"):
            value = stored.get(name)
            if isinstance(value, str):
                words.update(analysis_words(value))
    return word_forms(words, analyzer.word_terms, texts)


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


def build(segment_reader: Any) -> SegmentArrays:
    """From a Whoosh SegmentReader (deleted docs' postings included, exactly as Whoosh stores them)."""
    segment = segment_reader.segment()
    storage = segment_reader.storage()
    doc_count = int(segment.doc_count_all())
    with _opened(storage, segment.make_filename(_TERMS_EXT)) as view:
        terms = bytes(view)  # small; Whoosh's hash reader wants bytes
    tindex = OrderedHashReader(BufferFile(terms), len(terms))
    fieldmap: dict[str, int] = tindex.extras["fieldmap"]
    positions_format = segment_reader.schema[WORDS_FIELD].format

    def read(
        field: str, postings: memoryview, decode: Callable[[list[Any], int], T]
    ) -> tuple[_Terms, I64, I32, list[T]]:
        table = _field_terms(terms, tindex, fieldmap.get(field))
        return (table, *_read_postings(postings, table, decode))

    with _opened(storage, segment.make_filename(_POSTINGS_EXT)) as postings:
        w_terms, w_off, w_docs, w_chunks = read(
            WORDS_FIELD, postings, lambda blocks, _: _decode_positions(blocks, positions_format)
        )
        n_terms, n_off, n_docs, n_chunks = read(NAMES_FIELD, postings, _frequencies)
        d_terms, d_off, d_docs, _ = read(DAY_FIELD, postings, lambda blocks, _: None)
        k_terms, k_off, k_docs, _ = read(KEYS_FIELD, postings, lambda blocks, _: None)

    w_tf = _concatenate([tf for tf, _, _ in w_chunks], np.int32)
    pos_off = np.zeros(len(w_tf) + 1, np.int64)
    np.cumsum(_concatenate([np.diff(off) for _, off, _ in w_chunks], np.int64), out=pos_off[1:])
    pos = _concatenate([p for _, _, p in w_chunks], np.int32)
    return from_postings(
        segment.segment_id(),
        doc_count,
        words=Postings(w_terms.texts, w_off, w_docs, w_tf, pos_off, pos),
        names=Postings(n_terms.texts, n_off, n_docs, _concatenate(n_chunks, np.int32)),
        days=Postings(d_terms.texts, d_off, d_docs),
        keys=Postings(k_terms.texts, k_off, k_docs),
        forms=stored_word_forms(segment_reader, w_terms.texts),
    )


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

    day = np.zeros(doc_count, np.int32)
    d_docs = days.docs
    if len(d_docs) and (d_docs.min() < 0 or d_docs.max() >= doc_count):
        raise ValueError(f"{segment_id}: a day posting is out of range")
    for i, text in enumerate(days.texts):
        day[d_docs[days.post_off[i] : days.post_off[i + 1]]] = int(text)
    if forms is not None and len(forms.term_off) != len(w_term_off):
        raise ValueError(f"{segment_id}: word forms for other terms")
    return SegmentArrays(
        segment_id, doc_count, length, day, words_field, names_field, keys_field, forms
    )


def _concatenate(parts: list[npt.NDArray[Any]], dtype: type[np.generic]) -> npt.NDArray[Any]:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)


@contextlib.contextmanager
def _opened(storage: Any, name: str) -> Iterator[memoryview]:
    """A file of the segment's, as a memoryview: of Whoosh's own map of a compound
    segment (nothing copied), else of the file read."""
    f = storage.open_file(name)
    try:
        buf = getattr(f, "_buf", None)  # a BufferFile, over the compound file's map
        if buf is None:
            buf = f.get(0, storage.file_length(name))
        with memoryview(buf).cast("B") as view:
            yield view
    finally:
        f.close()


@dataclass
class _Terms:
    texts: list[bytes]
    extents: list[tuple[int, int, int]]
    """(offset, length, doc frequency) of each term's posting list in the postings file."""
    inlined: dict[int, Any]
    """Term index -> Whoosh's inlined (ids, weights, values), for lists stored in the terms file."""


def _term_arrays(texts: list[bytes]) -> tuple[U8, I64]:
    blob = np.frombuffer(b"".join(texts), np.uint8).copy()
    off = np.zeros(len(texts) + 1, np.int64)
    np.cumsum(np.fromiter(map(len, texts), np.int64, len(texts)), out=off[1:])
    return blob, off


def _field_terms(data: bytes, tindex: Any, fieldnum: int | None) -> _Terms:
    """The terms of one field, in order, read from the terms file's records."""
    table = _Terms([], [], {})
    if fieldnum is None:
        return table
    prefix = _FIELDNUM.pack(fieldnum)
    pos = tindex.closest_key_pos(prefix)
    end = tindex.endofdata
    lengths, terminfo, extent = _LENGTHS.unpack_from, _TERMINFO.unpack_from, _EXTENT.unpack_from
    info_size = _TERMINFO.size
    while pos is not None and pos < end:
        keylen, datalen = lengths(data, pos)
        keypos = pos + _LENGTHS.size
        if data[keypos : keypos + 2] != prefix:
            break
        datapos = keypos + keylen
        table.texts.append(data[keypos + 2 : datapos])
        flags, _, doc_freq, *_ = terminfo(data, datapos)
        if flags:  # Whoosh inlined the postings into the terms file
            info = W3TermInfo.from_bytes(data[datapos : datapos + datalen])
            table.inlined[len(table.extents)] = info.inlined_postings()
            table.extents.append((-1, 0, doc_freq))
        else:
            offset, length = extent(data, datapos + info_size)
            table.extents.append((offset, length, doc_freq))
        pos = datapos + datalen
    return table


CHUNK = 1 << 16
"""Postings decoded at a time: Whoosh's blocks unpickle into small Python objects,
so building holds only this many postings' worth of them at once."""


def _read_postings(
    data: memoryview, table: _Terms, decode: Callable[[list[Any], int], T]
) -> tuple[I64, I32, list[T]]:
    """(post_off, docs, decoded values) of every term, a posting block at a time.

    ``decode(block_values, postings)`` gets the values of a run of blocks (about
    CHUNK postings) as Whoosh unpickled them; its results are returned in order.
    """
    per_term = np.zeros(len(table.extents) + 1, np.int64)
    docs: list[I64] = []
    decoded: list[T] = []
    ids: list[Sequence[int]] = []  # each block's doc numbers, delta-encoded as Whoosh stores them
    counts: list[int] = []
    pending: list[Any] = []

    def flush() -> None:
        total = sum(counts)
        deltas = np.fromiter(chain.from_iterable(ids), np.int64, total)
        docs.append(_segmented_cumsum(deltas, np.array(counts, np.int64)))
        decoded.append(decode(pending, total))
        ids.clear()
        counts.clear()
        pending.clear()

    loads, dumps, decompress = pickle.loads, pickle.dumps, zlib.decompress
    block_length = _BLOCK_LENGTH.unpack_from
    waiting = 0  # postings read since the last flush
    for i, (offset, _, doc_freq) in enumerate(table.extents):
        if offset < 0:  # inlined in the terms file
            term_ids, _, term_values = table.inlined[i]
            ids.append(_delta_encode(term_ids))
            counts.append(len(term_ids))
            pending.append(tuple(term_values))
            per_term[i + 1] = len(term_ids)
            continue
        if data[offset : offset + 4] != _BLOCK_MAGIC:
            raise ValueError(f"no posting block at {offset}")
        pos = offset + 4
        found = 0
        while True:
            (length,) = block_length(data, pos)
            end = pos + 4 + abs(length)
            # the block's info tuple, pickled; its length, by pickling it again as
            # Whoosh did, else by reading it as a stream (slower)
            info = loads(data[pos + 4 : end])
            again = dumps(info, 2)
            if data[pos + 4 : pos + 4 + len(again)] == again:
                datapos = pos + 4 + len(again)
            else:
                stream = io.BytesIO(data[pos + 4 : end])
                info = pickle.load(stream)
                datapos = pos + 4 + stream.tell()
            count, _, _, compression, _, _ = info
            raw = data[datapos:end]
            block = loads(decompress(raw) if compression else raw)
            if len(block[0]) != count:
                raise ValueError(f"term {table.texts[i]!r}: a block disagrees with its count")
            ids.append(block[0])
            counts.append(count)
            pending.append(block[2])
            found += count
            if length < 0:
                break
            pos = end
        if found != doc_freq:
            raise ValueError(f"term {table.texts[i]!r}: {found} postings, {doc_freq} expected")
        per_term[i + 1] = found
        waiting += found
        if waiting >= CHUNK:
            flush()
            waiting = 0
    if counts or not docs:
        flush()
    post_off = np.cumsum(per_term)
    all_docs = np.concatenate(docs)
    if len(all_docs) != post_off[-1]:
        raise ValueError("posting blocks disagree with the terms' counts")
    return post_off, all_docs.astype(np.int32), decoded


def _delta_encode(ids: Iterable[int]) -> tuple[int, ...]:
    out, base = [], 0
    for n in ids:
        out.append(n - base)
        base = n
    return tuple(out)


def _segmented_cumsum(deltas: I64, sizes: I64) -> I64:
    """The running sum of ``deltas`` restarting at 0 at each segment of ``sizes``."""
    sums = np.zeros(len(deltas) + 1, np.int64)
    np.cumsum(deltas, out=sums[1:])
    before = sums[np.cumsum(sizes) - sizes]
    return cast(I64, sums[1:] - np.repeat(before, sizes))


def _frequencies(block_values: list[Any], total: int) -> I32:
    """Frequency-format values: one big-endian uint32 per posting, a block's joined."""
    joined = b"".join(v if isinstance(v, bytes) else b"".join(v) for v in block_values if v)
    if len(joined) != 4 * total:
        raise ValueError("frequency values disagree with the postings")
    return np.frombuffer(joined, ">u4").astype(np.int32)


# A Positions value: a big-endian uint32 count, then the pickled list of position
# deltas (protocol 2): b"\x80\x02]q\x00", then "(" and "K" d for each delta and "e"
# (two deltas or more), or "K" d "a" (one), or nothing (none); then "." (Whoosh's
# decoder also accepts a value without it).
_HEAD = 0x715D0280_00000000
"""Bytes 0-7 of a value as a little-endian uint64, with its count's two high bytes 0."""
_HEAD_MASK = 0xFFFFFFFF_0000FFFF
_K, _MARK, _APPEND, _APPENDS, _STOP = (ord(c) for c in "K(ae.")


def _windows(blob: U8, dtype: str) -> npt.NDArray[Any]:
    """Every run of bytes of ``dtype``'s size in ``blob``, at every offset: a view."""
    size = np.dtype(dtype).itemsize
    return np.ndarray((len(blob) - size + 1,), dtype, buffer=blob, strides=(1,))


def _decode_positions(block_values: list[Any], fmt: Any) -> tuple[I32, I64, I32]:
    """(tf, pos_off, pos) from Positions-format values, all at once.

    The usual value, a list of up to 1000 deltas below 256, is decoded here in
    NumPy; any other by Whoosh's ``decode_positions``.
    """
    values: list[bytes] = list(chain.from_iterable(block_values))
    n = len(values)
    # padded, so that reading a value's first bytes never runs off the end
    blob = np.frombuffer(b"".join(values) + bytes(16), np.uint8)
    words, pairs_at = _windows(blob, "<u8"), _windows(blob, "<u2")
    sizes = np.fromiter(map(len, values), np.int64, n)
    ends = np.cumsum(sizes)
    starts = ends - sizes
    head = words[starts]
    count = ((head >> np.uint64(8)) & np.uint64(0xFF00)) | (
        (head >> np.uint64(24)) & np.uint64(0xFF)
    )
    count = count.astype(np.int64)
    ok = ((head & np.uint64(_HEAD_MASK)) == np.uint64(_HEAD)) & (sizes >= 9) & (count <= 1000)
    many = count >= 2
    body = sizes - (blob[np.maximum(ends - 1, 0)] == _STOP)
    ok &= body == np.where(count == 0, 9, np.where(many, 11 + 2 * count, 12))
    after = pairs_at[starts + 8]  # the memo index 0, then MARK or the first opcode
    closer = blob[np.maximum(starts + body - 1, 0)]
    ok &= (after & 0xFF) == 0
    ok &= np.where(many, (after >> 8) == _MARK, (count == 0) | ((after >> 8) == _K))
    ok &= np.where(many, closer == _APPENDS, (count == 0) | (closer == _APPEND))
    first = starts + 9 + many  # the first item
    while True:  # every item a BININT1: K and its one-byte argument
        candidate = np.where(ok, count, 0)
        item_start = np.cumsum(candidate) - candidate
        items = int(candidate.sum())
        at = 2 * np.arange(items, dtype=np.int64) + np.repeat(first - 2 * item_start, candidate)
        pairs = pairs_at[at]
        wrong = (pairs & 0xFF) != _K
        if not wrong.any():
            break
        ok[np.repeat(np.arange(n), candidate)[wrong]] = False
    decoded = {int(j): list(fmt.decode_positions(values[j])) for j in np.flatnonzero(~ok)}
    for j, found in decoded.items():
        if len(found) != fmt.decode_frequency(values[j]):
            raise ValueError("a positions value disagrees with its count")
        count[j] = len(found)
    pos_off = np.zeros(n + 1, np.int64)
    np.cumsum(count, out=pos_off[1:])
    positions = _segmented_cumsum((pairs >> 8).astype(np.int64), candidate)
    if decoded:
        simple = positions
        positions = np.zeros(int(pos_off[-1]), np.int64)
        shift = np.repeat(pos_off[:-1] - item_start, candidate)
        positions[np.arange(items, dtype=np.int64) + shift] = simple
        for j, found in decoded.items():
            positions[pos_off[j] : pos_off[j + 1]] = found
    if len(positions) and (positions.min() < 0 or positions.max() > np.iinfo(np.int32).max):
        raise ValueError("a position is out of range")
    return count.astype(np.int32), pos_off, positions.astype(np.int32)


def _check_docs(field: FieldPostings, doc_count: int) -> None:
    if len(field.docs) and (int(field.docs.min()) < 0 or int(field.docs.max()) >= doc_count):
        raise ValueError("a posting's doc number is out of range")


def deleted_mask(segment: Any) -> Bools:
    """True for the segment's deleted docs (read each time: deletions change, the file not)."""
    mask = np.zeros(int(segment.doc_count_all()), np.bool_)
    if segment.has_deletions():
        deleted = np.fromiter(segment.deleted_docs(), np.int64)
        mask[deleted] = True
    return mask


# Files


def file_name(segment_id: str) -> str:
    """``MAIN_<segid>.arrays``: Whoosh's segment-file pattern, so its clean_files removes it."""
    return f"{segment_id}{SUFFIX}"


def _named_arrays(arrays: SegmentArrays) -> dict[str, npt.NDArray[Any]]:
    named: dict[str, npt.NDArray[Any]] = {"length": arrays.length, "day": arrays.day}
    fields = (("words", arrays.words), ("names", arrays.names), ("keys", arrays.keys))
    for prefix, field in fields:
        for name in ("term_blob", "term_off", "post_off", "docs", "tf", "pos_term", "pos"):
            value = getattr(field, name)
            if value is not None:
                named[f"{prefix}.{name}"] = value
    if arrays.forms is not None:
        for name in ("blob", "off", "term_off", "ids"):
            named[f"forms.{name}"] = getattr(arrays.forms, name)
    return named


_DTYPES = {
    "length": "<i4",
    "day": "<i4",
    "term_blob": "u1",
    "term_off": "<i8",
    "post_off": "<i8",
    "docs": "<i4",
    "tf": "<i4",
    "pos_term": "<i8",
    "pos": "<i4",
    "blob": "u1",
    "off": "<i8",
    "ids": "<i4",
}
_SMALL = {"tf", "pos"}
"""Counts stored as uint16 when every value fits: half the bytes of most of the file."""


def _dtype(name: str, value: npt.NDArray[Any] | None = None) -> str:
    kind = name.rpartition(".")[2]
    if kind in _SMALL and value is not None and (not len(value) or int(value.max()) < 1 << 16):
        return "<u2"
    return _DTYPES[kind]


def _aligned(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def save(arrays: SegmentArrays, folder: str | os.PathLike[str]) -> None:
    """Writes ``file_name(segment_id)`` in ``folder`` whole or not at all, also after a
    power loss (:func:`durable.replacing`)."""
    named = {
        name: np.ascontiguousarray(value, dtype=_dtype(name, value))
        for name, value in _named_arrays(arrays).items()
    }
    checksums = {name: zlib.crc32(value.data) for name, value in named.items()}
    relative: dict[str, int] = {}
    end = 0
    for name, value in named.items():
        relative[name] = end
        end = _aligned(end + value.nbytes)
    start = ALIGN
    while True:  # the data starts after the header, which holds the data's offsets
        header = {
            "format": FORMAT,
            "segment_id": arrays.segment_id,
            "doc_count": arrays.doc_count,
            "size": start + end,
            "arrays": {
                name: {
                    "dtype": value.dtype.str,
                    "shape": list(value.shape),
                    "offset": start + at,
                    "crc32": checksums[name],
                }
                for (name, value), at in zip(named.items(), relative.values(), strict=True)
            },
        }
        encoded = json.dumps(header, separators=(",", ":")).encode()
        prefix = MAGIC + struct.pack("<I", len(encoded)) + encoded
        if len(prefix) <= start:
            break
        start = _aligned(len(prefix))
    with durable.replacing(Path(folder) / file_name(arrays.segment_id)) as f:
        f.write(prefix.ljust(start, b"\0"))
        for name, value in named.items():
            f.write(b"\0" * (start + relative[name] - f.tell()))
            f.write(value.data)
        f.write(b"\0" * (start + end - f.tell()))


class ArraysDamagedError(ValueError):
    """An arrays file that is there but cannot be trusted: its bytes changed since it was
    written (a checksum or a bound fails), or it is cut short."""

    def __str__(self) -> str:
        return (
            f"{self.args[0]}; it is made from its Whoosh segment: remove it to have it made "
            "again, if the segment itself is sound"
        )


def load(
    folder: str | os.PathLike[str], segment_id: str, doc_count: int, *, verify: bool = True
) -> SegmentArrays | None:
    """The segment's arrays, memory-mapped (one map, arrays as views into it, nothing copied);
    None when the file is missing or unreadable, of an older FORMAT, or for another
    doc_count (each rebuilt from the segment). A file whose bytes fail its checksums or
    bounds, or cut short, is an :class:`ArraysDamagedError` naming it. The checksums are
    read once per file a process maps (``verify=False``: the header only, to see that a
    file is there)."""
    path = Path(folder) / file_name(segment_id)
    try:
        stat = os.stat(path)
        mapped = np.memmap(path, dtype=np.uint8, mode="r") if stat.st_size else None
    except OSError:  # missing, or unreadable (a read-only copy): rebuilt in memory
        return None
    if mapped is None:
        raise ArraysDamagedError(f"{path}: empty (cut short)")
    try:
        arrays = _from_map(mapped, segment_id, doc_count)
    except ArraysDamagedError as exc:
        raise ArraysDamagedError(f"{path}: {exc.args[0]}") from None
    except (ValueError, KeyError, TypeError, IndexError, struct.error) as exc:
        raise ArraysDamagedError(f"{path}: unreadable header ({type(exc).__name__})") from None
    if arrays is None:
        return None
    arrays.source = (str(path), stat.st_ino, stat.st_size)
    identity = (str(path.resolve()), stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size)
    if verify and identity not in _VERIFIED:
        try:
            _verify(arrays)
        except ArraysDamagedError as exc:
            raise ArraysDamagedError(f"{path}: {exc.args[0]}") from None
        if len(_VERIFIED) >= VERIFIED_KEPT:
            _VERIFIED.clear()
        _VERIFIED.add(identity)
    return arrays


VERIFIED_KEPT = 10_000
"""Files whose checksums this process has verified, remembered (then all forgotten)."""
_VERIFIED: set[tuple[str, int, int, int, int]] = set()


def check_size(arrays: SegmentArrays) -> None:
    """An :class:`ArraysDamagedError` if the mapped file is no longer the size it was
    (truncated under an open index: reading past its new end would kill the process)."""
    if arrays.source is None:
        return
    path, inode, size = arrays.source
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return  # replaced or removed: the map keeps the old file, whole
    if found.st_ino == inode and found.st_size != size:
        raise ArraysDamagedError(f"{path}: was {size:,} bytes, now {found.st_size:,} (cut short)")


def _verify(arrays: SegmentArrays) -> None:
    """Every array against its checksum, then the bounds the scorer relies on: offsets that
    never decrease and end where their arrays do, numbers within their ranges."""
    for name, value in _named_arrays(arrays).items():
        expected = arrays.checksums.get(name)
        if expected is None or zlib.crc32(value.data) != expected:
            raise ArraysDamagedError(f"array {name!r} fails its checksum")
    n = arrays.doc_count
    for prefix, field in (("words", arrays.words), ("names", arrays.names), ("keys", arrays.keys)):
        _ascending(f"{prefix}.term_off", field.term_off, len(field.term_blob))
        _ascending(f"{prefix}.post_off", field.post_off, len(field.docs))
        _within(f"{prefix}.docs", field.docs, n)
        if field.pos_term is not None and field.pos is not None:
            _ascending(f"{prefix}.pos_term", field.pos_term, len(field.pos))
    if arrays.forms is not None:
        forms = arrays.forms
        _ascending("forms.off", forms.off, len(forms.blob))
        _ascending("forms.term_off", forms.term_off, len(forms.ids))
        _within("forms.ids", forms.ids, len(forms.off) - 1)
    if len(arrays.length) and int(arrays.length.min()) < 0:
        raise ArraysDamagedError("array 'length' holds a negative length")


def _ascending(name: str, offsets: npt.NDArray[Any], end: int) -> None:
    if not len(offsets) or int(offsets[0]) != 0 or int(offsets[-1]) != end:
        raise ArraysDamagedError(f"array {name!r} does not run from 0 to {end}")
    if len(offsets) > 1 and bool((offsets[1:] < offsets[:-1]).any()):
        raise ArraysDamagedError(f"array {name!r} decreases")


def _within(name: str, values: npt.NDArray[Any], end: int) -> None:
    if len(values) and (int(values.min()) < 0 or int(values.max()) >= end):
        raise ArraysDamagedError(f"array {name!r} holds a number outside 0..{end - 1}")


def _from_map(mapped: np.memmap[Any, Any], segment_id: str, doc_count: int) -> SegmentArrays | None:
    """The arrays of a mapped file, or None for a file of an older FORMAT or another
    segment; an :class:`ArraysDamagedError` where the file disagrees with its header."""
    size = len(mapped)
    if mapped[: len(MAGIC)].tobytes() != MAGIC:
        raise ArraysDamagedError("not an arrays file (no magic number)")
    (header_length,) = struct.unpack("<I", mapped[len(MAGIC) : len(MAGIC) + 4].tobytes())
    header_end = len(MAGIC) + 4 + header_length
    if header_end > size:
        raise ArraysDamagedError("cut short, inside its header")
    header = json.loads(mapped[len(MAGIC) + 4 : header_end].tobytes())
    found = header.get("format")
    if isinstance(found, int) and found != FORMAT:
        return None  # another layout: rebuilt from the segment
    if header.get("segment_id") != segment_id or header.get("doc_count") != doc_count:
        return None  # not this segment's
    if header.get("size") != size:
        raise ArraysDamagedError(f"{size:,} bytes where its header says {header.get('size')}")
    views: dict[str, npt.NDArray[Any]] = {}
    checksums: dict[str, int] = {}
    for name, entry in header["arrays"].items():
        dtype = np.dtype(entry["dtype"])
        small = name.rpartition(".")[2] in _SMALL and dtype == np.dtype("<u2")
        if dtype != np.dtype(_dtype(name)) and not small:
            raise ArraysDamagedError(f"array {name!r} has type {dtype}")
        shape = tuple(int(n) for n in entry["shape"])
        offset = int(entry["offset"])
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if offset % ALIGN or offset < header_end or offset + nbytes > size:
            raise ArraysDamagedError(f"array {name!r} lies outside the file")
        # a plain ndarray over the map (np.memmap's own indexing is slower)
        views[name] = np.ndarray(shape, dtype, buffer=mapped, offset=offset)
        checksums[name] = int(entry["crc32"])

    def field(prefix: str) -> FieldPostings:
        return FieldPostings(
            views[f"{prefix}.term_blob"],
            views[f"{prefix}.term_off"],
            views[f"{prefix}.post_off"],
            views[f"{prefix}.docs"],
            views[f"{prefix}.tf"],
            views.get(f"{prefix}.pos_term"),
            views.get(f"{prefix}.pos"),
        )

    words, names, keys = field("words"), field("names"), field("keys")
    if words.pos is None or words.pos_term is None:
        raise ArraysDamagedError("no positions")
    forms = None
    if "forms.blob" in views:
        forms = WordForms(*(views[f"forms.{n}"] for n in ("blob", "off", "term_off", "ids")))
        if len(forms.term_off) != len(words.term_off):
            raise ArraysDamagedError("word forms for other terms")
    arrays = SegmentArrays(
        segment_id, doc_count, views["length"], views["day"], words, names, keys, forms
    )
    arrays.checksums = checksums
    if len(arrays.length) != doc_count or len(arrays.day) != doc_count:
        raise ArraysDamagedError("lengths or days for another number of paragraphs")
    for f in (words, names, keys):
        if len(f.term_off) != len(f.post_off) or len(f.docs) != len(f.tf):
            raise ArraysDamagedError("postings of mismatched sizes")
    if len(words.pos_term) != len(words.term_off):
        raise ArraysDamagedError("positions of mismatched sizes")
    return arrays


def for_reader(
    folder: str | os.PathLike[str], segment_reader: Any, *, persist: bool = True
) -> SegmentArrays:
    """The segment's arrays from its file, else built and (with ``persist``) saved; an index
    folder that cannot be written (read-only) still gets them, built in memory."""
    segment = segment_reader.segment()
    found = load(folder, segment.segment_id(), segment.doc_count_all())
    if found is not None:
        return found
    arrays = build(segment_reader)
    if persist:
        with contextlib.suppress(OSError):  # PermissionError included
            save(arrays, folder)
    return arrays


def remove_stale_temporaries(
    folder: str | os.PathLike[str], older_than: float = STALE_AFTER
) -> None:
    """Removes ``.MAIN_*.arrays.*.tmp`` files that a killed writer left, once older than
    ``older_than`` seconds (ten minutes: far longer than a save takes). Age, not the pid in
    the name, decides: a pid says nothing about a process on another host sharing the folder."""
    now = time.time()
    for path in Path(folder).glob(f".MAIN_*{SUFFIX}.*.tmp"):
        with contextlib.suppress(OSError):
            if now - path.stat().st_mtime > older_than:
                path.unlink()
