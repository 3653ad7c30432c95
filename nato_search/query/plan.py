"""What every engine runs, so that all rank alike: the :class:`Plan` of a parsed and
expanded query, the :class:`Page` of options, and the :class:`Ranking` they give back;
BM25's idf and the term of a filter value, shared by the engines."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from unidecode import unidecode

from nato_search.query.syntax import Query

if TYPE_CHECKING:
    from nato_search.query.filters import Filter


def idf(paragraphs: int, holding: int) -> float:
    """The Robertson–Spärck Jones idf of BM25 (as in Lucene), over the live paragraphs.

    Whoosh's own, ``1 + log(N / (n + 1))``, weighs common words too much against
    rare ones; on PIAF this one ranks better (see the ablation table in docs/benchmarks.md).
    """
    return math.log(1 + (paragraphs - holding + 0.5) / (holding + 0.5))


def whoosh_idf(paragraphs: int, holding: int) -> float:
    """Whoosh's own idf, ``1 + log(N / (n + 1))`` (``RankingSettings(idf="whoosh")``)."""
    return 1 + math.log(paragraphs / (holding + 1))


ALL_WORDS_TIER = 1e6
"""Added to the key of paragraphs holding every clause, so that they sort above any
partial match (BM25 scores stay far below it, and keep 10 decimals of precision beside it)."""


@dataclass(frozen=True)
class Plan:
    """What every engine runs for a query, so that they all rank alike.

    Paragraphs matching any ``query.include`` clause, scored by BM25 over them;
    with ``all_words_first``, those matching every clause come first. Each
    ``near`` pair standing side by side adds ``near_weight`` of a phrase match.
    Each of the ``coarse`` prefixes adds ``coarse_weight`` of a BM25 that counts every
    term starting with it as one word (a coarser conflation than the stemmer's).
    ``query.exclude`` clauses remove paragraphs, ``query.dates`` restrict them.
    """

    query: Query
    near: tuple[tuple[str, str], ...] = ()
    all_words_first: bool = True
    near_weight: float = 0.3
    coarse: tuple[str, ...] = ()
    coarse_weight: float = 0.5


SORT_BUILT_IN = ("date", "year", "doc_id")
"""Fields every index sorts by; metadata keys sort too (``Page.sort``)."""


def sort_field(spec: str) -> tuple[str, bool]:
    """``("pages", True)`` for ``"-pages"`` (descending), ``("source", False)`` for ``"source"``."""
    return (spec[1:], True) if spec.startswith("-") else (spec, False)


NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
"""A metadata value that filters and sorts compare as a number (as JSON writes one)."""


def value_ranks(values: Iterable[str]) -> dict[str, int]:
    """Each distinct metadata value's place in sort order, alike in every engine: numbers
    first, numerically (``9`` before ``10``; ``1`` and ``1.0`` share a place), then the
    other values (``false``/``true`` among them) as a French reader orders them: accents
    and case aside (``défense`` before ``diplomatie``, ``Zurich`` after ``avril``), then by
    code point."""

    def key(value: str) -> tuple[int, Decimal, str, str]:
        if NUMBER.fullmatch(value):
            return (0, Decimal(value), "", "")
        return (1, Decimal(0), unidecode(value).casefold(), value)

    ranks: dict[str, int] = {}
    previous: tuple[int, Decimal, str, str] | None = None
    for value in sorted(set(values), key=key):
        place = key(value)
        if place != previous:
            rank = len(ranks)
        ranks[value] = rank
        previous = place
    return ranks


def decay(age_days: float, half_life: float) -> float:
    """What recency multiplies a relevance by: ``0.5 ** (age / half_life)``."""
    return float(0.5 ** (age_days / half_life))


DATE_FACETS = ("year", "month")
"""Facets read from the date, not from metadata."""


@dataclass(frozen=True)
class Page:
    """Which of a plan's matches an engine returns, and what it counts, the same way for all.

    The matches, best first: by relevance, or by the ``sort`` fields (``"-date"``,
    ``"source"``; see :func:`sort_field`), each tie broken by the next, then relevance; a
    paragraph without a value sorts last either way; a field of several values sorts by
    its least (ascending) or greatest (descending). ``recency`` (days) halves relevance
    every that many days of age, from the newest dated paragraph (undated: as old as the
    oldest). Restricted by ``filter`` (a resolved :mod:`~nato_search.query.filters` tree;
    None: none). With ``per_document``, only each document's best that many, and ``total``
    counts documents. ``offset`` and ``limit`` cut the page; ``facets`` count values over
    every match (documents with ``per_document``).
    """

    limit: int = 10
    offset: int = 0
    filter: Filter | None = None
    sort: tuple[str, ...] = ()
    per_document: int | None = None
    facets: tuple[str, ...] = ()
    recency: float | None = None


@dataclass
class Row:
    """One returned paragraph: its stored fields, its score, and whether it matched every
    ``include`` clause of the query."""

    stored: dict[str, Any]
    score: float
    matched_all: bool


@dataclass
class Ranking:
    """A page of rows, how many match in all, and the facet counts (most frequent first,
    ties by value)."""

    rows: list[Row]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


def value_text(value: object) -> str:
    """A metadata value as filters and facets compare it: a string as it is, anything
    else as JSON (``true``, ``3``, ``2.5``), so ``"3"`` and ``3`` are the same value."""
    return value if isinstance(value, str) else json.dumps(value)


def key_term(key: str, value: object) -> str:
    """The exact term (``key=value``) an index holds for a metadata value, or a document id."""
    return f"{key}={value_text(value)}"


def sorted_counts(counts: dict[str, int]) -> dict[str, int]:
    """Most frequent first; ties in the order of their values (as strings), so always alike."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
