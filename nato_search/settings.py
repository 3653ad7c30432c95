"""How an index ranks and expands queries: one frozen object, passed down, never patched.

Every number here was chosen on PIAF (``benchmarks/quality.py``, whose ablations build
indexes with other settings side by side); two indexes in one process may rank
differently. Bounds that protect a process (query sizes, caches) are not settings: they
stay constants beside the code they protect.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, fields
from typing import Literal

LOCK_TIMEOUT = 10.0
"""Seconds a writer waits for another process's writer to finish before giving up."""

POOL_SIZE = 4
"""Readers per open index (and threads of the HTTP app). Searches are CPU-bound under the
GIL, so more would only cost files."""

IDF_FORMULAS = ("robertson-sparck-jones", "whoosh")
_AT_LEAST_ONE = frozenset({"near_candidates", "coarse_letters", "more_like_terms", "vector_depth"})


@dataclass(frozen=True, slots=True)
class RankingSettings:
    """The ranking and query-expansion settings of an open index.

    Pass one to :func:`~nato_search.open_index` or :func:`~nato_search.build_index`
    (``settings=RankingSettings(coarse_weight=0.0)``); ``Index.settings`` holds it.
    None of them is stored in the index: the same files can be opened with others.
    """

    bm25_k1: float = 0.8
    """BM25's term-frequency saturation (Whoosh's default is 1.2; 0.8 ranks better on PIAF)."""
    bm25_b: float = 0.75
    """BM25's length normalization."""
    idf: Literal["robertson-sparck-jones", "whoosh"] = "robertson-sparck-jones"
    """BM25's idf: ``log(1 + (N − n + 0.5) / (n + 0.5))`` as in Lucene, or Whoosh's own
    ``1 + log(N / (n + 1))`` (Whoosh backend only; Xapian uses its own)."""
    title_weight: float = 1.0
    """How many times a word of the document's title counts in each of its paragraphs'
    BM25 (its frequency and the paragraph's length, as BM25F weighs a field): 1 counts
    the title as more words of the paragraph. Whoosh backend only; Xapian shards count 1.
    On PIAF, 2 gains 0.002 MRR@10 over 1, within noise, and 0 loses 0.018
    (docs/internals.md)."""
    all_words_first: bool = True
    """Rank paragraphs holding every query word before those holding some."""
    proximity_boost: float = 0.3
    """Extra weight, as a share of a phrase match, of two query words standing side by
    side; 0 turns it off."""
    near_candidates: int = 300
    """First-stage paragraphs that the proximity bonus and the coarse level may reorder
    (they read positions and prefixes: the bound keeps a query's cost flat)."""
    coarse_letters: int = 5
    """Letters of a query word's stem that the coarse level keeps: ``construir``
    (construire) as ``const``, meeting ``construction`` and ``construit``."""
    coarse_weight: float = 0.5
    """Weight of the coarse level beside the stems' BM25; 0 turns it off."""
    fuzzy_weight: float = 0.7
    """A correction of a word the index does not hold counts this much of an exact match."""
    max_corrections: int = 3
    """Corrections searched for one unknown word (the closest, the most frequent first)."""
    max_fuzzy_letters: int = 30
    """Longest word (in letters) that is corrected or gets a suggestion. The longest French
    words in dictionaries have 25 to 27 letters (``anticonstitutionnellement``), so 30
    leaves room for two typos; a longer "word" is a token no dictionary holds (pasted
    code), and the typo automaton that would search for it grows with its length (seconds
    for 18,000 letters)."""
    max_fuzzy_words: int = 6
    """Unknown words of one query whose corrections are looked up (about 1 to 10 ms each on
    a small index); the rest are searched as typed, so a pasted list of typos stays fast."""
    name_weight: float = 0.6
    """A name matched only by its transliteration key (``Kouleba`` for ``Kuleba``) counts
    this much of an exact match."""
    prefix_completions: int = 8
    """Words that the last word of an as-you-type query also matches (the most frequent)."""
    prefix_weight: float = 0.5
    """Weight of a completion, below the word as typed."""
    prefix_min_letters: int = 3
    """Letters the last word needs before it is completed."""
    more_like_terms: int = 12
    """Most distinctive terms of a paragraph (or document) that ``Index.more_like`` searches."""
    vector_depth: int = 50
    """Best paragraphs of the first stage that word vectors reorder."""
    vector_weight: float = 0.5
    """Share of a query word's idf added per unit of cosine (BM25 gives an exact match at
    most ``(k1 + 1)`` idf)."""
    vector_floor: float = 0.5
    """Cosines under this count as no relation at all: most pairs of unrelated words land
    between 0.1 and 0.4, and summed over many words they would only add noise."""

    def __post_init__(self) -> None:
        for setting in fields(self):
            value = getattr(self, setting.name)
            default = setting.default
            if setting.name == "idf":
                if value not in IDF_FORMULAS:
                    raise ValueError(f"idf must be one of {', '.join(IDF_FORMULAS)}, not {value!r}")
            elif isinstance(default, bool):
                if not isinstance(value, bool):
                    raise TypeError(f"{setting.name} must be True or False, not {value!r:.60}")
            elif isinstance(default, int):
                least = 1 if setting.name in _AT_LEAST_ONE else 0
                if (
                    not isinstance(value, numbers.Integral)
                    or isinstance(value, bool)
                    or value < least
                ):
                    raise ValueError(
                        f"{setting.name} must be a whole number, {least} or more, not {value!r:.60}"
                    )
            elif (
                not isinstance(value, numbers.Real)
                or isinstance(value, bool)
                or not 0 <= float(value) < float("inf")
            ):
                raise ValueError(f"{setting.name} must be a number, 0 or more, not {value!r:.60}")
        if self.bm25_b > 1:
            raise ValueError(f"bm25_b must be between 0 and 1, not {self.bm25_b!r}")
        if self.vector_floor > 1:
            raise ValueError(f"vector_floor must be between 0 and 1, not {self.vector_floor!r}")


DEFAULT_SETTINGS = RankingSettings()
"""The defaults: what an index ranks by when it is given no settings."""
