"""A LangChain retriever over :meth:`Index.search`, so chains get French analysis.

LangChain's own ``BM25Retriever`` splits on whitespace: ``l'Alliance`` is not
``alliance`` and ``munition`` is not ``munitions``. This one asks a nato-search index,
with its analysis, typo tolerance, synonyms, filters and ranking.

>>> from nato_search.integrations.langchain import NatoSearchRetriever
>>> retriever = NatoSearchRetriever(index="my-index", k=4, filter={"source": "AFP"})
>>> docs = retriever.invoke("livraisons de munitions")

Needs the ``langchain`` extra: ``pip install 'nato-search[langchain]'``.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from typing import Any

try:
    from langchain_core.callbacks import (
        AsyncCallbackManagerForRetrieverRun,
        CallbackManagerForRetrieverRun,
    )
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever
    from pydantic import Field, field_validator
except ImportError as error:  # no langchain extra (tests/test_langchain.py hides it)
    raise ImportError(
        "nato_search.integrations.langchain needs langchain-core: "
        "pip install 'nato-search[langchain]'"
    ) from error

from nato_search.index import Hit, Index
from nato_search.indexing import open_index

__all__ = ["NatoSearchRetriever", "hit_to_document"]

_SEARCH_OPTIONS = frozenset(inspect.signature(Index.search).parameters) - {"self", "query"}
"""What ``search_kwargs`` may hold: ``Index.search``'s options (``limit`` and ``filter``
have fields of their own, ``k`` and ``filter``)."""


def hit_to_document(hit: Hit) -> Document:
    """A hit as a LangChain ``Document``: the paragraph as written, and where it comes from.

    The document's own metadata stays under ``metadata["metadata"]``, so that none of its
    keys (a ``title`` or ``score`` of its own) can overwrite the hit's.
    """
    return Document(
        page_content=hit.text,
        metadata={
            "id": hit.doc_id,
            "title": hit.title,
            "date": hit.date.isoformat() if hit.date else None,
            "paragraph": hit.paragraph,
            "page": hit.page,
            "score": hit.score,
            "metadata": dict(hit.metadata),
        },
    )


class NatoSearchRetriever(BaseRetriever):
    """The ``k`` best paragraphs of a nato-search index for a query, as ``Document``\\ s.

    ``index`` is an open :class:`~nato_search.Index`, or a path, opened with
    :func:`~nato_search.open_index` (then :meth:`close` it, or use the retriever as a
    context manager). ``filter`` is passed to
    :meth:`Index.search` as is (exact metadata values, ``doc_id`` too); ``search_kwargs``
    holds any other option of it (``per_document``, ``sort``, ``prefix``, ``fuzzy``, …),
    checked when the retriever is made. One retriever serves many threads, as the index
    does; ``ainvoke`` runs the search in a worker thread.
    """

    index: Index
    k: int = Field(default=4, ge=1)
    """How many documents (``Index.search``'s ``limit``)."""
    filter: dict[str, Any] | None = None
    """``Index.search``'s ``filter``: every key must match, one value of a list is enough."""
    search_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Any other option of ``Index.search``, e.g. ``{"per_document": 1}``."""

    @field_validator("index", mode="before")
    @classmethod
    def _open_a_path(cls, value: Any) -> Any:
        """A path is opened here, so a retriever can be configured with a string."""
        if isinstance(value, str | os.PathLike):
            return open_index(value)
        return value

    @field_validator("search_kwargs")
    @classmethod
    def _known_options(cls, value: dict[str, Any]) -> dict[str, Any]:
        """A misspelt option fails when the retriever is made, not at the first query."""
        if "limit" in value or "filter" in value:
            raise ValueError("give limit as k and filter as filter, not in search_kwargs")
        unknown = sorted(set(value) - _SEARCH_OPTIONS)
        if unknown:
            known = ", ".join(sorted(_SEARCH_OPTIONS - {"limit", "filter"}))
            raise ValueError(f"unknown Index.search option(s) {unknown}; choose from {known}")
        return value

    def _search(self, query: str) -> list[Document]:
        results = self.index.search(query, self.k, filter=self.filter, **self.search_kwargs)
        return [hit_to_document(hit) for hit in results]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        """The best ``k`` paragraphs, best first (``Index.search``'s order)."""
        return self._search(query)

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        """As the sync search, in a worker thread: a search reads files and must not block
        the event loop."""
        return await asyncio.to_thread(self._search, query)

    def close(self) -> None:
        """Close the index: one opened from a path has no other owner to close it."""
        self.index.close()

    def __enter__(self) -> NatoSearchRetriever:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
