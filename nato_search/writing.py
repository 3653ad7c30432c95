"""Writing paragraphs into a Whoosh index: one writer, one lock, one commit per batch."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterable, Iterator

from whoosh.codec.base import Segment
from whoosh.index import Index as WhooshIndex
from whoosh.index import LockError
from whoosh.util import IDCHARS
from whoosh.writing import IndexWriter

from .corpus import CorpusError, Document
from .schema import day_key, indexed_text
from .search import LOCK_TIMEOUT, IndexLockedError

Progress = Callable[[int, int], None]
"""Called as ``progress(documents, paragraphs)`` while documents are written."""


@contextlib.contextmanager
def open_writer(
    ix: WhooshIndex, path: str, timeout: float = LOCK_TIMEOUT, **options
) -> Iterator[IndexWriter]:
    """A writer that commits on success and leaves the index untouched on any error."""
    try:
        writer = ix.writer(timeout=timeout, delay=0.05, **options)
    except LockError:
        raise IndexLockedError(
            f"the index at {path} is being written by another process; waited {timeout:g} s. "
            "Try again when it is done (a writer that was killed releases the lock with it)."
        ) from None
    try:
        yield writer
    except BaseException:
        writer.cancel()
        raise
    try:
        writer.commit()
    except BaseException:
        if writer.writelock:  # a failed commit must not keep the lock for this process
            writer.writelock.release()
        raise


def _unique_segment_id(cls, size: int = 16) -> str:
    return "".join(secrets.choice(IDCHARS) for _ in range(size))


# Whoosh names new segments with the global ``random`` module, so two writers in
# processes that seeded it alike pick the same name and the second commit fails.
Segment._random_id = classmethod(_unique_segment_id)


def write_documents(
    writer: IndexWriter,
    documents: Iterable[Document],
    *,
    replace: bool = False,
    progress: Progress | None = None,
) -> list[str]:
    """Adds each document's paragraphs; with ``replace``, first removes what its id held."""
    seen: set[str] = set()
    paragraphs = 0
    for document in documents:
        if document.id in seen:
            raise CorpusError(f"two documents have the id {document.id!r}")
        seen.add(document.id)
        if replace:
            writer.delete_by_term("doc_id", document.id)
        date = document.date.isoformat() if document.date else None
        extra = {"day": day_key(document.date)} if document.date else {}
        for number, text in enumerate(document.paragraphs):
            writer.add_document(
                doc_id=document.id,
                paragraph=number,
                title=document.title,
                text=indexed_text(document.title, text),
                _stored_text=text,
                names=text,
                date=date,
                **extra,
            )
        paragraphs += len(document.paragraphs)
        if progress:
            progress(len(seen), paragraphs)
    return list(seen)
