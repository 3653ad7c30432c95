"""Writing paragraphs into a Whoosh index: one writer, one lock, one commit per change."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterable, Iterator
from typing import Any

from whoosh.analysis import Analyzer
from whoosh.codec.base import Segment
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC
from whoosh.reading import SegmentReader
from whoosh.util import IDCHARS
from whoosh.writing import IndexWriter

from nato_search import durable
from nato_search.durable import write_lock
from nato_search.engines.base import Progress
from nato_search.engines.fields import (
    IN_FIRST,
    body_start,
    day_key,
    indexed_text,
    keys_value,
    stored_metadata,
)
from nato_search.engines.whoosh import arrays_file, whoosh_private
from nato_search.engines.whoosh.arrays import WORDS_FIELD
from nato_search.engines.whoosh.segment_builder import SegmentBuilder, supports
from nato_search.errors import CorpusError
from nato_search.readers.corpus import Document
from nato_search.settings import LOCK_TIMEOUT


@contextlib.contextmanager
def open_writer(
    path: str | os.PathLike[str], timeout: float = LOCK_TIMEOUT, **options: Any
) -> Iterator[IndexWriter]:
    """A writer on the index at ``path`` that commits on success, and on any error leaves
    the index as it was, its lock released and its temporary files removed."""
    with write_lock(path, timeout):
        index = DurableStorage(str(path)).open_index()
        writer = whoosh_private.open_segment_writer(LeanWriter, index, **options)
        try:
            yield writer
        except BaseException:
            writer.cancel()
            raise
        try:
            writer.commit()
        except BaseException:
            with contextlib.suppress(OSError):  # what cancel() would remove; commit got past it
                whoosh_private.destroy_temporary_storage(writer)
            raise
        write_arrays(path)


class DurableStorage(FileStorage):
    """Whoosh's file storage with commits that survive a power loss. Whoosh writes a table
    of contents to a temporary file and renames it, syncing nothing: here the segments it
    lists are synced first (:meth:`sync_segments`), the file before its rename, and the
    folder after."""

    def rename_file(self, oldname: str, newname: str, safe: bool = False) -> None:
        durable.sync_file(whoosh_private.storage_path(self, oldname))
        super().rename_file(oldname, newname, safe)
        durable.sync_folder(self.folder)

    def sync_segments(self, segments: Iterable[Segment]) -> None:
        """Syncs the files of ``segments`` (those already on the disk return at once)."""
        prefixes = tuple(f"{segment.segment_id()}." for segment in segments)
        if prefixes:
            for name in os.listdir(self.folder):
                if name.startswith(prefixes):
                    durable.sync_file(whoosh_private.storage_path(self, name))


def write_arrays(path: str | os.PathLike[str]) -> None:
    """The scorer's arrays for every segment of the latest commit that lacks them (merged
    segments; a segment Whoosh's writer wrote), while the lock is held: a killed writer
    leaves at most a segment without them, which the next writer or reader builds.

    Only those segments are opened, and without memory maps: Whoosh copies each mapped
    part of a compound segment into memory, the whole postings file included."""
    storage = FileStorage(str(path), supports_mmap=False)
    toc = TOC.read(storage, "MAIN")
    for segment in toc.segments:
        try:
            found = arrays_file.load(
                path, segment.segment_id(), segment.doc_count_all(), verify=False
            )
        except arrays_file.ArraysDamagedError:
            continue  # not this writer's: readers report it
        if found is None:
            reader = SegmentReader(storage, toc.schema, segment)
            try:
                arrays_file.for_reader(path, reader, persist=True)
            finally:
                reader.close()
    arrays_file.remove_stale_temporaries(path)


def _unique_segment_id(cls: type[Segment], size: int = 16) -> str:
    return "".join(secrets.choice(IDCHARS) for _ in range(size))


# Whoosh names new segments with the global ``random`` module, so two writers in
# processes that seeded it alike pick the same name and the second commit fails.
Segment._random_id = classmethod(_unique_segment_id)


def paragraph_fields(document: Document, analyzer: Analyzer) -> Iterator[dict[str, Any]]:
    """The fields of each paragraph of ``document``, as ``add_document`` takes them
    (``analyzer``: the text field's)."""
    shared: dict[str, Any] = {
        "doc_id": document.id,
        "title": document.title,
        "date": document.date.isoformat() if document.date else None,
        "keys": keys_value(document.id, document.metadata),
    }
    if document.date:
        shared["day"] = day_key(document.date)
    if start := body_start(document.title, analyzer):
        shared["body"] = str(start)
    for number, text in enumerate(document.paragraphs):
        fields = {
            **shared,
            "paragraph": number,
            "text": indexed_text(document.title, text),
            "_stored_text": text,
            "names": text,
        }
        if document.metadata:  # stored once, with the first paragraph
            fields["meta"] = stored_metadata(document.metadata) if number == 0 else IN_FIRST
        if document.pages:
            fields["page"] = document.pages[number]
        yield fields


def unique_documents(
    documents: Iterable[Document], progress: Progress | None = None
) -> Iterator[Document]:
    """``documents`` as given, refusing an id met twice; ``progress`` is told after each
    one has been handled (when the next is asked for)."""
    seen: set[str] = set()
    paragraphs = 0
    for document in documents:
        if document.id in seen:
            raise CorpusError(f"two documents have the id {document.id!r}")
        seen.add(document.id)
        paragraphs += len(document.paragraphs)
        yield document
        if progress:
            progress(len(seen), paragraphs)


def write_documents(
    writer: Any,
    documents: Iterable[Document],
    *,
    replace: bool = False,
    progress: Progress | None = None,
) -> None:
    """Adds each document's paragraphs (to a Whoosh writer or a :class:`SegmentBuilder`);
    with ``replace``, first removes what its id held."""
    for document in unique_documents(documents, progress):
        if replace:
            writer.delete_by_term("doc_id", document.id)
        for fields in paragraph_fields(document, writer.schema[WORDS_FIELD].analyzer):
            writer.add_document(**fields)


class LeanWriter(whoosh_private.CommitHookWriter):
    """Whoosh's writer for deletes and merges; the documents added go to a
    :class:`SegmentBuilder`, whose segment joins the same commit."""

    builder: SegmentBuilder | None = None

    def add_document(self, **fields: Any) -> None:
        if not supports(self.schema):
            super().add_document(**fields)
            return
        if self.builder is None:
            self.builder = SegmentBuilder(self.storage, self.schema, self.indexname)
        self.builder.add_document(**fields)

    def before_toc(self, segments: list[Segment]) -> list[Segment]:
        if self.builder is not None:
            built = self.builder.finish(self.storage.folder)
            if built is not None:
                segments = [*segments, built]
        if isinstance(self.storage, DurableStorage):
            self.storage.sync_segments(segments)
        return segments

    def cancel(self) -> None:
        if self.builder is not None:
            self.builder.cancel()
        super().cancel()
