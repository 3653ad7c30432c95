"""The Xapian backend in the registry: a folder of local shards (a cluster file of served
shards is opened by :func:`~nato_search.open_index` with :func:`.cluster.read_cluster`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from nato_search.engines.base import Engine, Progress, register
from nato_search.engines.xapian.cluster import Shard, local_shards, require_xapian
from nato_search.engines.xapian.engine import LAYOUT, XapianEngine
from nato_search.errors import CorpusError
from nato_search.readers.corpus import Document
from nato_search.settings import LOCK_TIMEOUT, RankingSettings
from nato_search.text.analyzer import french_analyzer
from nato_search.text.names import names_analyzer

BATCH = 500
"""Documents written to Xapian shards per commit."""


def shards_engine(
    shards: list[Shard], path: Path, stemmer: str, settings: RankingSettings
) -> XapianEngine:
    return XapianEngine(shards, str(path), french_analyzer(stemmer), names_analyzer(), settings)


def write_batches(
    engine: XapianEngine, documents: Iterable[Document], progress: Progress | None
) -> None:
    """Streams documents into the shards, one commit per BATCH documents."""
    seen: set[str] = set()
    batch: list[Document] = []
    paragraphs = 0

    def flush() -> None:
        engine.write(batch, replace=True, timeout=LOCK_TIMEOUT)
        batch.clear()
        if progress:
            progress(len(seen), paragraphs)

    for document in documents:
        if document.id in seen:
            raise CorpusError(f"two documents have the id {document.id!r}")
        seen.add(document.id)
        batch.append(document)
        paragraphs += len(document.paragraphs)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()


class XapianBackend:
    name = "xapian"

    def format_record(self, shards: int) -> dict[str, Any]:
        return {"layout": LAYOUT}

    def build(
        self,
        folder: Path,
        documents: Iterable[Document],
        *,
        stemmer: str,
        shards: int,
        workers: int | None,
        progress: Progress | None,
        settings: RankingSettings,
        record: Mapping[str, Any],
    ) -> None:
        require_xapian()
        engine = shards_engine(local_shards(folder, shards), folder, stemmer, settings)
        write_batches(engine, documents, progress)
        engine.stamp(dict(record))

    def open(
        self,
        folder: Path,
        record: Mapping[str, Any],
        settings: RankingSettings,
        validate: Callable[[], None],
    ) -> Engine:
        require_xapian()
        shards = local_shards(folder, record["shards"])
        return shards_engine(shards, folder, record["stemmer"], settings)


XAPIAN = register(XapianBackend())
