"""Every use of Whoosh's private API, in one place: what a Whoosh upgrade may break.

Whoosh-Reloaded 2.7 is pinned (``<2.8``); ``benchmarks/whoosh_versions.py`` and the tests
run against it. What is here: a decoder of Whoosh's on-disk segment format (the terms
file record by record, each posting block's pickled ids and values, positions decoded
from all the values of a field at once in NumPy), which builds a segment's arrays; the
format's constants that :mod:`.segment_builder` writes; and the few private attributes
and methods of Whoosh's writers and table of contents that the engine needs. Whatever
does not have the usual shape (an inlined posting list, a position pickle that is not a
plain list of small ints) is decoded by Whoosh's own code instead.
"""

from __future__ import annotations

import contextlib
import io
import pickle
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from whoosh.codec.base import Segment
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.filetables import FileFormatError, OrderedHashReader
from whoosh.filedb.filetables import _lengths as HASH_RECORD_LENGTHS
from whoosh.filedb.structfile import BufferFile
from whoosh.index import TOC
from whoosh.system import pack_int, pack_long, pack_uint, pack_ushort
from whoosh.util.numeric import byte_to_length
from whoosh.writing import IndexWriter, SegmentWriter

from nato_search.engines.whoosh.arrays import (
    BODY_FIELD,
    DAY_FIELD,
    I32,
    I64,
    KEYS_FIELD,
    NAMES_FIELD,
    U8,
    WORDS_FIELD,
    Bools,
    Postings,
    SegmentArrays,
    T,
    WordForms,
    _concatenate,
    from_postings,
    word_forms,
)
from nato_search.text.analyzer import WordCachedAnalyzer
from nato_search.text.tokenizer import words as analysis_words

# Re-exported for the segment builder and the engine, which use Whoosh's private names only
# through this module.
__all__ = [
    "FileFormatError",
    "HASH_RECORD_LENGTHS",
    "TERM_INFO",
    "WHOOSH3_HEADER_MAGIC",
    "byte_to_length",
    "pack_int",
    "pack_long",
    "pack_uint",
    "pack_ushort",
]

# Whoosh's on-disk structures (whoosh.filedb.filetables, whoosh.codec.whoosh3).
_LENGTHS = struct.Struct("!ii")  # key length, value length of a terms-file record


_FIELDNUM = struct.Struct("!H")


_TERMINFO = struct.Struct("!BfIBBfII")  # flags, weight, doc freq, lengths, max weight, ids


_EXTENT = struct.Struct("!qi")  # offset and length of a posting list in the postings file


_BLOCK_LENGTH = struct.Struct("!i")


_BLOCK_MAGIC = b"W3Bl"


_TERMS_EXT = ".trm"


_POSTINGS_EXT = ".pst"


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
    ) -> tuple[_FieldTerms, I64, I32, list[T]]:
        table = _field_terms(terms, tindex, fieldmap.get(field))
        return (table, *_read_postings(postings, table, decode))

    with _opened(storage, segment.make_filename(_POSTINGS_EXT)) as postings:
        w_terms, w_off, w_docs, w_chunks = read(
            WORDS_FIELD, postings, lambda blocks, _: _decode_positions(blocks, positions_format)
        )
        n_terms, n_off, n_docs, n_chunks = read(NAMES_FIELD, postings, _frequencies)
        d_terms, d_off, d_docs, _ = read(DAY_FIELD, postings, lambda blocks, _: None)
        b_terms, b_off, b_docs, _ = read(BODY_FIELD, postings, lambda blocks, _: None)
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
        bodies=Postings(b_terms.texts, b_off, b_docs),
        keys=Postings(k_terms.texts, k_off, k_docs),
        forms=stored_word_forms(segment_reader, w_terms.texts),
    )


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
class _FieldTerms:
    texts: list[bytes]
    extents: list[tuple[int, int, int]]
    """(offset, length, doc frequency) of each term's posting list in the postings file."""
    inlined: dict[int, Any]
    """Term index -> Whoosh's inlined (ids, weights, values), for lists stored in the terms file."""


def _field_terms(data: bytes, tindex: Any, fieldnum: int | None) -> _FieldTerms:
    """The terms of one field, in order, read from the terms file's records."""
    table = _FieldTerms([], [], {})
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
    data: memoryview, table: _FieldTerms, decode: Callable[[list[Any], int], T]
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


def deleted_mask(segment: Any) -> Bools:
    """True for the segment's deleted docs (read each time: deletions change, the file not)."""
    mask = np.zeros(int(segment.doc_count_all()), np.bool_)
    if segment.has_deletions():
        deleted = np.fromiter(segment.deleted_docs(), np.int64)
        mask[deleted] = True
    return mask


# The segment files' format, as the segment builder writes it

TERM_INFO = W3TermInfo._struct
"""How ``W3TermInfo.to_bytes`` packs a term's statistics, before the posting extent."""


def field_writer_files(writer: Any) -> tuple[Any, Any, bytes]:
    """A Whoosh field writer's postings file, terms index and packed field number, which
    the segment builder writes whole blocks into."""
    return writer._postfile, writer._tindex, pack_ushort(writer._fieldid)


# Writers and commits


def latest_generation(folder: str) -> int:
    """The generation of the latest table of contents in ``folder``."""
    return int(TOC._latest_generation(FileStorage(folder), "MAIN"))


def storage_path(storage: FileStorage, name: str) -> str:
    """The path of the file ``name`` of a file storage."""
    return str(storage._fpath(name))


def destroy_temporary_storage(writer: IndexWriter) -> None:
    """What ``cancel()`` would remove, for a commit that failed after cancel was possible."""
    writer._tempstorage.destroy()


def open_segment_writer(cls: type[T], index: Any, **options: Any) -> T:
    """A writer of class ``cls`` on ``index`` whose lock the caller already holds."""
    return cls(index, _lk=False, **options)  # type: ignore[call-arg]


class CommitHookWriter(SegmentWriter):
    """Whoosh's SegmentWriter with a hook on a commit's segments, called just before its
    table of contents is written (Whoosh's private ``_commit_toc``)."""

    def before_toc(self, segments: list[Segment]) -> list[Segment]:
        return segments

    def _commit_toc(self, segments: list[Segment]) -> None:
        super()._commit_toc(self.before_toc(segments))
