"""Running a query plan over per-segment NumPy arrays: BM25 as array operations.

The index stays Whoosh's; beside each of its segments lie the same postings as
flat arrays (:mod:`.arrays`). A clause evaluates to the sorted
paragraph numbers it matches and their scores, so its cost follows the
postings it touches, as in Lucene, and every step is a NumPy operation, as in
bm25s. Phrases and the proximity bonus read positions only for paragraphs
that hold every word involved.

The ranking is the one :class:`~nato_search.query.plan.Plan` describes, over the
live paragraphs: BM25 with the Robertson–Spärck Jones idf; a phrase scores the
sum of its words' BM25; variants score their best form, alternatives and
groups the sum of what matched; paragraphs holding every clause come first;
ties go to the earlier paragraph.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from nato_search.engines.whoosh.arrays import FieldPostings, Kept, SegmentArrays
from nato_search.query.filters import And, Days, Filter, Has, Not, Or, Range
from nato_search.query.filters import Terms as KeyTerms
from nato_search.query.plan import (
    ALL_WORDS_TIER,
    DATE_FACETS,
    NUMBER,
    Page,
    Plan,
    idf,
    sort_field,
    sorted_counts,
    value_ranks,
    whoosh_idf,
)
from nato_search.query.syntax import AllOf, AnyOf, Clause, DateRange, Terms, Variants
from nato_search.settings import RankingSettings

Docs = npt.NDArray[np.int32]
Scores = npt.NDArray[np.float64]
_EMPTY_DOCS: Docs = np.zeros(0, np.int32)
_EMPTY_SCORES: Scores = np.zeros(0, np.float64)
Facets = dict[str, dict[str, int]]


@dataclass
class Match:
    """Sorted, distinct paragraph numbers of one segment and their scores."""

    docs: Docs
    scores: Scores

    @classmethod
    def empty(cls) -> Match:
        return cls(_EMPTY_DOCS, _EMPTY_SCORES)


@dataclass
class ScoredSegment:
    """One Whoosh segment as the scorer sees it."""

    arrays: SegmentArrays
    live: npt.NDArray[np.bool_]
    """False for deleted paragraphs."""
    base: int
    """Number of the segment's first paragraph in the whole index (Whoosh's doc offset)."""
    norm: Scores = field(init=False)
    """BM25's length normalization per paragraph: 1 − B + B·dl/avgdl."""
    whole: bool = field(init=False)
    """No paragraph deleted: a term's live frequency is its number of postings."""

    @property
    def end(self) -> int:
        """Number of the paragraph after the segment's last."""
        return self.base + self.arrays.doc_count

    def span(self, numbers: Docs) -> tuple[int, int]:
        """Where the segment's paragraphs lie in ``numbers`` (sorted, index-wide)."""
        lo, hi = np.searchsorted(numbers, (self.base, self.end))
        return int(lo), int(hi)


