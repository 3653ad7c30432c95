"""What the facade asks of an engine, whatever its backend: the protocols every backend
meets (an :class:`Engine` lends :class:`Snapshot` objects, one consistent state each), and
the registry of backends (:class:`Backend`), which each backend's ``backend`` module joins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from whoosh.analysis import Analyzer

from nato_search.query.expansion import Lexicon
from nato_search.query.filters import Fields
from nato_search.query.plan import Page, Plan, Ranking
from nato_search.readers.corpus import Document
from nato_search.settings import RankingSettings


class Snapshot(Lexicon, Fields, Protocol):
    """One consistent state of an engine's index, lent to one search at a time (its
    :class:`~nato_search.query.filters.Fields` resolve filter expressions)."""

    partial: bool
    analyzer: Analyzer
    names: Analyzer

    def count(self) -> int: ...

    def documents(self) -> int: ...

    def document(self, doc_id: str) -> list[dict[str, Any]]:
        """The stored fields of the document's paragraphs, in any order."""
        ...

    def completions(self, prefix: str, limit: int) -> list[str]:
        """The most frequent words starting with ``prefix`` (not itself)."""
        ...

    def ranked(self, plan: Plan, page: Page) -> Ranking:
        """The page's paragraphs, how many match in all, and the facet counts."""
        ...

    def written(self, terms: Iterable[str]) -> set[str] | None:
        """Every word as the documents write it that gives one of ``terms`` (in the text
        field), or None if the index does not know."""
        ...


class Engine(Protocol):
    """Where paragraphs are stored and searched (an index folder, Xapian shards)."""

    path: str
    backend: str
    """Its name: ``whoosh`` or ``xapian``."""
    ranking: RankingSettings
    """How it ranks (BM25's parameters, the proximity bound), and the facade expands."""

    @property
    def analyzer(self) -> Analyzer: ...

    def snapshot(self, allow_partial: bool = False) -> AbstractContextManager[Snapshot]:
        """The latest committed state, for one search (then given back)."""
        ...

    def write(
        self,
        documents: list[Document],
        *,
        replace: bool,
        timeout: float,
        delete: Iterable[str] = (),
    ) -> None:
        """One commit: removes the ``delete`` ids, then adds (or replaces) ``documents``."""
        ...

    def delete(self, doc_ids: Iterable[str], *, timeout: float) -> int: ...

    def close(self) -> None: ...


Progress = Callable[[int, int], None]
"""Called as ``progress(documents, paragraphs)`` while documents are written."""


class Backend(Protocol):
    """How one backend builds an index folder and opens it; registered by its name, so the
    facade chooses a backend by looking it up, never by testing names."""

    name: str

    def format_record(self, shards: int) -> dict[str, Any]:
        """What its index folders record of its own format (beside the analysis)."""
        ...

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
        """Writes ``documents`` into the new, empty ``folder``."""
        ...

    def open(
        self,
        folder: Path,
        record: Mapping[str, Any],
        settings: RankingSettings,
        validate: Callable[[], None],
    ) -> Engine:
        """The engine of the index in ``folder``, built with ``record``."""
        ...


_BACKENDS: dict[str, Backend] = {}


def register(backend: Backend) -> Backend:
    _BACKENDS[backend.name] = backend
    return backend


def backend_named(name: object) -> Backend:
    """The registered backend called ``name``; a ValueError listing them for another."""
    found = _BACKENDS.get(name) if isinstance(name, str) else None
    if found is None:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(_BACKENDS)}")
    return found


def backend_names() -> tuple[str, ...]:
    return tuple(_BACKENDS)
