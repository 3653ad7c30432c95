"""Sources in: files and folders walked in a stable order, each file read by the reader
of its format (:mod:`~nato_search.readers.formats`), into :class:`Document` objects.

The readers' own modules hold what each format means; this one holds what is common to
all: which files a folder offers, the id a file gives, and what becomes of a file that
cannot be read.
"""

from __future__ import annotations

import os
import stat
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

from nato_search.errors import CorpusError, CorpusWarning
from nato_search.readers.delimited import check_columns
from nato_search.readers.document import MAX_METADATA_BYTES, RESERVED_KEYS, Document, check_metadata
from nato_search.readers.files import read_bytes, shown
from nato_search.readers.formats import ReadOptions, format_by_suffix, format_names, format_of

__all__ = [
    "MAX_METADATA_BYTES",
    "RESERVED_KEYS",
    "Document",
    "ReadOptions",
    "Sources",
    "check_metadata",
    "read_bytes",
    "read_documents",
    "read_file",
    "source_files",
    "source_items",
]


DEFAULT_OPTIONS = ReadOptions()


def source_files(folder: Path) -> Iterator[tuple[Path, str]]:
    """The files under ``folder`` that a reader takes, in name order, each with the document
    id it gets (its path below ``folder`` without the suffix).

    A file with a suffix no reader takes is skipped with a :class:`CorpusWarning` naming
    it; a file without a suffix is read, and skipped with a warning if its content is
    no known format. Hidden files and folders (``.git``, ``.DS_Store``) and office lock
    files (``~$report.docx``) are left out without a word.

    Symbolic links to files are read. Symbolic links to folders are not followed
    (they could loop, or reach far outside the corpus): each is skipped with a
    :class:`CorpusWarning` naming it, and so is a broken link; name such a folder
    as a source of its own to index it. A subfolder that cannot be listed is a
    :class:`CorpusError` naming it, as is a file that cannot be read (when it is
    read), so that a build never silently misses documents.
    """
    stack = [_entries(folder)]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        path = Path(entry.path)
        if entry.name.startswith((".", "~$")):
            continue
        try:
            is_link = entry.is_symlink()
            is_dir = entry.is_dir(follow_symlinks=False)
            mode = path.stat().st_mode if is_link else 0  # a link's target; unused otherwise
        except FileNotFoundError:  # a broken link (or a file deleted while walking)
            if is_link:
                warnings.warn(
                    f"{shown(path)}: skipped, a broken symbolic link", CorpusWarning, stacklevel=2
                )
            continue
        except OSError as exc:
            raise CorpusError(f"{shown(path)}: cannot read it ({exc.strerror or exc})") from None
        if is_dir:
            stack.append(_entries(path))
        elif is_link and stat.S_ISDIR(mode):
            warnings.warn(
                f"{shown(path)}: skipped, a symbolic link to a folder "
                "(links to folders are not followed; name it as a source to index it)",
                CorpusWarning,
                stacklevel=2,
            )
        elif not (stat.S_ISREG(mode) if is_link else entry.is_file(follow_symlinks=False)):
            continue  # a socket, a pipe, a device
        elif path.suffix and format_by_suffix(path) is None:
            warnings.warn(
                f"{shown(path)}: skipped, no reader for {path.suffix!r} files "
                f"(read: {', '.join(format_names())})",
                CorpusWarning,
                stacklevel=2,
            )
        else:
            yield path, path.relative_to(folder).with_suffix("").as_posix()


def _entries(folder: Path) -> Iterator[os.DirEntry[str]]:
    """A folder's entries sorted by name: the order ``sorted(rglob)`` gave."""
    try:
        with os.scandir(folder) as entries:
            found = sorted(entries, key=lambda e: e.name)
    except OSError as exc:
        raise CorpusError(
            f"{shown(folder)}: cannot list this folder ({exc.strerror or exc})"
        ) from None
    return iter(found)


Sources = Iterable[str | os.PathLike[str] | Document] | str | os.PathLike[str]
"""Files, folders (searched recursively), ready-made Documents, or one path."""


def read_documents(
    sources: Sources,
    *,
    clean: bool = True,
    columns: Mapping[str, str] | None = None,
    strict: bool = False,
) -> Iterator[Document]:
    """Documents from files, folders (searched recursively) or ready-made Documents.

    ``clean=False`` keeps text pages as written (no scraped-page chrome filter);
    ``columns`` maps CSV columns to record fields (``{"text": "body"}``). A file that
    cannot be read (damaged, encrypted, no text, a format whose extra is missing) is
    skipped with a :class:`CorpusWarning` naming it and why; ``strict=True`` makes it
    a :class:`CorpusError` instead.
    """
    options = read_options(clean, columns)
    for item in source_items(sources):
        if isinstance(item, Document):
            yield item
            continue
        try:
            yield from read_file(*item, options=options)[1]
        except CorpusError as exc:
            if strict:
                raise
            skipped(exc)


def read_options(clean: bool = True, columns: Mapping[str, str] | None = None) -> ReadOptions:
    if columns is None:
        return ReadOptions(clean=clean)
    return ReadOptions(clean=clean, columns=MappingProxyType(check_columns(columns)))


def skipped(error: CorpusError) -> None:
    """A file left out of a build, as a warning: the error names the file and why."""
    warnings.warn(f"skipped {error}", CorpusWarning, stacklevel=3)


def read_file(
    path: Path,
    doc_id: str | None = None,
    *,
    data: bytes | None = None,
    options: ReadOptions = DEFAULT_OPTIONS,
) -> tuple[str, list[Document]]:
    """A file's format and documents, from ``data`` when the caller already read it."""
    data = read_bytes(path) if data is None else data
    chosen = format_of(path, data)
    if chosen is None:
        raise CorpusError(
            f"{shown(path)}: not a format nato-search reads (read: {', '.join(format_names())})"
        )
    try:
        return chosen.name, chosen.read(path, data, doc_id or path.stem, options)
    except CorpusError:
        raise
    except ValueError as exc:  # an id made from a file name that is not UTF-8
        raise CorpusError(f"{shown(path)}: {exc} (rename the file to UTF-8)") from None


def source_items(sources: Sources) -> Iterator[Document | tuple[Path, str | None]]:
    """Ready-made Documents as they are, and each source file with the id its folder gives
    it (None for a file named on its own), in order, without reading the files."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    for source in sources:
        if isinstance(source, Document):
            yield source
            continue
        if not isinstance(source, (str, os.PathLike)):
            raise TypeError(
                f"a source is a path or a Document, not {type(source).__name__} ({source!r:.60})"
            )
        if not os.fspath(source):
            # Path("") is the working folder: an unset $SRC would index everything below it.
            raise CorpusError("an empty path is not a source; name a file or folder")
        path = Path(source)
        try:
            mode = path.stat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            raise CorpusError(f"{shown(path)}: no such file or folder") from None
        except OSError as exc:
            raise CorpusError(f"{shown(path)}: cannot read it ({exc.strerror or exc})") from None
        if stat.S_ISDIR(mode):
            yield from source_files(path)
        elif stat.S_ISREG(mode):
            yield path, None
        else:
            raise CorpusError(f"{shown(path)}: not a regular file or a folder")
