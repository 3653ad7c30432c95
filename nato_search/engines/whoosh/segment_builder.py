"""Writing a Whoosh segment without Whoosh's per-posting layers.

Whoosh's writer sends every word of every field through a token generator and
a dict (``formats.word_values``), every posting through a sorting pool (a tuple
and a pickle each), and at commit reads each posting's field length back from
the column it has just written. :class:`SegmentBuilder` writes the same
segment (the same bytes in its terms and postings files, tested against
Whoosh's own writer) from postings gathered in memory: each field of a
paragraph analyzed once from the word cache, the postings of a term grouped
with NumPy at the end, each block of postings encoded and compressed as
Whoosh's codec does, block statistics computed for all blocks at once from the
lengths kept in an array. The segment's NumPy arrays (:mod:`.arrays`)
are made from the same postings, with no second read of the segment.

A field the fast path does not know (another analyzer, a boost, an ID field)
goes through the field's own ``index()``, as Whoosh's writer does: slower,
the same result. Term vectors and separate spelling fields are not supported
(:func:`supports`); Whoosh's writer handles such a schema.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import zlib
from array import array
from itertools import chain
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from whoosh import formats
from whoosh.codec import default_codec
from whoosh.codec.base import Segment
from whoosh.fields import FieldType, Schema, UnknownFieldError
from whoosh.filedb.filestore import Storage

from nato_search.engines.whoosh import arrays as segment_arrays
from nato_search.engines.whoosh import arrays_file
from nato_search.engines.whoosh.whoosh_private import (
    HASH_RECORD_LENGTHS,
    TERM_INFO,
    WHOOSH3_HEADER_MAGIC,
    byte_to_length,
    field_writer_files,
    pack_int,
    pack_long,
    pack_uint,
)
from nato_search.text.analyzer import WordCachedAnalyzer

BLOCK = 128
"""Postings per block: the codec's ``blocklimit``."""
CHUNK = 1 << 16
"""Postings encoded at a time (Python objects for each, while its blocks are written)."""
_VALUE_CACHE = 200_000
"""Encoded position lists remembered (most postings are one position: few distinct values)."""

# length_to_byte as an array lookup: the byte of a length is the number of table
# entries below it (bisect_left), 255 from the table's last entry on.
_LENGTH_TABLE = np.array([byte_to_length(b) for b in range(256)], np.int64)


def supports(schema: Schema) -> bool:
    """Whether :class:`SegmentBuilder` can write documents of ``schema``."""
    return not any(field.vector or field.separate_spelling() for _, field in schema.items())


class _Field:
    """One indexed field's postings in the order they came (documents ascending)."""

    def __init__(self, name: str, field: FieldType, fast: bool):
        self.name = name
        self.field = field
        self.fast = fast
        self.positions = isinstance(field.format, formats.Positions)
        self.term_ids: dict[Any, int] = {}
        """Term (str on the fast path, UTF-8 bytes otherwise) -> its number here."""
        self.terms: list[Any] = []
        self.term = array("i")
        self.doc = array("i")
        self.freq = array("i")
        self.weight = array("d")
        self.weighted = not fast
        """Whether ``weight`` holds each posting's weight; else it is its frequency (all a
        fast field's postings have the weight Whoosh gives them, their frequency)."""
        self.values: list[bytes] = []
        self.pos = array("i")
        """Positions of every posting, posting after posting (fast positions fields)."""
        self.last: tuple[Any, list[tuple[bytes, int, float, bytes]]] | None = None
        """The last value indexed the generic way and its postings: a document's id, date
        and title repeat over its paragraphs."""
        self.words: set[str] | None = set() if fast else None
        """Every word as written (fast fields); None once a value went the generic way."""

    def number(self, term: Any) -> int:
        number = self.term_ids.get(term)
        if number is None:
            number = self.term_ids[term] = len(self.terms)
            self.terms.append(term)
        return number


