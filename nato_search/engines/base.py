"""What the facade asks of an engine, whatever its backend: the protocols every backend
meets (an :class:`Engine` lends :class:`Snapshot` objects, one consistent state each).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from whoosh.analysis import Analyzer

from nato_search.query.expansion import Lexicon
from nato_search.query.plan import Page, Plan, Ranking
from nato_search.readers.corpus import Document
from nato_search.settings import RankingSettings


class Snapshot(Lexicon, Protocol):
    """One consistent state of an engine's index, lent to one search at a time."""

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
