"""The sources manifest (``sources.json``): which files an index holds, their sizes, times,
hashes and document ids, so that :func:`~nato_search.update_index` re-reads only what
changed; written ahead of a commit with the files being changed marked pending."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nato_search.errors import (
    CorpusError,
)
from nato_search.readers.corpus import (
    Document,
    ReadOptions,
    Sources,
    read_bytes,
    read_file,
    skipped,
    source_items,
)


def id_taken(doc_id: str, new: str, holder: str) -> CorpusError:
    return CorpusError(
        f"{new}: document id {doc_id!r} is already held by {holder}; "
        "rename one of them (nothing was changed)"
    )


def record_sources(
    sources: Sources, manifest: dict[str, dict[str, Any]], options: ReadOptions, strict: bool
) -> Iterator[Document]:
    """The documents of ``sources``, noting in ``manifest`` which file held which ids; a
    file that cannot be read is skipped with a warning (an error if ``strict``), and an id
    two files give (``rapport.pdf``, ``rapport.docx``) is an error naming both."""
    holders: dict[str, str] = {}
    for item in source_items(sources):
        if isinstance(item, Document):
            yield item
            continue
        read = read_recorded(*item, options=options, strict=strict)
        if read is not None:
            key = str(item[0].resolve())
            for document in read[1]:
                if holders.setdefault(document.id, key) != key:
                    raise id_taken(document.id, key, holders[document.id])
            manifest[key] = read[0]
            yield from read[1]


def read_recorded(
    file: Path, doc_id: str | None = None, *, options: ReadOptions, strict: bool
) -> tuple[dict[str, Any], list[Document]] | None:
    """A file's documents and its recorded state, both from one read: the hash recorded
    is the hash of the content indexed, even if the file is rewritten meanwhile. None
    for a file skipped (it cannot be read: the warning says why)."""
    try:
        stat = file.stat()  # before reading: a write after this changes the mtime we record
        data = read_bytes(file)
        kind, documents = read_file(file, doc_id, data=data, options=options)
    except CorpusError as exc:
        if strict:
            raise
        skipped(exc)
        return None
    state = {
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "sha256": hashlib.sha256(data).hexdigest(),
        "format": kind,
        "docs": [d.id for d in documents],
    }
    return state, documents


def count_formats(manifest: dict[str, dict[str, Any]]) -> dict[str, int]:
    """How many indexed files each format has (``{"pdf": 3, "text": 12}``)."""
    counts: dict[str, int] = {}
    for state in manifest.values():
        kind = state.get("format", "text")  # manifests written before 1.2 named no format
        counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items()))


def unchanged_state(file: Path, known: dict[str, Any] | None) -> dict[str, Any] | None:
    """``known``, refreshed, if ``file`` still holds what it recorded; else None (also for
    a file an interrupted update was changing)."""
    if known is None or known.get("pending"):
        return None
    try:  # gone or unreadable since it was listed: read again, which says so and skips it
        stat = file.stat()
        if (known["size"], known["mtime_ns"]) == (stat.st_size, stat.st_mtime_ns):
            return known
        digest = hashlib.sha256(read_bytes(file)).hexdigest()
    except (OSError, CorpusError):
        return None
    if digest != known["sha256"]:
        return None
    return {**known, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def files_of_sources(sources: Sources) -> Iterator[tuple[Path, str | None]]:
    """Each source file with the document id its folder gives it, as a build reads them."""
    for item in source_items(sources):
        if isinstance(item, Document):
            raise TypeError(
                "update_index reads files and folders; use Index.update() for Documents"
            )
        yield item


def covered_folders(sources: Sources) -> list[str]:
    paths = [sources] if isinstance(sources, (str, os.PathLike)) else sources
    # Documents were refused by files_of_sources before this runs.
    return [str(Path(p).resolve()) for p in paths if not isinstance(p, Document)]


def is_under(file: str, folder: str) -> bool:
    return file == folder or file.startswith(folder.rstrip(os.sep) + os.sep)