class SegmentBuilder:
    """Documents into one new segment of the index in ``storage``; nothing is visible
    until the caller lists the segment :meth:`finish` returns in a table of contents."""

    def __init__(self, storage: Storage, schema: Schema, indexname: str = "MAIN"):
        if not supports(schema):
            raise ValueError("term vectors and spelling fields need Whoosh's own writer")
        self.storage = storage
        self.schema = schema
        self.codec = default_codec()
        self.segment: Segment = self.codec.new_segment(storage, indexname)
        self._perdoc = self.codec.per_document_writer(storage, self.segment)
        self._fields: dict[str, _Field] = {}
        self._values: dict[tuple[int, ...], bytes] = {}
        self._frequencies: dict[int, bytes] = {}
        self._field_names: dict[tuple[str, ...], list[str]] = {}
        self._plans: dict[str, tuple[FieldType, _Field | None, str, str]] = {}
        self.doc_count = 0
        self._broken = False

    def _field(self, name: str, field: FieldType) -> _Field:
        found = self._fields.get(name)
        if found is None:
            fmt = field.format
            fast = (
                isinstance(field.analyzer, WordCachedAnalyzer)
                and type(fmt) in (formats.Positions, formats.Frequency)
                and fmt.field_boost == 1.0
                and type(field).index is FieldType.index
            )
            found = self._fields[name] = _Field(name, field, fast)
        return found

    def _names(self, fields: dict[str, Any]) -> list[str]:
        """The fields of a document, in the order Whoosh's writer takes them (sorted)."""
        key = tuple(fields)
        names = self._field_names.get(key)
        if names is None:
            names = sorted(name for name in fields if not name.startswith("_"))
            for name in names:
                if name not in self.schema:
                    raise UnknownFieldError(f"No field named {name!r} in {self.schema}")
            self._field_names[key] = names
        return names

    def _plan(self, name: str) -> tuple[FieldType, _Field | None, str, str]:
        plan = self._plans.get(name)
        if plan is None:
            field = self.schema[name]
            indexed = self._field(name, field) if field.indexed else None
            plan = self._plans[name] = (field, indexed, f"_{name}_boost", f"_stored_{name}")
        return plan

    def add_document(self, **fields: Any) -> None:
        """As Whoosh's ``add_document``: ``_stored_NAME`` stores another value than the one
        indexed, ``_boost`` and ``_NAME_boost`` weigh the postings."""
        if self._broken:
            raise ValueError("a document failed half-way: this segment cannot be finished")
        names = self._names(fields)
        docnum = self.doc_count
        docboost = float(fields["_boost"]) if "_boost" in fields else 1.0
        perdoc = self._perdoc
        perdoc.start_doc(docnum)
        try:
            for name in names:
                value = fields[name]
                if value is None:
                    continue
                field, indexed, boost_key, stored_key = self._plan(name)
                length = 0
                if indexed is not None:
                    boost = float(fields[boost_key]) if boost_key in fields else docboost
                    length = self._index(indexed, value, docnum, boost)
                    if not field.scorable:
                        length = 0
                stored = fields[stored_key] if stored_key in fields else value
                perdoc.add_field(name, field, stored if field.stored else None, length)
                if field.column_type and stored is not None:
                    column_value = field.to_column_value(stored)
                    perdoc.add_column_value(name, field.column_type, column_value)
        except BaseException:
            self._broken = True  # some of its postings may be in
            perdoc.cancel_doc()
            raise
        perdoc.finish_doc()
        self.doc_count += 1

    def _index(self, field: _Field, value: Any, docnum: int, boost: float) -> int:
        """Adds the postings of one field of one document; returns the field's length."""
        if field.fast and boost == 1.0 and isinstance(value, str):
            # per term, not per word, and through map(): this runs for every paragraph
            analyzer: WordCachedAnalyzer = field.field.analyzer
            found = analyzer.term_positions(value, words_seen=field.words)
            terms = list(found)
            known = list(map(field.term_ids.get, terms))
            numbers = (
                [field.number(t) if n is None else n for t, n in zip(terms, known, strict=True)]
                if None in known
                else known
            )
            positions = list(found.values())
            counts = list(map(len, positions))
            field.term.extend(cast(list[int], numbers))
            field.doc.extend([docnum] * len(terms))
            field.freq.extend(counts)
            if field.weighted:
                field.weight.extend(map(float, counts))
            encoded: list[bytes | None]
            if field.positions:
                keys = list(map(tuple, positions))
                encoded = list(map(self._values.get, keys))
                if None in encoded:
                    encoded = [
                        v or self._encoded_positions(k) for k, v in zip(keys, encoded, strict=True)
                    ]
                field.pos.extend(chain.from_iterable(positions))
            else:
                encoded = list(map(self._frequencies.get, counts))
                if None in encoded:
                    encoded = [
                        v or self._encoded_frequency(c)
                        for c, v in zip(counts, encoded, strict=True)
                    ]
            field.values.extend(cast(list[bytes], encoded))
            return sum(counts)
        field.words = None  # its words are not known
        if field.last is not None and field.last[0] == value:
            items = field.last[1]
        else:
            items = list(field.field.index(value))
            field.last = (value, items)
        if not field.weighted:
            field.weight = array("d", map(float, field.freq))
            field.weighted = True
        length = 0
        for tbytes, freq, weight, vbytes in items:
            length += freq
            # a fast field's terms are str: a boosted value goes this way, into the same terms
            field.term.append(field.number(tbytes.decode("utf-8") if field.fast else tbytes))
            field.doc.append(docnum)
            field.freq.append(freq)
            field.weight.append(weight * boost)
            field.values.append(vbytes)
            if field.positions:  # for the arrays
                field.pos.extend(field.field.format.decode_positions(vbytes))
        return length

    def _encoded_positions(self, positions: tuple[int, ...]) -> bytes:
        """``formats.Positions.encode``: the count, then the pickled list of deltas."""
        found = self._values.get(positions)
        if found is None:
            deltas = [
                positions[0],
                *(b - a for a, b in zip(positions, positions[1:], strict=False)),
            ]
            found = pack_uint(len(deltas)) + pickle.dumps(deltas, 2)
            if len(self._values) >= _VALUE_CACHE:
                self._values.clear()
            self._values[positions] = found
        return found

    def _encoded_frequency(self, count: int) -> bytes:
        found = self._frequencies.get(count)
        if found is None:
            found = self._frequencies[count] = pack_uint(count)
        return found

    # --- the segment's files ------------------------------------------------------------

    def finish(self, folder: str | os.PathLike[str] | None = None) -> Segment | None:
        """Writes the segment's files (and, given the index ``folder``, its arrays beside
        them); returns the segment, or None when no document was added (nothing written)."""
        if self._broken:
            self.cancel()
            raise ValueError("a document failed half-way: this segment cannot be finished")
        perdoc = self._perdoc
        if not self.doc_count:
            self.cancel()
            return None
        try:
            perdoc.close()
            self.segment.set_doc_count(self.doc_count)
            writer = self.codec.field_writer(self.storage, self.segment)
            grouped: dict[str, _Grouped] = {}
            for name in sorted(self._fields):
                field = self._fields[name]
                if not len(field.doc):
                    continue
                group = grouped[name] = _Grouped(field, self.doc_count)
                writer.start_field(name, field.field)
                # Whoosh's writer adds each posting to a per-term postings writer; the
                # blocks are written here whole, into the same file, in the same format.
                group.write(*field_writer_files(writer))
                writer.finish_field()
                field.values = []  # written: let go
            writer.close()
            self._values.clear()
            if self.segment.should_assemble():
                self.segment.create_compound_file(self.storage)
            if folder is not None:
                arrays = self._arrays(grouped)
                # The segment on the disk before its arrays: a writer killed from here on
                # leaves an arrays file for an uncommitted segment only for the short time
                # its commit takes (the next commit's clean-up removes such files).
                sync = getattr(self.storage, "sync_segments", None)
                if sync is not None:
                    sync([self.segment])
                arrays_file.save(arrays, folder)
        except BaseException:
            self._remove_files()
            raise
        return self.segment

    def _arrays(self, grouped: dict[str, _Grouped]) -> segment_arrays.SegmentArrays:
        empty = np.zeros(1, np.int64)
        none = segment_arrays.Postings([], empty, np.zeros(0, np.int32), np.zeros(0, np.int32))

        def postings(name: str, positions: bool = False) -> segment_arrays.Postings:
            group = grouped.get(name)
            if group is None:
                if positions:
                    return segment_arrays.Postings(
                        [], empty, none.docs, none.tf, empty, np.zeros(0, np.int32)
                    )
                return none
            if not positions:
                return segment_arrays.Postings(group.texts, group.post_off, group.docs, group.tf)
            pos_off, pos = group.positions()
            return segment_arrays.Postings(
                group.texts, group.post_off, group.docs, group.tf, pos_off, pos
            )

        words = postings(segment_arrays.WORDS_FIELD, positions=True)
        text = self._fields.get(segment_arrays.WORDS_FIELD)
        forms = None
        if text is not None and text.words is not None:
            analyzer: WordCachedAnalyzer = text.field.analyzer
            forms = segment_arrays.word_forms(text.words, analyzer.word_terms, words.texts)
        return segment_arrays.from_postings(
            self.segment.segment_id(),
            self.doc_count,
            words=words,
            names=postings(segment_arrays.NAMES_FIELD),
            days=postings(segment_arrays.DAY_FIELD),
            bodies=postings(segment_arrays.BODY_FIELD),
            keys=postings(segment_arrays.KEYS_FIELD),
            forms=forms,
        )

    def cancel(self) -> None:
        """Removes whatever this builder wrote."""
        self._remove_files()

    def _remove_files(self) -> None:
        if not self._perdoc.is_closed:
            with contextlib.suppress(Exception):
                self._perdoc.close()  # removes its temporary file
        for name in self.segment.list_files(self.storage):
            with contextlib.suppress(OSError):
                self.storage.delete_file(name)


