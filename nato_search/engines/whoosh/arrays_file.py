"""The ``.arrays`` file beside each Whoosh segment: its layout, writing, checked loading.

Like Lucene's per-segment files: a segment never changes once written, so its arrays are
built once (at commit, or by the first reader that misses them), written beside it as
``MAIN_<segid>.arrays`` and memory-mapped by every later reader. The name matches
Whoosh's segment-file pattern, so Whoosh's own ``clean_files`` (stock Whoosh included)
deletes the file when its segment is merged away. Each array has a CRC-32, checked with
its bounds when a process first maps the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from nato_search import durable
from nato_search.engines.whoosh.arrays import FieldPostings, SegmentArrays, WordForms
from nato_search.engines.whoosh.whoosh_private import (
    build,
)

FORMAT = 6
"""Bumped when the layout changes; a file of another format is rebuilt (3: the keys field;
4: the words as written; 5: a CRC-32 per array; 6: where each paragraph's text starts)."""


MAGIC = b"NSARR\0"


ALIGN = 64


SUFFIX = ".arrays"


STALE_AFTER = 600.0
"""Seconds after which a temporary file left by a writer counts as abandoned."""


def file_name(segment_id: str) -> str:
    """``MAIN_<segid>.arrays``: Whoosh's segment-file pattern, so its clean_files removes it."""
    return f"{segment_id}{SUFFIX}"


def _named_arrays(arrays: SegmentArrays) -> dict[str, npt.NDArray[Any]]:
    named: dict[str, npt.NDArray[Any]] = {
        "length": arrays.length,
        "day": arrays.day,
        "body": arrays.body,
    }
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
    "body": "<i4",
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
        segment_id,
        doc_count,
        views["length"],
        views["day"],
        views["body"],
        words,
        names,
        keys,
        forms,
    )
    arrays.checksums = checksums
    if any(len(a) != doc_count for a in (arrays.length, arrays.day, arrays.body)):
        raise ArraysDamagedError("lengths, days or starts for another number of paragraphs")
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
