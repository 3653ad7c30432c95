"""The Whoosh backend in the registry: an index folder that Whoosh stores and NumPy ranks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from whoosh import index as windex

from nato_search.engines.base import Engine, Progress, register
from nato_search.engines.whoosh.engine import WhooshEngine
from nato_search.engines.whoosh.parallel_build import write_segments
from nato_search.engines.whoosh.schema import make_schema
from nato_search.readers.corpus import Document
from nato_search.settings import RankingSettings
from nato_search.text.analyzer import french_analyzer


class WhooshBackend:
    name = "whoosh"

    def format_record(self, shards: int) -> dict[str, Any]:
        return {}

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
        windex.create_in(str(folder), make_schema(french_analyzer(stemmer)))
        write_segments(folder, documents, workers=workers, progress=progress)

    def open(
        self,
        folder: Path,
        record: Mapping[str, Any],
        settings: RankingSettings,
        validate: Callable[[], None],
    ) -> Engine:
        return WhooshEngine(str(folder), validate=validate, settings=settings)


WHOOSH = register(WhooshBackend())