def _length_bytes(lengths: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """``whoosh.util.numeric.length_to_byte`` of every length."""
    return np.minimum(np.searchsorted(_LENGTH_TABLE, lengths, side="left"), 255)


class _Grouped:
    """A field's postings sorted by term (by UTF-8 bytes, as Whoosh sorts them), then doc."""

    def __init__(self, field: _Field, doc_count: int):
        self.field = field
        texts = [t.encode("utf-8") if isinstance(t, str) else t for t in field.terms]
        order = sorted(range(len(texts)), key=texts.__getitem__)
        self.texts = [texts[i] for i in order]
        rank = np.empty(len(texts), np.int64)
        rank[order] = np.arange(len(texts))
        term_rank = rank[np.frombuffer(field.term, np.int32)]
        self.order = np.argsort(term_rank, kind="stable")  # docs stay ascending in a term
        self.post_off = np.zeros(len(texts) + 1, np.int64)
        np.cumsum(np.bincount(term_rank, minlength=len(texts)), out=self.post_off[1:])
        self.docs = np.frombuffer(field.doc, np.int32)[self.order]
        self.tf = np.frombuffer(field.freq, np.int32)[self.order]
        self.doc_count = doc_count

    def positions(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]:
        """Each posting's positions in term order: (offsets per posting, positions)."""
        freq = np.frombuffer(self.field.freq, np.int32).astype(np.int64)
        starts = np.cumsum(freq) - freq
        tf = self.tf.astype(np.int64)
        pos_off = np.zeros(len(tf) + 1, np.int64)
        np.cumsum(tf, out=pos_off[1:])
        gather = np.repeat(starts[self.order] - pos_off[:-1], tf) + np.arange(pos_off[-1])
        return pos_off, np.frombuffer(self.field.pos, np.int32)[gather]

    def write(self, postfile: Any, tindex: Any, field_key: bytes) -> None:
        """Every term's posting blocks into ``postfile`` and its term info into ``tindex``,
        byte for byte what ``W3FieldWriter`` and ``W3PostingsWriter`` write; the terms a
        CHUNK of postings at a time, so that the Python objects of few postings are held."""
        field = self.field
        counts = np.diff(self.post_off)
        n_blocks = -(-counts // BLOCK)
        first_block = np.zeros(len(counts) + 1, np.int64)
        np.cumsum(n_blocks, out=first_block[1:])
        # each block's first posting: its term's start, plus BLOCK per earlier block of it
        block_term = np.repeat(np.arange(len(counts)), n_blocks)
        within = np.arange(len(block_term)) - first_block[block_term]
        starts = self.post_off[block_term] + within * BLOCK
        ends = np.minimum(starts + BLOCK, self.post_off[block_term + 1])
        # the field lengths Whoosh's writer reads back from the lengths column it wrote
        doc_bytes = None
        if field.field.scorable:
            doc_bytes = _length_bytes(_doc_lengths(field, self.doc_count))
        if field.weighted:
            weights_all = np.frombuffer(field.weight, np.float64)
        else:
            weights_all = np.frombuffer(field.freq, np.int32).astype(np.float64)
        values = field.values
        empty_values = field.field.format.fixed_value_size()
        offset = postfile.tell()  # then counted: a tell() is a system call
        term = 0
        while term < len(counts):
            last = int(np.searchsorted(self.post_off, self.post_off[term] + CHUNK, "right")) - 1
            last = min(max(last, term + 1), len(counts))
            p0, b0, b1 = int(self.post_off[term]), int(first_block[term]), int(first_block[last])
            order = self.order[p0 : self.post_off[last]]
            docs = self.docs[p0 : self.post_off[last]].astype(np.int64)
            block_starts, block_ends = starts[b0:b1] - p0, ends[b0:b1] - p0
            deltas = np.diff(docs, prepend=0)
            deltas[block_starts] = docs[block_starts]  # each block's ids delta-encoded from 0
            weights = weights_all[order]
            weights32 = weights.astype(np.float32).astype(np.float64)  # as array("f") holds them
            if doc_bytes is None:
                length_bytes = np.zeros(len(docs), np.int64)
            else:
                length_bytes = doc_bytes[docs]
            low = np.minimum.reduceat(np.where(length_bytes > 0, length_bytes, 256), block_starts)
            low[low == 256] = 0
            blocks = list(
                zip(
                    np.logical_and.reduceat(weights32 == 1.0, block_starts).tolist(),
                    (
                        np.minimum.reduceat(weights32, block_starts)
                        == np.maximum.reduceat(weights32, block_starts)
                    ).tolist(),
                    np.maximum.reduceat(weights, block_starts).tolist(),
                    low.tolist(),
                    np.maximum.reduceat(length_bytes, block_starts).tolist(),
                    np.add.reduceat(weights32, block_starts).tolist(),
                    block_starts.tolist(),
                    block_ends.tolist(),
                    strict=True,
                )
            )
            offset = self._write_terms(
                postfile,
                tindex,
                offset,
                field_key,
                range(term, last),
                [int(b) - b0 for b in first_block[term : last + 1]],
                blocks,
                deltas.tolist(),
                weights32.tolist(),
                docs.tolist(),
                list(map(values.__getitem__, order.tolist())),
                empty_values,
            )
            term = last

    def _write_terms(
        self,
        postfile: Any,
        tindex: Any,
        offset: int,
        field_key: bytes,
        terms: range,
        first_block: list[int],
        blocks: list[tuple[bool, bool, float, int, int, float, int, int]],
        deltas: list[int],
        weights: list[float],
        docs: list[int],
        values: list[bytes],
        fixed: int | None,
    ) -> int:
        """Writes ``terms`` from ``offset`` in ``postfile``; returns the offset after them."""
        dumps, compress = pickle.dumps, zlib.compress
        blobs: list[bytes] = []
        infos: list[bytes] = []
        for number in range(len(terms)):
            parts = [WHOOSH3_HEADER_MAGIC]
            total_weight = 0.0
            top_weight = 0.0
            low_byte = 0
            high_byte = 0
            last = first_block[number + 1] - 1
            for b in range(first_block[number], last + 1):
                all_ones, same, top, low_b, high_b, summed, start, end = blocks[b]
                ids = tuple(deltas[start:end])
                if all_ones:
                    block_weights: Any = None
                elif same:
                    block_weights = weights[start]
                else:
                    block_weights = tuple(weights[start:end])
                block_values = values[start:end]
                if fixed is None or fixed < 0:
                    packed: Any = tuple(_distinct([v for v in block_values if v]))
                elif fixed == 0:
                    packed = None
                else:
                    packed = b"".join(block_values)
                data = compress(dumps((ids, block_weights, packed), 2), 3)
                head = dumps((end - start, docs[end - 1], top, 3, low_b, high_b), 2)
                size = len(head) + len(data)
                parts += (pack_int(-size if b == last else size), head, data)
                total_weight += summed
                top_weight = max(top_weight, top)
                if low_b and (not low_byte or low_b < low_byte):
                    low_byte = low_b
                high_byte = max(high_byte, high_b)
            blob = b"".join(parts)
            blobs.append(blob)
            start, end = blocks[first_block[number]][6], blocks[last][7]
            # W3TermInfo(...).to_bytes() of a term whose postings are not inlined
            info = TERM_INFO.pack(
                False,
                total_weight,
                end - start,
                low_byte,
                high_byte,
                top_weight,
                docs[start],
                docs[end - 1],
            )
            infos.append(info + pack_long(offset) + pack_int(len(blob)))
            offset += len(blob)
        postfile.write(b"".join(blobs))
        _add_terms(tindex, [field_key + self.texts[t] for t in terms], infos)
        return offset


def _add_terms(tindex: Any, keys: list[bytes], values: list[bytes]) -> None:
    """``OrderedHashWriter.add(key, value)`` for each key (in order), in one write: the
    same bytes, without its two ``tell()`` (system calls) per term."""
    dbfile = tindex.dbfile
    position = dbfile.tell()
    hashfn, buckets, index, pack_lengths = (
        tindex.hashfn,
        tindex.buckets,
        tindex.index,
        HASH_RECORD_LENGTHS.pack,
    )
    parts: list[bytes] = []
    for key, value in zip(keys, values, strict=True):
        index.append(position)
        hashed = hashfn(key)
        buckets[hashed & 255].append((hashed, position))
        parts += (pack_lengths(len(key), len(value)), key, value)
        position += HASH_RECORD_LENGTHS.size + len(key) + len(value)
    dbfile.write(b"".join(parts))
    if keys:
        tindex.lastkey = keys[-1]


def _distinct(values: list[bytes]) -> list[bytes]:
    """``values`` with a repeated object copied: an encoded value is shared by the postings
    that have it (a cache), and pickle would write a repeat as a reference to the first,
    where Whoosh's writer, which encodes each posting anew, writes it again."""
    out = values
    if len(out) > 1 and len(set(out)) < len(out):  # equal values: maybe one object
        seen: set[int] = set()
        for i, v in enumerate(out):
            if id(v) in seen:
                out[i] = bytes(bytearray(v))
            seen.add(id(v))
    return out


def _doc_lengths(field: _Field, doc_count: int) -> npt.NDArray[np.int64]:
    """Each document's length in the field: the sum of its frequencies there."""
    return np.bincount(
        np.frombuffer(field.doc, np.int32),
        weights=np.frombuffer(field.freq, np.int32),
        minlength=doc_count,
    ).astype(np.int64)
