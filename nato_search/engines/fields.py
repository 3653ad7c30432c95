"""What an index stores for each paragraph, shared by the code that writes and reads it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from whoosh.analysis import Analyzer

from nato_search.query.plan import key_term
from nato_search.text.analyzer import analyze
from nato_search.text.tokenizer import FIELD_BREAK

FORMAT_VERSION = 7
"""Bumped when the schema changes, so old indexes are rebuilt rather than misread (4: metadata,
``meta`` stored and ``keys`` indexed; 5: ``keys`` given as a JSON array, so no value can
forge another term, and ``meta`` stored once per document; 6: ``page`` stored for the
paragraphs of paged sources, PDF files; 7: where each paragraph's text starts among its
words, for ``title:`` and ``text:`` in queries)."""
META_FILE = "nato-search.json"
SOURCES_FILE = "sources.json"
"""Which file held which documents, with its size, mtime and hash, for incremental updates."""


def key_terms(doc_id: str, metadata: Mapping[str, Any]) -> list[str]:
    """The exact terms of a paragraph's ``keys`` field: its document, and each metadata value
    (each element of a list; null is no value)."""
    terms = [key_term("doc_id", doc_id)]
    for key, value in metadata.items():
        for item in value if isinstance(value, list) else [value]:
            if item is not None:
                terms.append(key_term(key, item))
    return terms


def keys_value(doc_id: str, metadata: Mapping[str, Any]) -> str:
    """What ``keys`` is given to index: its terms as a JSON array (:class:`ExactTermsTokenizer`)."""
    return json.dumps(key_terms(doc_id, metadata), ensure_ascii=False)


IN_FIRST = True
"""The ``meta`` a paragraph after the first stores: its document's metadata is stored once,
with paragraph 0 (``meta`` absent: the document has none)."""


def stored_metadata(metadata: Mapping[str, Any]) -> str:
    return json.dumps(metadata, ensure_ascii=False)


def indexed_text(title: str, paragraph: str) -> str:
    return f"{title}{FIELD_BREAK}{paragraph}" if title else paragraph


def body_start(title: str, analyzer: Analyzer) -> int:
    """The position of a paragraph's first word in :func:`indexed_text`: the title's words
    stand before it (0 to ``start - 2``), the break takes one, the paragraph's follow."""
    return len(analyze(title, analyzer, "index")) + 1 if title else 0


def day_key(day: dt.date) -> str:
    """A date as a fixed-width sortable term (``20240613``), so a date filter is a term range.

    Whoosh's tiered numeric ranges returned wrong documents for some bounds
    (e.g. 20240101..99991231), so dates are plain terms.
    """
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"