class Collection:
    """Every segment of one committed state, with the statistics BM25 needs."""

    def __init__(self, segments: Sequence[ScoredSegment], settings: RankingSettings):
        self.segments = list(segments)
        self.settings = settings
        self.k1, b = settings.bm25_k1, settings.bm25_b
        self._idf = idf if settings.idf == "robertson-sparck-jones" else whoosh_idf
        self.live_count = int(sum(int(s.live.sum()) for s in self.segments))
        self.title_weight = settings.title_weight
        lengths = [_weighted_length(s.arrays, self.title_weight) for s in self.segments]
        total_length = sum(
            float(n[s.live].sum()) for n, s in zip(lengths, self.segments, strict=True)
        )
        avgdl = total_length / self.live_count if self.live_count else 1.0
        self.size = max((s.end for s in self.segments), default=0)
        """Paragraph numbers run from 0 to ``size`` across the segments, as Whoosh's do."""
        self.bases = np.array([s.base for s in self.segments], np.int64)
        self.live = np.zeros(self.size, np.bool_)
        self.day = np.zeros(self.size, np.int32)
        self.body = np.zeros(self.size, np.int32)
        """Where each paragraph's text starts among its words (after the title's)."""
        for segment, length in zip(self.segments, lengths, strict=True):
            segment.norm = 1 - b + b * length / (avgdl or 1.0)
            segment.whole = bool(segment.live.all())
            self.live[segment.base : segment.end] = segment.live
            self.day[segment.base : segment.end] = segment.arrays.day
            self.body[segment.base : segment.end] = segment.arrays.body
        self._df: dict[tuple[str, str], int] = {}
        self._documents = 0
        self._numbered: tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]] | None = None
        self._matches: Kept[tuple[str, str], Match] = Kept(TERMS_KEPT)
        """Recent terms' matches: frequent words recur across queries, and cost the most."""
        self._columns: Kept[str, npt.NDArray[np.int64]] = Kept(COLUMNS_KEPT)
        """Sort keys of recent sorts, a number per paragraph."""
        self._number_columns: Kept[str, list[Scores]] = Kept(COLUMNS_KEPT)
        """The numbers of the values of recent range filters' keys, per segment."""
        self._index_order: npt.NDArray[np.int64] | None = None
        self._ages: Scores | None = None
        """Each paragraph's age in days (recency), once a search asks."""

    @functools.cached_property
    def live_docs(self) -> Docs:
        """Every live paragraph's number, ascending: the matches of a placeholder search."""
        found: Docs = np.flatnonzero(self.live).astype(np.int32)
        return found

    def frequency(self, term: str, field: str = "words") -> int:
        """Live paragraphs holding ``term`` in ``field``."""
        key = (field, term)
        found = self._df.get(key)
        if found is None:
            found = 0
            for segment in self.segments:
                postings = _field(segment.arrays, field)
                i = postings.lookup(term)
                if i < 0:
                    continue
                if segment.whole:
                    found += int(postings.post_off[i + 1] - postings.post_off[i])
                else:
                    found += int(segment.live[postings.postings(i)[0]].sum())
            self._df[key] = found  # read-only after a commit: safe to share between threads
        return found

    def similar(self, term: str, max_edits: int) -> list[tuple[str, int, int]]:
        """Live terms within ``max_edits`` of ``term`` sharing its first letter, as
        ``(term, edits, frequency)``: an edit distance computed over every candidate of a
        segment's vocabulary at once, so a typo costs about what an exact word does."""
        found: dict[str, int] = {}
        for segment in self.segments:
            words = segment.arrays.words
            for candidate, edits in _within(words.term_blob, words.term_off, term, max_edits):
                found.setdefault(candidate, edits)
        frequencies = ((t, e, self.frequency(t)) for t, e in found.items() if t != term)
        return [(t, e, f) for t, e, f in frequencies if f]

    def similar_written(self, word: str, max_edits: int) -> dict[str, int] | None:
        """Words as written in the text within ``max_edits`` of ``word`` (same first letter),
        with their edits; None when a segment does not know its words."""
        found: dict[str, int] = {}
        for segment in self.segments:
            forms = segment.arrays.forms
            if forms is None:
                return None
            for form, edits in _within(forms.blob, forms.off, word, max_edits):
                found[form] = min(edits, found.get(form, edits))
        return found

    def holding(self, term: str, limit: int = 3) -> list[int]:
        """Index-wide numbers of the first live paragraphs holding ``term`` (for did-you-mean)."""
        found: list[int] = []
        for segment in self.segments:
            i = segment.arrays.words.lookup(term)
            if i >= 0:
                docs = segment.arrays.words.postings(i)[0]
                found += [int(d) + segment.base for d in docs[segment.live[docs]][:limit]]
        return found[:limit]

    def written(self, terms: Iterable[str]) -> set[str] | None:
        """Every word as written in the text that gives one of ``terms``; None when a
        segment does not know its words."""
        found: set[str] = set()
        for segment in self.segments:
            forms = segment.arrays.forms
            if forms is None:
                return None
            for term in terms:
                i = segment.arrays.words.lookup(term)
                if i >= 0:
                    found.update(forms.of_term(i))
        return found

    def idf(self, term: str, field: str) -> float:
        return self._idf(self.live_count, self.frequency(term, field))

    def coarse(self, prefixes: Sequence[str], among: Docs) -> Scores:
        """BM25 of ``among`` (sorted) where every term starting with a prefix counts as that
        prefix. Its paragraph frequency is the sum of its terms' (at most every paragraph):
        a prefix's terms lie side by side in each segment, so their postings are one slice."""
        found = np.zeros((len(prefixes), len(among)))
        holding = np.zeros(len(prefixes), np.int64)
        for segment in self.segments:
            words = segment.arrays.words
            first, last = segment.span(among)
            local = among[first:last] - segment.base
            wanted = np.zeros(segment.arrays.doc_count, np.bool_)
            wanted[local] = True
            for j, prefix in enumerate(prefixes):
                lo, hi = words.prefix_range(prefix)
                start, end = int(words.post_off[lo]), int(words.post_off[hi])
                docs = words.docs[start:end]
                holding[j] += end - start if segment.whole else int(segment.live[docs].sum())
                if first < last and start < end:
                    keep = wanted[docs]
                    counts = words.tf[start:end].astype(np.float64)
                    if self.title_weight != 1.0:
                        body = segment.arrays.body[docs]
                        counts += (self.title_weight - 1.0) * _title_counts(words, lo, hi, body)
                    found[j, first:last] += np.bincount(
                        np.searchsorted(local, docs[keep]),
                        weights=counts[keep],
                        minlength=len(local),
                    )
        k1, norm = self.k1, self._norm(among)
        scores = np.zeros(len(among))
        for j in range(len(prefixes)):
            if holding[j]:
                weight = self._idf(self.live_count, min(int(holding[j]), self.live_count))
                scores += weight * found[j] * (k1 + 1) / (found[j] + k1 * norm)
        return scores

    def _norm(self, among: Docs) -> Scores:
        """BM25's length normalization of ``among`` (sorted), read in each segment."""
        norm = np.ones(len(among))
        for segment in self.segments:
            first, last = segment.span(among)
            norm[first:last] = segment.norm[among[first:last] - segment.base]
        return norm

    def rank(self, plan: Plan, page: Page) -> tuple[list[tuple[int, float, bool]], int, Facets]:
        """The page's paragraphs as (index-wide number, score, matched every clause), how
        many match (documents, with ``per_document``), and the facet counts.

        Scores: BM25, plus the proximity bonus for the best ``settings.near_candidates``
        paragraphs
        of the first stage (all of them when tied at the cut: a bonus only raises a score,
        so no paragraph below them can overtake them). With all-words-first, paragraphs
        holding every clause are lifted by just enough to score at least as high as the best
        partial match, so scores never increase down the list; every step depends on the
        matches alone, never on ``limit`` or ``offset``, so pages agree with one another.
        """
        tiered = plan.all_words_first and len(plan.query.include) > 1
        evaluator = _Evaluator(self)
        hits, full = evaluator.query(plan)
        if page.filter is not None:
            keep = self._filter_mask(page.filter)[hits.docs]
            hits, full = Match(hits.docs[keep], hits.scores[keep]), full[keep]
        decay = self._decay(hits.docs, page.recency) if page.recency is not None else None
        if decay is not None:
            scores = hits.scores * decay
        else:  # a term's matches are kept for later searches: never changed in place
            scores = hits.scores.copy() if plan.query.include else hits.scores
        matches = _Matches(self, hits.docs, scores, full)
        if not len(matches.docs):
            return [], 0, {name: {} for name in page.facets}
        key = matches.scores + (matches.full * ALL_WORDS_TIER if tiered else 0.0)
        # The page lies among the best ``need`` by this key, bonus or not: the bonus lifts
        # only the best, and the lift below moves every full match alike.
        need = page.offset + page.limit
        coarse = plan.coarse if plan.coarse_weight > 0 else ()
        candidates = self.settings.near_candidates
        chosen = key >= _cut(key, candidates) if plan.near or coarse else None
        if page.sort or page.per_document is not None:
            best = None  # the page is found among every match
        elif chosen is not None and need <= candidates:
            best = chosen
        else:
            best = key >= _cut(key, need)
        if chosen is not None:
            at = np.flatnonzero(chosen)
            among = matches.docs[at]
            for near in evaluator.adjacent(plan.near, among):
                into = at[np.searchsorted(among, near.docs)]
                bonus = plan.near_weight * near.scores
                matches.scores[into] += bonus * decay[into] if decay is not None else bonus
            if coarse:
                bonus = plan.coarse_weight * self.coarse(coarse, among)
                matches.scores[at] += bonus * decay[at] if decay is not None else bonus
        full = matches.full if tiered else np.zeros(len(matches.docs), np.bool_)
        # Ordered before the lift, which adds one number to every full match: after it, two
        # scores could round to one, and the order of the two then hang on the pool's edge.
        order, total = self._order(matches, full, page, best)
        if tiered and full.any() and not full.all():
            lift = float(matches.scores[~full].max() - matches.scores[full].min())
            matches.scores[full] += max(lift, 0.0)
        shown = order[page.offset : page.offset + page.limit]
        rows = [
            (int(n), float(s), bool(f))
            for n, s, f in zip(
                matches.numbers[shown], matches.scores[shown], matches.full[shown], strict=True
            )
        ]
        facets = {name: self._facet(name, matches, page) for name in page.facets}
        return rows, total, facets

    def _order(
        self,
        matches: _Matches,
        full: npt.NDArray[np.bool_],
        page: Page,
        best: npt.NDArray[np.bool_] | None,
    ) -> tuple[npt.NDArray[np.intp], int]:
        """Match indices in page order (at least the first ``offset + limit``), and the total.
        Ranked by relevance, the page lies among ``best``, the matches the first stage put
        first; None for a sorted or per-document page, found among every match."""
        need = page.offset + page.limit
        total = len(matches.docs)
        if best is not None:
            first = np.flatnonzero(best)
            tie = self.index_order(matches.numbers[first])
            among = first[_best(matches.scores[first], full[first], need, tie)]
        else:
            among, total = self._first_keys(matches, full, page, need)
        # Ties go to the document whose id comes first (UTF-8 bytes), then to its earlier
        # paragraph: never to where paragraphs lie in the segments, so an index updated
        # over time pages as a fresh build of the same documents does.
        numbers = matches.numbers[among]
        keys: list[npt.NDArray[Any]] = [self.index_order(numbers)]
        keys += [-matches.scores[among], ~full[among]]
        keys += [self.sort_column(spec)[numbers] for spec in reversed(page.sort)]
        order = among[np.lexsort(keys)]
        if page.per_document is None:
            return order, total
        owners = self.document_ranks(matches.numbers[order])
        by_owner = np.argsort(owners, kind="stable")
        grouped = owners[by_owner]
        starts = np.flatnonzero(np.concatenate(([True], grouped[1:] != grouped[:-1])))
        sizes = np.diff(np.append(starts, len(grouped)))
        rank = np.empty(len(order), np.int64)
        rank[by_owner] = np.arange(len(order)) - np.repeat(starts, sizes)
        return order[rank < page.per_document], total

    def _first_keys(
        self, matches: _Matches, full: npt.NDArray[np.bool_], page: Page, need: int
    ) -> tuple[npt.NDArray[np.intp], int]:
        """The matches that can reach the first ``need`` places of a sorted or per-document
        page (every tie at the cut included), found by the first sort key alone, so that
        only they are sorted by every key; and the total (documents, with ``per_document``)."""
        primary: npt.NDArray[Any]
        if page.sort:
            primary = self.sort_column(page.sort[0])[matches.numbers]
        else:
            primary = -(matches.scores + full * ALL_WORDS_TIER)
        if page.per_document is None:
            if len(primary) <= need:
                return np.arange(len(primary)), len(primary)
            cut = np.partition(primary, need - 1)[need - 1]
            return np.flatnonzero(primary <= cut), len(primary)
        owners = self.document_ranks(matches.numbers)
        if not len(owners):
            return np.arange(0), 0
        present = np.zeros(int(owners.max()) + 1, np.bool_)
        present[owners] = True
        documents = int(present.sum())
        if documents <= need:
            return np.arange(len(primary)), documents
        first = np.full(len(present), _largest(primary.dtype), primary.dtype)
        if page.sort:  # every sort field is the document's: any paragraph has its key
            first[owners] = primary
        else:
            np.minimum.at(first, owners, primary)  # each document's best paragraph's key
        cut = np.partition(first[present], need - 1)[need - 1]
        return np.flatnonzero(first[owners] <= cut), documents

    def sort_column(self, spec: str) -> npt.NDArray[np.int64]:
        """Index-wide sort keys of ``spec`` (``"-pages"``): ascending numbers, the smallest
        first, a paragraph without a value last (``_UNDATED``); kept for the commit, as the
        arrays it is read from (the ``keys`` postings of each segment) are."""
        found = self._columns.get(spec)
        if found is not None:
            return found
        name, descending = sort_field(spec)
        if name in ("date", "year"):
            value = self.day.astype(np.int64) // (10000 if name == "year" else 1)
            held = self.day > 0
        elif name == "doc_id":
            value = self._documents_numbered()[0].astype(np.int64)
            held = value >= 0
        else:
            value, held = self._key_ranks(name, descending)
        column = np.where(held, -value if descending else value, _UNDATED)
        self._columns.put(spec, column, len(column))
        return column

    def _key_ranks(
        self, key: str, greatest: bool
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        """Each paragraph's value of ``key`` as its rank (:func:`value_ranks`): the least of
        its values, or the ``greatest``; and whether it has one."""
        ranges = [s.arrays.keys.prefix_range(f"{key}=") for s in self.segments]
        skip = len(key) + 1
        texts = [
            [s.arrays.keys.term(i)[skip:] for i in range(lo, hi)]
            for s, (lo, hi) in zip(self.segments, ranges, strict=True)
        ]
        ranks = value_ranks(itertools.chain.from_iterable(texts))
        missing = np.iinfo(np.int64).min if greatest else np.iinfo(np.int64).max
        value = np.full(self.size, missing, np.int64)
        for segment, (lo, hi), held in zip(self.segments, ranges, texts, strict=True):
            keys = segment.arrays.keys
            offsets = keys.post_off[lo : hi + 1]
            docs = keys.docs[offsets[0] : offsets[-1]] + segment.base
            rank = np.fromiter(map(ranks.__getitem__, held), np.int64, len(held))
            (np.maximum if greatest else np.minimum).at(
                value, docs, np.repeat(rank, np.diff(offsets))
            )
        return value, value != missing

    def _numbers(self, key: str) -> list[Scores]:
        """For each segment, the number each of its ``key=`` terms holds (NaN for a value
        that is not a number), read once per commit: a range filter is then one comparison
        per distinct value, and one pass over the key's postings."""
        found = self._number_columns.get(key)
        if found is None:
            skip = len(key) + 1
            found = []
            for segment in self.segments:
                keys = segment.arrays.keys
                lo, hi = keys.prefix_range(f"{key}=")
                texts = (keys.term(i)[skip:] for i in range(lo, hi))
                found.append(
                    np.fromiter(
                        (float(t) if NUMBER.fullmatch(t) else math.nan for t in texts),
                        np.float64,
                        hi - lo,
                    )
                )
            self._number_columns.put(key, found, sum(len(f) for f in found))
        return found

    def _decay(self, docs: Docs, half_life: float) -> Scores:
        """What recency multiplies each of ``docs``' relevance by (:func:`decay`)."""
        ages = self._ages
        if ages is None:
            ordinal = np.zeros(self.size, np.float64)
            dated = (self.day > 0) & self.live
            day = self.day[dated]
            months = (day // 10000 - 1970) * 12 + day // 100 % 100 - 1
            ordinal[dated] = (
                months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
                + day % 100
                - 1
            )
            newest = ordinal[dated].max() if dated.any() else 0.0
            oldest = ordinal[dated].min() if dated.any() else 0.0
            ages = np.where(dated, newest - ordinal, newest - oldest)
            self._ages = ages
        return np.power(0.5, ages[docs] / half_life)

    def _filter_mask(self, node: Filter) -> npt.NDArray[np.bool_]:
        """True for the paragraphs the filter keeps (a NOT keeps live paragraphs only)."""
        if isinstance(node, And | Or):
            parts = [self._filter_mask(part) for part in node.parts]
            start = np.full(self.size, isinstance(node, And), np.bool_)
            return functools.reduce(
                np.logical_and if isinstance(node, And) else np.logical_or, parts, start
            )
        if isinstance(node, Not):
            return ~self._filter_mask(node.part) & self.live
        if isinstance(node, Days):
            return (self.day >= node.low) & (self.day <= node.high) & (self.day > 0)
        held = np.zeros(self.size, np.bool_)
        for number, segment in enumerate(self.segments):
            keys = segment.arrays.keys
            if isinstance(node, Range):
                lo, hi = keys.prefix_range(f"{node.key}=")
                offsets = keys.post_off[lo : hi + 1]
                values = self._numbers(node.key)[number]
                bound = float(node.bound)
                compare = {">": np.greater, ">=": np.greater_equal, "<": np.less}
                chosen = compare.get(node.op, np.less_equal)(values, bound)
                posted = keys.docs[offsets[0] : offsets[-1]]
                held[posted[np.repeat(chosen, np.diff(offsets))] + segment.base] = True
                continue
            if isinstance(node, Has):
                lo, hi = keys.prefix_range(f"{node.key}=")
                held[keys.docs[keys.post_off[lo] : keys.post_off[hi]] + segment.base] = True
                continue
            assert isinstance(node, KeyTerms)
            for value in node.values:
                i = keys.lookup(f"{node.key}={value}")
                if i >= 0:
                    held[keys.postings(i)[0] + segment.base] = True
        return held

    @functools.cached_property
    def key_names(self) -> list[str]:
        """The metadata keys some live paragraph holds: one jump per key over each
        segment's sorted ``key=value`` terms, past every value of the key."""
        found: set[str] = set()
        for segment in self.segments:
            keys, i = segment.arrays.keys, 0
            while i < len(keys):
                name = keys.term_bytes(i).partition(b"=")[0].decode("utf-8")
                end = keys.prefix_range(f"{name}=")[1]
                docs = keys.docs[keys.post_off[i] : keys.post_off[end]]
                if segment.whole or segment.live[docs].any():
                    found.add(name)
                i = max(end, i + 1)
        found.discard("doc_id")
        return sorted(found)

    def key_values(self, key: str) -> list[str]:
        """The distinct values of ``key`` that live paragraphs hold."""
        found: set[str] = set()
        skip = len(key) + 1
        for segment in self.segments:
            keys = segment.arrays.keys
            lo, hi = keys.prefix_range(f"{key}=")
            for i in range(lo, hi):
                if segment.whole or segment.live[keys.postings(i)[0]].any():
                    found.add(keys.term(i)[skip:])
        return sorted(found)

    def document_ranks(self, numbers: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.int32]:
        """The document of each paragraph (index-wide numbers) as its id's rank among the ids
        of the index, in UTF-8 byte order: one number per document, the same whatever the
        segments."""
        ranks: npt.NDArray[np.int32] = self._documents_numbered()[0][numbers]
        return ranks

    def index_order(self, numbers: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.int64]:
        """Each paragraph's place in index order (its document's id rank, then its number):
        how ties are ordered, one key for both."""
        if self._index_order is None:
            owner, paragraph = self._documents_numbered()
            self._index_order = (owner.astype(np.int64) << 32) | paragraph
        found: npt.NDArray[np.int64] = self._index_order[numbers]
        return found

    def _documents_numbered(self) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        """Index-wide: each paragraph's document rank (-1 for none) and paragraph number,
        from the ``doc_id=`` terms, read once per commit, when a search first needs them.

        A document's paragraphs lie together in one segment, in order (written so, and
        Whoosh's merges keep them so), so a paragraph's number is its place among its
        document's postings there."""
        found = self._numbered
        if found is not None:
            return found
        ranges = [s.arrays.keys.prefix_range(DOC_KEY) for s in self.segments]
        ranks = _id_ranks([s.arrays.keys for s in self.segments], ranges)
        owner = np.full(self.size, -1, np.int32)
        paragraph = np.zeros(self.size, np.int32)
        for segment, (lo, hi), held in zip(self.segments, ranges, ranks, strict=True):
            keys = segment.arrays.keys
            offsets = keys.post_off[lo : hi + 1]
            sizes = np.diff(offsets)
            docs = keys.docs[offsets[0] : offsets[-1]] + segment.base
            owner[docs] = np.repeat(held, sizes)
            paragraph[docs] = np.arange(len(docs)) - np.repeat(offsets[:-1] - offsets[0], sizes)
        live = owner[self.live]
        self._documents = int(np.count_nonzero(np.bincount(live[live >= 0])))
        self._numbered = (owner, paragraph)
        return self._numbered

    @property
    def documents(self) -> int:
        """Live documents (each holds one or more live paragraphs)."""
        self._documents_numbered()
        return self._documents

    def _facet(self, name: str, matches: _Matches, page: Page) -> dict[str, int]:
        """Value → matches holding it (documents, with ``per_document``)."""
        by_document = page.per_document is not None
        owners = self.document_ranks(matches.numbers) if by_document else None
        counts: dict[str, int] = {}
        for i, segment in enumerate(self.segments):
            mine = matches.segment == i
            docs = matches.local[mine]
            if name in DATE_FACETS:
                day = segment.arrays.day[docs].astype(np.int64)
                dated = day > 0
                value = day[dated] // (10000 if name == "year" else 100)
                owner = owners[mine][dated] if owners is not None else None
                found, count = _count(value, owner)
                for v, c in zip(found.tolist(), count.tolist(), strict=True):
                    text = f"{v:04d}" if name == "year" else f"{v // 100:04d}-{v % 100:02d}"
                    counts[text] = counts.get(text, 0) + c
                continue
            keys = segment.arrays.keys
            lo, hi = keys.prefix_range(f"{name}=")
            if lo == hi:
                continue
            held = np.zeros(segment.arrays.doc_count, np.bool_)
            held[docs] = True
            posted = keys.docs[keys.post_off[lo] : keys.post_off[hi]]
            term = np.repeat(np.arange(lo, hi), np.diff(keys.post_off[lo : hi + 1]))
            inside = held[posted]
            owner = self.document_ranks(posted[inside] + segment.base) if by_document else None
            found, count = _count(term[inside], owner)
            skip = len(name) + 1
            for t, c in zip(found.tolist(), count.tolist(), strict=True):
                text = keys.term(t)[skip:]
                counts[text] = counts.get(text, 0) + c
        return sorted_counts(counts)

    def completions(self, prefix: str, limit: int) -> list[str]:
        """The most frequent live words starting with ``prefix`` (itself excluded), by
        frequency then alphabetically: a range of each segment's sorted vocabulary."""
        found: set[str] = set()
        for segment in self.segments:
            words = segment.arrays.words
            lo, hi = words.prefix_range(prefix)
            sizes = np.diff(words.post_off[lo : hi + 1])
            for k in np.argsort(-sizes, kind="stable")[: limit * 2]:
                found.add(words.term(int(lo + k)))
        found.discard(prefix)
        ranked = sorted((-self.frequency(t), t) for t in found)
        return [t for f, t in ranked if f < 0][:limit]


class _Matches:
    """Every match of a search: index-wide paragraph numbers (ascending), scores, flags."""

    def __init__(
        self, collection: Collection, docs: Docs, scores: Scores, full: npt.NDArray[np.bool_]
    ):
        self.collection = collection
        self.docs = docs
        self.scores = scores
        self.full = full
        self.numbers = docs

    @functools.cached_property
    def segment(self) -> npt.NDArray[np.intp]:
        """The segment of each match (facets and documents read the segments' own arrays)."""
        found: npt.NDArray[np.intp] = (
            np.searchsorted(self.collection.bases, self.numbers, "right") - 1
        )
        return found

    @functools.cached_property
    def local(self) -> Docs:
        """Each match's number within its segment."""
        return (self.numbers - self.collection.bases[self.segment]).astype(np.int32)


def _best(
    scores: Scores, full: npt.NDArray[np.bool_], need: int, tie: npt.NDArray[np.int64]
) -> npt.NDArray[np.intp]:
    """Indices of the ``need`` best matches (full ones first; of those tied at the cut, the
    first by ``tie``, as the page orders them), without sorting them all."""
    whole = np.flatnonzero(full)
    if len(whole) >= need:
        return whole[_first(scores[whole], need, tie[whole])]
    rest = np.flatnonzero(~full)
    return np.concatenate([whole, rest[_first(scores[rest], need - len(whole), tie[rest])]])


def _first(key: Scores, limit: int, tie: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
    """Indices of the ``limit`` largest keys, ties at the cut to the smallest ``tie``."""
    if len(key) <= limit:
        return np.arange(len(key))
    cut = _cut(key, limit)
    above = np.flatnonzero(key > cut)
    at = np.flatnonzero(key == cut)
    room = limit - len(above)
    if len(at) > room:
        at = at[np.argpartition(tie[at], room - 1)[:room]]
    return np.concatenate([above, at])


def _count(
    values: npt.NDArray[np.int64], owners: npt.NDArray[np.integer[Any]] | None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Distinct values and how often each occurs (in how many owners, when given)."""
    if owners is not None and len(values):
        pairs = np.unique(np.stack([owners, values]), axis=1)
        values = pairs[1]
    if not len(values):
        return values, values
    least = int(values.min())
    if int(values.max()) - least > 4 * len(values):  # sparse: sorting costs less
        found, count = np.unique(values, return_counts=True)
        return found, count
    counted = np.bincount(values - least)  # one pass: values are small whole numbers
    present = np.flatnonzero(counted)
    return present + least, counted[present]


DOC_KEY = "doc_id="
"""Prefix of the ``keys`` term naming a paragraph's document."""
_UNDATED = np.iinfo(np.int64).max
"""Sort key of an undated paragraph: last, whichever way dates sort."""


COLUMNS_KEPT = 8_000_000
"""Sort keys a commit's collection keeps (64 MB: 40 fields' columns at 179,000 paragraphs)."""
TERMS_KEPT = 2_000_000
"""Postings of recent terms' matches a commit's collection keeps (about 24 MB)."""


def _largest(dtype: np.dtype[Any]) -> Any:
    return np.inf if np.issubdtype(dtype, np.floating) else np.iinfo(dtype).max


def _cut(key: Scores, limit: int) -> float:
    """The ``limit``-th largest key (the smallest key when there are fewer)."""
    if not len(key):
        return math.inf
    if len(key) <= limit:
        return float(key.min())
    return float(np.partition(key, len(key) - limit)[len(key) - limit])


def _field(arrays: SegmentArrays, name: str) -> FieldPostings:
    fields = {"words": arrays.words, "names": arrays.names, "keys": arrays.keys}
    return fields[name]


class _Evaluator:
    """One plan over every segment: a term's postings are read segment by segment into
    index-wide numbers, then every clause is one operation over all of them."""

    def __init__(self, collection: Collection):
        self.collection = collection

    def query(self, plan: Plan) -> tuple[Match, npt.NDArray[np.bool_]]:
        """Live, unexcluded, in-period paragraphs matching any include clause (every
        paragraph when there is none), with their first-stage scores (no proximity bonus)
        and True where every clause matched."""
        query = plan.query
        collection = self.collection
        matches = [self.clause(c) for c in query.include]
        if matches:
            hits, counts = _union(matches, np.add, count=True)
            tier = counts == len(matches)
            keep = collection.live[hits.docs]
        else:
            every = collection.live_docs
            hits, tier = Match(every, np.zeros(len(every))), np.ones(len(every), np.bool_)
            if not (query.dates or query.exclude):
                return hits, tier
            keep = np.ones(len(every), np.bool_)
        for period in query.dates:
            keep &= _in_period(collection.day[hits.docs], period)
        if query.exclude:
            excluded = _union([self.clause(c) for c in query.exclude], np.add)[0]
            keep &= ~_member(hits.docs, excluded.docs)
        return Match(hits.docs[keep], hits.scores[keep]), tier[keep]

    def clause(self, clause: Clause) -> Match:
        if isinstance(clause, Terms):
            if len(clause.terms) > 1:
                match = self.phrase(clause.terms, clause.scope)
            else:
                match = self.term(clause.terms[0], clause.field)
                if clause.scope and len(match.docs):
                    starts = self._position_keys(clause.terms[0], match.docs)
                    match = _restrict(match, self._in_scope(starts, clause.scope))
            return Match(match.docs, match.scores * clause.weight)
        children = [self.clause(c) for c in clause.clauses]
        if isinstance(clause, Variants):
            return _union(children, np.maximum)[0]
        if isinstance(clause, AnyOf):
            return _union(children, np.add)[0]
        assert isinstance(clause, AllOf)
        group = _intersection(children)
        if clause.exclude and len(group.docs):
            excluded = _union([self.clause(c) for c in clause.exclude], np.add)[0]
            keep = ~_member(group.docs, excluded.docs)
            group = Match(group.docs[keep], group.scores[keep])
        return group

    def term(self, term: str, field: str) -> Match:
        kept = self.collection._matches
        found = kept.get((term, field))
        if found is None:
            found = self._term(term, field)
            kept.put((term, field), found, len(found.docs))
        return found

    def _term(self, term: str, field: str) -> Match:
        docs: list[Docs] = []
        scores: list[Scores] = []
        k1 = self.collection.k1
        idf = self.collection.idf(term, field)
        for segment in self.collection.segments:
            postings = _field(segment.arrays, field)
            i = postings.lookup(term)
            if i < 0:
                continue
            held, tf = postings.postings(i)
            norm = segment.norm[held] if field == "words" else 1.0
            counts = tf.astype(np.float64)
            if field == "words" and self.collection.title_weight != 1.0:
                in_title = _title_counts(postings, i, i + 1, segment.arrays.body[held])
                counts += (self.collection.title_weight - 1.0) * in_title
            scores.append(idf * counts * (k1 + 1) / (counts + k1 * norm))
            docs.append(held + np.int32(segment.base))
        if len(docs) <= 1:
            return Match(docs[0], scores[0]) if docs else Match.empty()
        return Match(np.concatenate(docs), np.concatenate(scores))

    def phrase(self, terms: tuple[str, ...], scope: str = "") -> Match:
        """Paragraphs holding ``terms`` at consecutive positions (in the title or the text,
        for a ``scope``), scored by the sum of their BM25."""
        words = [self.term(t, "words") for t in terms]
        together = _intersection(words)
        if not len(together.docs):
            return together
        starts = self._consecutive(terms, together.docs)
        held = self._in_scope(starts, scope) if scope else _key_docs(starts)
        keep = _member(together.docs, held)
        return Match(together.docs[keep], together.scores[keep])

    def _in_scope(self, keys: npt.NDArray[np.int64], scope: str) -> Docs:
        """The paragraphs of position keys (sorted) with a key in the ``scope``: the title's
        words stand before the paragraph's start (``Collection.body``), the text's from it."""
        owners = (keys >> 32).astype(np.int32)
        positions = (keys & 0xFFFFFFFF) - _POSITION_MARGIN
        starts = self.collection.body[owners]
        inside = positions < starts if scope == "title" else positions >= starts
        return _key_docs(keys[inside])

    def adjacent(self, pairs: Sequence[tuple[str, str]], among: Docs) -> list[Match]:
        """For each pair (a, b), the paragraphs of ``among`` (sorted) where ``b`` follows
        ``a``, with BM25(a) + BM25(b). A word's positions are read once, for all its pairs."""
        held: dict[str, tuple[Match, npt.NDArray[np.int64]]] = {}
        for term in dict.fromkeys(t for pair in pairs for t in pair):
            match = _restrict(self.term(term, "words"), among)
            held[term] = (match, self._position_keys(term, match.docs))
        found = []
        for a, b in pairs:
            (first, before), (second, after) = held[a], held[b]
            docs = _key_docs(before[_member(before + 1, after)])
            scores = (
                first.scores[np.searchsorted(first.docs, docs)]
                + second.scores[np.searchsorted(second.docs, docs)]
            )
            found.append(Match(docs, scores))
        return found

    def _position_keys(self, term: str, among: Docs) -> npt.NDArray[np.int64]:
        """``doc << 32 | position`` (index-wide doc numbers) for every position of ``term``
        in the paragraphs ``among`` (sorted, each holding it), read in each segment."""
        keys = []
        for segment in self.collection.segments:
            lo, hi = segment.span(among)
            if lo < hi:
                words = segment.arrays.words
                local = _position_keys(words, words.lookup(term), among[lo:hi] - segment.base)
                keys.append(local + (segment.base << 32))
        return np.concatenate(keys) if keys else np.zeros(0, np.int64)

    def _consecutive(self, terms: Sequence[str], among: Docs) -> npt.NDArray[np.int64]:
        """The position keys (``doc << 32 | p``, sorted) of the paragraphs of ``among``
        (sorted, each holding every term) where ``terms`` stand at positions p, p+1, …"""
        found: npt.NDArray[np.int64] | None = None
        for offset, term in enumerate(terms):
            keys = self._position_keys(term, among) - offset
            found = keys if found is None else found[_member(found, keys)]  # both sorted
            if not len(found):
                break
        assert found is not None
        return found


WIDEST_ID = 256
"""Bytes of a ``doc_id`` term up to which :func:`_id_ranks` sorts the ids as one NumPy
array of fixed width (a row each, two bytes a byte); past it, as Python bytes."""


def _id_ranks(
    fields: Sequence[FieldPostings], ranges: Sequence[tuple[int, int]]
) -> list[npt.NDArray[np.int32]]:
    """For each segment, the rank of each of its ``doc_id`` terms (``fields[i]``'s terms
    ``ranges[i]``) among the distinct ones of every segment, in byte order: one sort of
    every id, in C (a first search after each commit waits for it)."""
    spans = [
        (f.term_off[lo : hi + 1], f.term_blob) for f, (lo, hi) in zip(fields, ranges, strict=True)
    ]
    width = max((int(np.diff(off).max()) for off, _ in spans if len(off) > 1), default=1)
    if width > WIDEST_ID:  # one id this long would make every row as wide: sort in Python
        names = [
            [bytes(blob[a:b]) for a, b in zip(off[:-1], off[1:], strict=True)]
            for off, blob in spans
        ]
        rank = {name: n for n, name in enumerate(sorted(set().union(*names)))}
        return [np.fromiter(map(rank.get, held), np.int32, len(held)) for held in names]
    rows = []
    for off, blob in spans:
        lengths = np.diff(off)
        # Each byte as byte + 1 (big-endian, so the rows compare as their bytes), 0 past the
        # end: a shorter id sorts first, and a NUL byte is not the end.
        matrix = np.zeros((len(lengths), width), ">u2")
        at = np.arange(int(lengths.sum())) - np.repeat(off[:-1] - off[0], lengths)
        matrix[np.repeat(np.arange(len(lengths)), lengths), at] = (
            blob[off[0] : off[-1]].astype(np.uint16) + 1
        )
        rows.append(matrix.view(f"V{2 * width}").ravel())
    _, inverse = np.unique(np.concatenate(rows), return_inverse=True)
    bounds = np.cumsum([0, *(len(r) for r in rows)])
    return [inverse[a:b].astype(np.int32) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _weighted_length(arrays: SegmentArrays, title_weight: float) -> Scores:
    """Each paragraph's length with its title's words counted ``title_weight`` times."""
    length = arrays.length.astype(np.float64)
    if title_weight != 1.0:
        length += (title_weight - 1.0) * np.maximum(arrays.body - 1, 0)
    return length


def _title_counts(words: FieldPostings, lo: int, hi: int, starts: npt.NDArray[np.int32]) -> Scores:
    """How many positions of each posting of terms ``lo`` to ``hi - 1`` (side by side in
    the arrays) lie in the title: before the paragraph's start (``starts``, one a posting)."""
    assert words.pos is not None and words.pos_term is not None
    tf = words.tf[int(words.post_off[lo]) : int(words.post_off[hi])]
    positions = words.pos[int(words.pos_term[lo]) : int(words.pos_term[hi])]
    if not len(tf):
        return np.zeros(0)
    before = (positions < np.repeat(starts, tf)).astype(np.float64)
    firsts = np.zeros(len(tf), np.int64)
    np.cumsum(tf[:-1], out=firsts[1:])
    counts: Scores = np.add.reduceat(before, firsts)
    return counts


def _restrict(match: Match, among: Docs) -> Match:
    """The part of ``match`` on the paragraphs ``among`` (sorted): one binary search each."""
    at = np.searchsorted(match.docs, among)
    inside = at < len(match.docs)
    at = at[inside]
    at = at[match.docs[at] == among[inside]]
    return Match(match.docs[at], match.scores[at])


def _union(
    matches: Sequence[Match], combine: np.ufunc, *, count: bool = False
) -> tuple[Match, npt.NDArray[np.int64]]:
    """Paragraphs in any match, scores combined with ``combine`` (sum or max); with
    ``count``, also how many matches held each paragraph."""
    matches = [m for m in matches if len(m.docs)] or [Match.empty()]
    if len(matches) == 1 and not count:
        return matches[0], np.zeros(0, np.int64)
    docs = np.concatenate([m.docs for m in matches])
    scores = np.concatenate([m.scores for m in matches])
    order = np.argsort(docs, kind="stable")
    docs, scores = docs[order], scores[order]
    if not len(docs):
        return Match.empty(), np.zeros(0, np.int64)
    starts = np.flatnonzero(np.concatenate(([True], docs[1:] != docs[:-1])))
    combined = combine.reduceat(scores, starts)
    counts = np.diff(starts, append=len(docs)) if count else np.zeros(0, np.int64)
    return Match(docs[starts], combined), counts


def _intersection(matches: Sequence[Match]) -> Match:
    """Paragraphs in every match, scores summed."""
    docs = matches[0].docs
    for match in matches[1:]:
        docs = np.intersect1d(docs, match.docs, assume_unique=True)
    scores = np.zeros(len(docs))
    for match in matches:
        scores += match.scores[np.searchsorted(match.docs, docs)]
    return Match(docs.astype(np.int32, copy=False), scores)


def _key_docs(keys: npt.NDArray[np.int64]) -> Docs:
    """The distinct paragraphs of sorted position keys."""
    docs = (keys >> 32).astype(np.int32)
    return docs[np.concatenate(([True], docs[1:] != docs[:-1]))] if len(docs) else docs


def _position_keys(words: FieldPostings, i: int, among: Docs) -> npt.NDArray[np.int64]:
    """``doc << 32 | position`` for every position of term ``i`` in the paragraphs ``among``."""
    docs, _ = words.postings(i)
    offsets, positions = words.positions(i)
    chosen = np.searchsorted(docs, among)  # every one of ``among`` holds the term
    starts = offsets[chosen]
    counts = offsets[chosen + 1] - starts
    # the positions of posting chosen[k] are positions[starts[k] : starts[k] + counts[k]]
    at = np.repeat(starts - (np.cumsum(counts) - counts), counts) + np.arange(int(counts.sum()))
    owners = np.repeat(among.astype(np.int64), counts)
    # A phrase's k-th word stands k past the phrase's start: the keys are shifted back by k,
    # so positions get a margin that keeps them from borrowing from the doc number. The keys
    # come out sorted and distinct (docs ascending, then positions within each).
    keys = owners << 32 | (positions[at].astype(np.int64) + _POSITION_MARGIN)
    return keys


_POSITION_MARGIN = 1024
"""Added to each position in a position key (see :func:`_position_keys`)."""


def _member(sorted_docs: npt.NDArray[Any], among: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Which of ``sorted_docs`` are in ``among`` (both sorted and distinct)."""
    if not len(among):
        return np.zeros(len(sorted_docs), bool)
    at = np.minimum(np.searchsorted(among, sorted_docs), len(among) - 1)
    found: npt.NDArray[np.bool_] = among[at] == sorted_docs
    return found


def _within(
    blob: npt.NDArray[np.uint8], off: npt.NDArray[np.int64], word: str, max_edits: int
) -> list[tuple[str, int]]:
    """Strings of a sorted blob (``off``: ``n + 1`` offsets) within ``max_edits``
    (Levenshtein, on UTF-8 bytes) of ``word``, with the same first byte."""
    query = np.frombuffer(word.encode(), np.uint8)
    if not len(query) or len(off) < 2:
        return []
    firsts = blob[off[:-1]]  # sorted strings: by first byte too
    lo, hi = np.searchsorted(firsts, query[0], "left"), np.searchsorted(firsts, query[0], "right")
    lengths = np.diff(off[lo : hi + 1])
    near = np.flatnonzero(np.abs(lengths - len(query)) <= max_edits)
    if not len(near):
        return []
    width = int(lengths[near].max())
    starts = off[lo + near]
    letters = np.full((len(near), width), -1, np.int16)  # -1: past a candidate's end
    for j in range(width):
        has = lengths[near] > j
        letters[has, j] = blob[starts[has] + j]
    # One row of the edit-distance table per query letter, for every candidate at once.
    row = np.tile(np.arange(width + 1, dtype=np.int32), (len(near), 1))
    for i, letter in enumerate(query, 1):
        previous, row = row, np.empty_like(row)
        row[:, 0] = i
        substitute = previous[:, :-1] + (letters != letter)
        deleted = previous[:, 1:] + 1
        best = np.minimum(substitute, deleted)
        for j in range(1, width + 1):
            row[:, j] = np.minimum(best[:, j - 1], row[:, j - 1] + 1)
    edits = row[np.arange(len(near)), lengths[near]]
    close = edits <= max_edits
    found = (lo + near[close]).tolist()
    return [
        (blob[off[i] : off[i + 1]].tobytes().decode(), e)
        for i, e in zip(found, edits[close].tolist(), strict=True)
    ]


def _in_period(days: npt.NDArray[np.int32], period: DateRange) -> npt.NDArray[np.bool_]:
    start = period.start.year * 10000 + period.start.month * 100 + period.start.day
    end = period.end.year * 10000 + period.end.month * 100 + period.end.day
    return (days >= start) & (days <= end) & (days > 0)
