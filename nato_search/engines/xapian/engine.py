"""The Xapian backend: the same paragraphs in Xapian shards, local folders or ``xapian-tcpsrv`` servers.

nato-search's own analyzer makes the terms and positions (no second analyzer),
a paragraph's stored fields are the document data, and the engine-neutral
query plan is translated to Xapian queries here, weighted to rank as the default
engine does. Filters are boolean ``keys`` terms; date sort, one hit per document
and facets are value slots (sort by value, collapse keys, match spies): all of
them run on the shard servers too. Each document lives in one shard, chosen by a
stable hash of its id; a client searches all shards as one.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from whoosh.analysis import Analyzer
from whoosh.support.levenshtein import distance

from nato_search.engines.fields import IN_FIRST, body_start, day_key, indexed_text, key_terms
from nato_search.engines.pool import Pool
from nato_search.engines.xapian.cluster import (
    Shard,
    require_xapian,
    shard_of,
)
from nato_search.engines.xapian.translate import (
    BODY,
    DOC_ID,
    KEYS,
    WeightedTerms,
    _doc_term,
    _keys_term,
    name_term,
    title_term,
    translate,
    word_term,
)
from nato_search.errors import ShardError
from nato_search.query.filters import And, Days, Filter, Has, Not, Or, Range, Terms
from nato_search.query.plan import (
    ALL_WORDS_TIER,
    Page,
    Plan,
    Ranking,
    Row,
    decay,
    key_term,
    sort_field,
    sorted_counts,
    value_ranks,
)
from nato_search.readers.corpus import Document
from nato_search.settings import RankingSettings
from nato_search.text.analyzer import analyze

try:
    import xapian
except ImportError:  # the optional extra is not installed
    xapian = None

DAY_SLOT = 0
"""Value slot holding ``YYYYMMDD``, for date ranges and newest-first; none when undated."""
DOC_SLOT = 1
"""Value slot holding the document id: the collapse key of ``per_document``."""
OLDEST_SLOT = 2
"""Value slot holding ``99999999 − YYYYMMDD``: sorted descending like ``DAY_SLOT``, it puts
the oldest first and the undated (no value) last; Xapian's remote backend refuses key makers."""
CARD_SLOT = 3
"""Value slot holding the document's facet values as JSON ``[doc_id, YYYYMMDD or "", [keys
terms]]``: one ``ValueCountMatchSpy`` on it counts every facet, by paragraph or document."""
TIE_SLOT = 4
"""Value slot holding the paragraph's document id and number, encoded so that bytes order
them (:func:`tie_key`): equal scores are ordered by it, never by where documents lie."""
LAYOUT = 3
"""What shards hold, recorded with their settings: 1 added ``keys`` terms and slots 1–3;
2, slot 4, and metadata stored once per document; 3, the title's words at their
positions (``TITLE`` terms) and the text's mark (``BODY``)."""

T = TypeVar("T")


# --- where the shards are ------------------------------------------------------


# --- the engine -------------------------------------------------------------------


class XapianEngine:
    """Paragraphs in one or more Xapian shards, searched as one database."""

    backend = "xapian"

    def __init__(
        self,
        shards: list[Shard],
        path: str,
        analyzer: Analyzer,
        names: Analyzer,
        settings: RankingSettings,
    ):
        require_xapian()
        if settings.title_weight != 1.0:
            raise ValueError(
                f"title_weight={settings.title_weight:g}: Xapian shards count a title's words "
                "once (title_weight=1); other weights are for the Whoosh backend"
            )
        self.shards = shards
        self.path = path
        self.analyzer = analyzer
        self.names = names
        self.ranking = settings
        self._pools = {
            partial: Pool(functools.partial(XapianSnapshot, self, partial), XapianSnapshot.close)
            for partial in (False, True)
        }

    def check(self) -> None:
        """Every shard answers: raises ShardError naming the first that doesn't."""
        for shard in self.shards:
            shard.open().close()

    SETTINGS_KEY = "nato-search"

    def stamp(self, settings: dict[str, Any]) -> None:
        """Records the analysis settings in every shard, so a mismatch is caught on open."""
        for shard in self.shards:
            db = shard.open_writable(timeout=10.0)
            try:
                db.set_metadata(self.SETTINGS_KEY, json.dumps(settings, sort_keys=True))
                db.commit()
            finally:
                db.close()

    def settings(self) -> list[dict[str, Any]]:
        return [self.read_settings(shard) for shard in self.shards]

    @classmethod
    def read_settings(cls, shard: Shard) -> dict[str, Any]:
        db = shard.open()
        try:
            text = db.get_metadata(cls.SETTINGS_KEY)
        finally:
            db.close()
        settings: dict[str, Any] = json.loads(text) if text else {}
        return settings

    @contextmanager
    def snapshot(self, allow_partial: bool = False) -> Iterator[XapianSnapshot]:
        """A view of every shard, lent to one search (Xapian databases are not shared
        between threads), reopened on the latest commit."""
        with self._pools[allow_partial].lease() as snapshot:
            snapshot.reopen()
            yield snapshot

    def _by_shard(self, items: Iterable[T], doc_id: Callable[[T], str]) -> dict[int, list[T]]:
        groups: dict[int, list[T]] = {}
        for item in items:
            groups.setdefault(shard_of(doc_id(item), len(self.shards)), []).append(item)
        return groups

    def write(
        self,
        documents: list[Document],
        *,
        replace: bool,
        timeout: float,
        delete: Iterable[str] = (),
    ) -> None:
        """One transaction per shard: a shard's readers see all of its part of the change or none."""
        by_shard = self._by_shard(documents, lambda d: d.id)
        deleted = self._by_shard(delete, lambda doc_id: doc_id)
        if not replace:
            taken = [
                doc_id
                for number, group in by_shard.items()
                for doc_id in self._held(number, [d.id for d in group])
            ]
            if taken:
                raise ValueError(
                    f"already in the index at {self.path}: {', '.join(map(repr, taken[:5]))}; "
                    "use update() to replace documents"
                )
        for number in sorted(by_shard.keys() | deleted.keys()):
            shard = self.shards[number]
            db = shard.open_writable(timeout)
            try:
                db.begin_transaction()
                for doc_id in deleted.get(number, ()):
                    db.delete_document(_doc_term(doc_id))
                for document in by_shard.get(number, ()):
                    db.delete_document(_doc_term(document.id))
                    start = body_start(document.title, self.analyzer)
                    for paragraph, text in enumerate(document.paragraphs):
                        db.add_document(self._paragraph(document, paragraph, text, start))
                db.commit_transaction()
            except xapian.Error as exc:
                raise ShardError(f"shard {shard.location}: {exc.get_msg()}") from None
            finally:
                db.close()

    def delete(self, doc_ids: Iterable[str], *, timeout: float) -> int:
        removed = 0
        for number, ids in sorted(self._by_shard(doc_ids, lambda doc_id: doc_id).items()):
            db = self.shards[number].open_writable(timeout)
            try:
                for doc_id in ids:
                    removed += db.get_termfreq(_doc_term(doc_id))
                    db.delete_document(_doc_term(doc_id))
                db.commit()
            finally:
                db.close()
        return removed

    def _held(self, number: int, doc_ids: list[str]) -> list[str]:
        """Which of ``doc_ids`` shard ``number`` already holds."""
        db = self.shards[number].open()
        try:
            return [doc_id for doc_id in doc_ids if db.term_exists(_doc_term(doc_id))]
        finally:
            db.close()

    def _paragraph(self, document: Document, number: int, text: str, start: int) -> xapian.Document:
        """The paragraph's terms, values and data; ``start``: where its text starts among
        its words (:func:`~nato_search.engines.fields.body_start` of the title)."""
        doc = xapian.Document()
        for term, position, _, _ in analyze(indexed_text(document.title, text), self.analyzer):
            if position < start:  # the title's: counted for the word, placed for the title
                doc.add_term(word_term(term))
                doc.add_posting(title_term(term), position + 1, 0)
            else:
                doc.add_posting(word_term(term), position + 1)
        doc.add_posting(BODY, 0, 0)  # no frequency: the length stays that of the words
        for token in self.names(text, mode="index"):
            doc.add_term(name_term(token.text), 0)
        doc.add_boolean_term(_doc_term(document.id))
        keys = key_terms(document.id, document.metadata)
        for term in keys:
            doc.add_boolean_term(_keys_term(term))
        day = day_key(document.date) if document.date else ""
        if day:
            doc.add_value(DAY_SLOT, day)
            doc.add_value(OLDEST_SLOT, f"{99999999 - int(day):08d}")
        doc.add_value(DOC_SLOT, document.id)
        doc.add_value(TIE_SLOT, tie_key(document.id, number))
        card = [document.id, day, [_card_entry(term) for term in sorted(set(keys[1:]))]]
        doc.add_value(CARD_SLOT, json.dumps(card, ensure_ascii=False))
        doc.set_data(
            json.dumps(
                {
                    "doc_id": document.id,
                    "paragraph": number,
                    "title": document.title,
                    "date": document.date.isoformat() if document.date else None,
                    "text": text,
                    **(
                        {"meta": document.metadata if number == 0 else IN_FIRST}
                        if document.metadata
                        else {}
                    ),
                    **({"page": document.pages[number]} if document.pages else {}),
                },
                ensure_ascii=False,
            )
        )
        return doc

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()


class XapianSnapshot:
    """All shards as one database, for one thread: searches and the vocabulary."""

    def __init__(self, engine: XapianEngine, allow_partial: bool):
        self.engine = engine
        self.allow_partial = allow_partial
        self.analyzer = engine.analyzer
        self.names = engine.names
        self._open()

    def _open(self) -> None:
        """One database over every shard that answers (all must, unless allow_partial)."""
        self.partial = False
        self.db = xapian.Database()
        for shard in self.engine.shards:
            try:
                part = shard.open()
            except ShardError:
                if not self.allow_partial:
                    raise
                self.partial = True
                continue
            self.db.add_database(part)

    def reopen(self) -> None:
        try:
            self.db.reopen()
        except xapian.Error as exc:
            self._recover(exc)

    def _recover(self, exc: xapian.Error) -> None:
        """After a failed call: with allow_partial, go on without the shards that are
        down (the caller retries); otherwise raise ShardError naming them."""
        down = []
        for shard in self.engine.shards:
            try:
                shard.open().close()
            except ShardError:
                down.append(shard.location)
        if self.allow_partial and len(down) < len(self.engine.shards):
            self._open()
            return
        names = ", ".join(down) or ", ".join(s.location for s in self.engine.shards)
        raise ShardError(f"shard {names} stopped answering: {exc.get_msg()}") from None

    def close(self) -> None:
        self.db.close()

    # -- vocabulary ------------------------------------------------------------

    def count(self) -> int:
        count: int = self.db.get_doccount()
        return count

    def known(self, term: str) -> bool:
        known: bool = self.db.term_exists(word_term(term))
        return known

    def frequency(self, term: str, field: str = "words") -> int:
        frequency: int = self.db.get_termfreq(
            name_term(term) if field == "names" else word_term(term)
        )
        return frequency

    def similar(self, term: str, max_edits: int) -> list[tuple[str, int, int]]:
        found = []
        for item in self.db.allterms(term[:1]):
            candidate = item.term.decode("utf-8")
            if candidate != term and abs(len(candidate) - len(term)) <= max_edits:
                edits = distance(candidate, term, limit=max_edits)
                if edits <= max_edits:
                    found.append((candidate, edits, item.termfreq))
        return found

    def similar_written(self, typed: str, max_edits: int) -> list[tuple[str, int, int, str]]:
        return []  # Xapian keeps no record of the words as written: corrections go by stems

    def documents(self) -> int:
        return sum(1 for _ in self.db.allterms(DOC_ID))

    def document(self, doc_id: str) -> list[dict[str, Any]]:
        return [
            json.loads(self.db.get_document(posting.docid).get_data())
            for posting in self.db.postlist(_doc_term(doc_id))
        ]

    def completions(self, prefix: str, limit: int) -> list[str]:
        found = sorted(
            (-item.termfreq, item.term.decode("utf-8")) for item in self.db.allterms(prefix)
        )
        return [term for _, term in found if term != prefix][:limit]

    def written(self, terms: Iterable[str]) -> set[str] | None:
        return None  # Xapian keeps no record of the words as written

    def key_names(self) -> list[str]:
        """One skip per key over the ``keys`` terms: past ``K{name}=…`` is ``K{name}>``."""
        found = []
        terms = self.db.allterms(KEYS)
        item = next(terms, None)
        while item is not None:
            name = item.term.decode("utf-8")[len(KEYS) :].partition("=")[0]
            found.append(name)
            try:
                item = terms.skip_to(f"{KEYS}{name}>")
            except StopIteration:
                item = None
        return sorted(set(found) - {"doc_id"})

    def key_values(self, key: str) -> list[str]:
        """The values of ``key`` (one too long for a Xapian term comes back cut)."""
        prefix = _keys_term(f"{key}=")
        return [item.term.decode("utf-8")[len(prefix) :] for item in self.db.allterms(prefix)]

    def surface(self, term: str) -> str | None:
        for posting in self.db.postlist(term):
            text: str = json.loads(self.db.get_document(posting.docid).get_data())["text"]
            for found, _, start, end in analyze(text, self.engine.analyzer):
                if found == term:
                    return text[start:end]
        return None

    # -- ranking ---------------------------------------------------------------

    def ranked(self, plan: Plan, page: Page) -> Ranking:
        """The page's paragraphs, how many match, and the facets, as the default engine
        defines them (:meth:`~nato_search.engines.whoosh.bm25.Collection.rank`) with Xapian's
        BM25: paragraphs holding every clause weigh ``ALL_WORDS_TIER`` more, so they come first
        whatever the order, then are lifted by just enough to score at least as high as the
        best partial match; the lift depends on the matches alone, never on the page."""
        for attempt in (1, 2):
            try:
                return self._rank(plan, page)
            except xapian.Error as exc:
                self._recover(exc)  # raises, or drops the shards that are down
                if attempt == 2:
                    raise ShardError(f"shards of {self.engine.path}: {exc.get_msg()}") from None
        raise AssertionError("unreachable")

    def _rank(self, plan: Plan, page: Page) -> Ranking:
        terms = WeightedTerms(self.db)  # the statistics of the shards that answer now
        include = [translate(c, terms) for c in plan.query.include]
        near = [
            xapian.Query(xapian.Query.OP_SCALE_WEIGHT, terms.phrase([a, b]), plan.near_weight)
            for a, b in plan.near
        ]
        every = xapian.Query(xapian.Query.OP_AND, include) if len(include) > 1 else None
        tiered = plan.all_words_first and every is not None
        parts = include + near
        if tiered:
            bonus = xapian.Query(xapian.FixedWeightPostingSource(ALL_WORDS_TIER))
            boolean = xapian.Query(xapian.Query.OP_SCALE_WEIGHT, every, 0.0)
            parts.append(xapian.Query(xapian.Query.OP_AND, [bonus, boolean]))
        query = xapian.Query(xapian.Query.OP_OR, parts) if include else xapian.Query.MatchAll
        coarse = [terms.coarse(p) for p in plan.coarse] if include and plan.coarse_weight else []
        if coarse:  # weight only: AND_MAYBE adds no match
            extra = xapian.Query(xapian.Query.OP_OR, coarse)
            extra = xapian.Query(xapian.Query.OP_SCALE_WEIGHT, extra, plan.coarse_weight)
            query = xapian.Query(xapian.Query.OP_AND_MAYBE, query, extra)
        query = self._restrict(query, plan, page, terms)
        enquire = self._enquire(query)
        if page.sort in ((), ("date",), ("-date",)) and page.recency is None:
            found, total = self._xapian_page(enquire, query, page)
            ordered = None
        else:
            ordered = self._ordered_page(enquire, page, tiered)
            found, total = ordered.items, ordered.total
        facets = self._facets(query, page) if page.facets else {}
        stored = [json.loads(m.document.get_data()) for m in found]
        firsts: dict[str, dict[str, Any]] = {}
        for fields in stored:
            if fields.get("meta") is IN_FIRST:
                doc_id = fields["doc_id"]
                if doc_id not in firsts:
                    firsts[doc_id] = self._first(doc_id)
                fields["meta"] = firsts[doc_id].get("meta")
        if ordered is not None and tiered:
            scores, full = ordered.scores, ordered.full
        elif tiered:
            assert every is not None
            lift = self._lift(query, self._restrict(every, plan, page, terms))
            full = [m.weight >= ALL_WORDS_TIER for m in found]
            scores = [
                m.weight - ALL_WORDS_TIER + lift if m.weight >= ALL_WORDS_TIER else m.weight
                for m in found
            ]
        else:
            holding = self._holding(every, stored) if every is not None else None
            full = [holding is None or m.docid in holding for m in found]
            scores = ordered.scores if ordered is not None else [m.weight for m in found]
        rows = [Row(s, score, f) for s, score, f in zip(stored, scores, full, strict=True)]
        return Ranking(rows, total, facets)

    def _xapian_page(
        self, enquire: xapian.Enquire, query: xapian.Query, page: Page
    ) -> tuple[list[xapian.MSetItem], int]:
        """The page ordered by Xapian (by relevance or date), and the total."""
        if page.sort:
            enquire.set_sort_by_value_then_relevance(
                DAY_SLOT if page.sort == ("-date",) else OLDEST_SLOT, True
            )
        else:  # equal scores: by document id, then paragraph
            enquire.set_sort_by_relevance_then_value(TIE_SLOT, False)
        if page.per_document is not None:
            enquire.set_collapse_key(DOC_SLOT, page.per_document)
        # Checking every match makes the total exact (uncollapsed: Xapian estimates collapsed ones).
        if not page.sort:
            mset = enquire.get_mset(page.offset, page.limit, self.db.get_doccount())
            found = list(mset)
        else:
            mset, found = self._sorted_page(enquire, page)
        total: int = mset.get_matches_estimated()
        if page.per_document is not None:
            total = self._documents(query)
        return found, total

    def _ordered_page(self, enquire: xapian.Enquire, page: Page, tiered: bool) -> _Ordered:
        """The page of a sort by metadata fields, or with recency, ordered here: Xapian's
        remote backend takes no key maker, and no weight can be multiplied by a document's
        age, so every match is read with its card (``CARD_SLOT``), in relevance order, and
        ordered as the default engine orders them. It costs a read of every match."""
        enquire.set_sort_by_relevance_then_value(TIE_SLOT, False)
        everything = self.db.get_doccount()
        mset = enquire.get_mset(0, everything, everything)
        mset.fetch()
        items = list(mset)
        cards = [json.loads(m.document.get_value(CARD_SLOT)) for m in items]
        full = [tiered and m.weight >= ALL_WORDS_TIER for m in items]
        scores = [
            m.weight - ALL_WORDS_TIER if f else m.weight for m, f in zip(items, full, strict=True)
        ]
        if page.recency is not None:
            ages = _ages([card[1] for card in cards], self._dated_bounds())
            scores = [s * decay(age, page.recency) for s, age in zip(scores, ages, strict=True)]
        columns = [_sort_keys(spec, cards) for spec in page.sort]
        ties = [m.document.get_value(TIE_SLOT) for m in items]
        order = sorted(
            range(len(items)),
            key=lambda i: (*(c[i] for c in columns), not full[i], -scores[i], ties[i]),
        )
        total = len(order)
        if page.per_document is not None:
            shown: dict[str, int] = {}
            kept = []
            for i in order:
                doc_id = cards[i][0]
                shown[doc_id] = shown.get(doc_id, 0) + 1
                if shown[doc_id] <= page.per_document:
                    kept.append(i)
            order, total = kept, len(shown)
        if tiered and any(full) and not all(full):
            lift = max(s for s, f in zip(scores, full, strict=True) if not f) - min(
                s for s, f in zip(scores, full, strict=True) if f
            )
            scores = [s + max(lift, 0.0) if f else s for s, f in zip(scores, full, strict=True)]
        chosen = order[page.offset : page.offset + page.limit]
        return _Ordered(
            [items[i] for i in chosen],
            total,
            [scores[i] for i in chosen],
            [full[i] for i in chosen],
        )

    def _dated_bounds(self) -> tuple[str, str]:
        """The newest and the oldest day (``YYYYMMDD``) of the live paragraphs ("" if none)."""
        bounds = []
        for slot in (DAY_SLOT, OLDEST_SLOT):
            enquire = xapian.Enquire(self.db)
            enquire.set_query(xapian.Query.MatchAll)
            enquire.set_sort_by_value(slot, True)
            first = list(enquire.get_mset(0, 1))
            bounds.append(first[0].document.get_value(DAY_SLOT).decode() if first else "")
        return bounds[0], bounds[1]

    def _sorted_page(
        self, enquire: xapian.Enquire, page: Page
    ) -> tuple[xapian.MSet, list[xapian.MSetItem]]:
        """The page of a date sort, equal dates and scores ordered by document id, then
        paragraph. Xapian orders them by docid, which depends on where documents lie, and
        its remote backend takes no key maker for a third key: so the matches up to the
        page's end, and past it while they tie with the last, are reordered here."""
        everything = self.db.get_doccount()
        need = page.offset + page.limit
        mset = enquire.get_mset(0, need, everything)
        items = _keyed(mset)
        while len(items) >= need:
            more = _keyed(enquire.get_mset(len(items), _TIES_READ, everything))
            tied = list(itertools.takewhile(functools.partial(_ties, items[-1]), more))
            items += tied
            if len(tied) < _TIES_READ:
                break
        ordered: list[tuple[bytes, float, xapian.MSetItem]] = []
        for _, equal in itertools.groupby(items, key=lambda item: item[:2]):
            run = list(equal)
            if len(run) > 1:
                run.sort(key=lambda item: item[2].document.get_value(TIE_SLOT))
            ordered += run
        return mset, [item for *_, item in ordered[page.offset : need]]

    def _first(self, doc_id: str) -> dict[str, Any]:
        """The stored fields of ``doc_id``'s first paragraph, which hold its metadata (its
        paragraphs were added in order, so it is usually the first posting)."""
        for posting in self.db.postlist(_doc_term(doc_id)):
            fields: dict[str, Any] = json.loads(self.db.get_document(posting.docid).get_data())
            if fields.get("paragraph") == 0:
                return fields
        return {}

    def _documents(self, query: xapian.Query) -> int:
        """Matching documents, exactly: Xapian estimates collapsed counts, unless the page
        holds every collapsed match, as this one does."""
        enquire = self._enquire(query)
        enquire.set_weighting_scheme(xapian.BoolWeight())
        enquire.set_collapse_key(DOC_SLOT, 1)
        everything = self.db.get_doccount()
        documents: int = enquire.get_mset(0, everything, everything).size()
        return documents

    def _facets(self, query: xapian.Query, page: Page) -> dict[str, dict[str, int]]:
        """The facet counts, from a match spy on a pass of its own over every match,
        unsorted and uncollapsed: a served shard (xapian-tcpsrv 1.4.22) sorting by value
        spies some paragraphs twice."""
        enquire = self._enquire(query)
        enquire.set_weighting_scheme(xapian.BoolWeight())
        cards = xapian.ValueCountMatchSpy(CARD_SLOT)
        enquire.add_matchspy(cards)
        enquire.get_mset(0, 0, self.db.get_doccount())
        return _count_cards(cards, page.facets, page.per_document is not None, self._long_term)

    def _long_term(self, cut: str) -> str | None:
        """The ``keys`` term that was cut to ``cut`` (see :func:`_card_entry`), from the
        metadata of a document holding it."""
        for posting in self.db.postlist(cut):
            fields = json.loads(self.db.get_document(posting.docid).get_data())
            metadata = self._first(fields["doc_id"]).get("meta") or {}
            for term in key_terms(fields["doc_id"], metadata)[1:]:
                if _keys_term(term) == cut:
                    return term
        return None

    def _lift(self, query: xapian.Query, full: xapian.Query) -> float:
        """How far the best partial match scores above the lowest full one (0 if below):
        in relevance order, the last full match and the first partial one stand side by side."""
        fulls = self._count(full)
        if not fulls:
            return 0.0
        edge = list(self._enquire(query).get_mset(fulls - 1, 2))
        if len(edge) < 2:
            return 0.0
        lift: float = edge[1].weight - (edge[0].weight - ALL_WORDS_TIER)
        return max(lift, 0.0)

    def _holding(self, every: xapian.Query, stored: list[dict[str, Any]]) -> set[int]:
        """Which paragraphs of the page's documents hold every clause."""
        if not stored:
            return set()
        documents = {s["doc_id"] for s in stored}
        among = xapian.Query(
            xapian.Query.OP_OR, [xapian.Query(_doc_term(doc_id)) for doc_id in documents]
        )
        enquire = self._enquire(xapian.Query(xapian.Query.OP_FILTER, every, among))
        enquire.set_weighting_scheme(xapian.BoolWeight())
        return {m.docid for m in enquire.get_mset(0, self.db.get_doccount())}

    def _count(self, query: xapian.Query) -> int:
        """Matching paragraphs: exact, as every match is checked."""
        enquire = self._enquire(query)
        enquire.set_weighting_scheme(xapian.BoolWeight())
        count: int = enquire.get_mset(0, 0, self.db.get_doccount()).get_matches_estimated()
        return count

    def _restrict(
        self, query: xapian.Query, plan: Plan, page: Page, terms: WeightedTerms
    ) -> xapian.Query:
        for clause in plan.query.exclude:
            query = xapian.Query(xapian.Query.OP_AND_NOT, query, translate(clause, terms))
        for period in plan.query.dates:
            dates = xapian.Query(
                xapian.Query.OP_VALUE_RANGE, DAY_SLOT, day_key(period.start), day_key(period.end)
            )
            query = xapian.Query(xapian.Query.OP_FILTER, query, dates)
        if page.filter is not None:
            filtered = _filter_query(page.filter, self.key_values)
            query = xapian.Query(xapian.Query.OP_FILTER, query, filtered)
        return query

    def _enquire(self, query: xapian.Query) -> xapian.Enquire:
        enquire = xapian.Enquire(self.db)
        enquire.set_query(query)
        enquire.set_weighting_scheme(
            xapian.BM25Weight(self.engine.ranking.bm25_k1, 0, 0, self.engine.ranking.bm25_b, 0)
        )
        # k3 = 0: a word repeated in the query (or its proximity pairs) counts once, as in
        # the default engine; min_normlen = 0: short paragraphs are not clamped either.
        return enquire


@dataclass
class _Ordered:
    """A page ordered here: its matches, the total, their scores, and which hold every clause."""

    items: list[xapian.MSetItem]
    total: int
    scores: list[float]
    full: list[bool]


_MISSING = (2,)
"""Sort key of a card without the field's value: after any value, whichever the direction."""


def _sort_keys(spec: str, cards: list[list[Any]]) -> list[tuple[Any, ...]]:
    """Each card's sort key for ``spec`` (``"-pages"``), as the default engine orders them."""
    name, descending = sort_field(spec)
    sign = -1 if descending else 1
    if name in ("date", "year"):
        days = [card[1] for card in cards]
        width = 4 if name == "year" else 8
        return [(0, sign * int(day[:width])) if day else _MISSING for day in days]
    if name == "doc_id":
        ids = sorted({card[0].encode("utf-8") for card in cards})
        rank = {doc_id: n for n, doc_id in enumerate(ids)}
        return [(0, sign * rank[card[0].encode("utf-8")]) for card in cards]
    prefix = f"{name}="
    held = [
        [_entry_text(e)[len(prefix) :] for e in card[2] if _entry_text(e).startswith(prefix)]
        for card in cards
    ]
    ranks = value_ranks(itertools.chain.from_iterable(held))
    pick = max if descending else min
    return [(0, sign * pick(ranks[v] for v in values)) if values else _MISSING for values in held]


def _entry_text(entry: str | list[str]) -> str:
    """A card entry's ``keys`` term (a cut one as its cut term, without the prefix)."""
    return entry if isinstance(entry, str) else entry[0][len(KEYS) :]


def _ages(days: list[str], bounds: tuple[str, str]) -> list[float]:
    """Each day's age (``YYYYMMDD``, or "" for undated: as old as the oldest), in days, from
    the newest of ``bounds`` (the index's newest and oldest days)."""

    def ordinal(day: str) -> int:
        return dt.date(int(day[:4]), int(day[4:6]), int(day[6:])).toordinal()

    newest, oldest = (ordinal(b) if b else 0 for b in bounds)
    return [float(newest - (ordinal(day) if day else oldest)) for day in days]


_TIES_READ = 16
"""Matches read at a time past a sorted page's end, while they tie with its last."""


def _ties(a: tuple[bytes, float, Any], b: tuple[bytes, float, Any]) -> bool:
    """Whether two keyed items have the same sort key and weight."""
    return a[:2] == b[:2]


def _keyed(mset: xapian.MSet) -> list[tuple[bytes, float, xapian.MSetItem]]:
    """Each item of ``mset`` with its sort key and weight, Xapian's order."""
    items = []
    at, end = mset._begin(), mset._end()
    while at != end:
        items.append((at.get_sort_key(), at.get_weight(), xapian.MSetItem(at, mset)))
        next(at)
    return items


def tie_key(doc_id: str, paragraph: int) -> bytes:
    """``doc_id`` and ``paragraph`` as bytes that sort as the pair does (ids by their UTF-8
    bytes): each NUL of the id escaped, the id ended by two NULs, then the number."""
    escaped = doc_id.encode("utf-8").replace(b"\x00", b"\x00\xff")
    return escaped + b"\x00\x00" + paragraph.to_bytes(4, "big")


def _filter_query(node: Filter, key_values: Callable[[str], list[str]]) -> xapian.Query:
    """A resolved filter as a boolean query (a NOT is every paragraph but its part's)."""
    if isinstance(node, And):
        parts = [_filter_query(part, key_values) for part in node.parts]
        return xapian.Query(xapian.Query.OP_AND, parts) if parts else xapian.Query.MatchAll
    if isinstance(node, Or):
        parts = [_filter_query(part, key_values) for part in node.parts]
        return xapian.Query(xapian.Query.OP_OR, parts) if parts else xapian.Query.MatchNothing
    if isinstance(node, Not):
        return xapian.Query(
            xapian.Query.OP_AND_NOT, xapian.Query.MatchAll, _filter_query(node.part, key_values)
        )
    if isinstance(node, Days):
        return xapian.Query(
            xapian.Query.OP_VALUE_RANGE, DAY_SLOT, f"{node.low:08d}", f"{node.high:08d}"
        )
    if isinstance(node, Has):
        return xapian.Query(xapian.Query.OP_WILDCARD, _keys_term(f"{node.key}="))
    assert isinstance(node, Terms | Range)
    values = node.values(key_values(node.key)) if isinstance(node, Range) else node.values
    terms = [xapian.Query(_keys_term(key_term(node.key, value))) for value in values]
    return xapian.Query(xapian.Query.OP_OR, terms) if terms else xapian.Query.MatchNothing


def _card_entry(term: str) -> str | list[str]:
    """A ``keys`` term as a card holds it: as it is, or, one too long for a Xapian term, as
    ``[cut]``, the term that filters use instead (so a paragraph's card stays small)."""
    cut = _keys_term(term)
    return term if cut == KEYS + term else [cut]


def _count_cards(
    spy: xapian.ValueCountMatchSpy,
    names: tuple[str, ...],
    by_document: bool,
    long_term: Callable[[str], str | None],
) -> dict[str, dict[str, int]]:
    """Value → matching paragraphs (documents, ``by_document``) for each facet, from the
    spy's count of each matching document's card (``CARD_SLOT``); ``long_term`` gives the
    whole term of a cut entry."""
    counts: dict[str, dict[str, int]] = {name: {} for name in names}
    whole: dict[str, str | None] = {}
    for item in spy.values():
        doc_id, day, entries = json.loads(item.term)
        keys = []
        for entry in entries:
            if isinstance(entry, list):
                if entry[0] not in whole:
                    whole[entry[0]] = long_term(entry[0])
                entry = whole[entry[0]]
            if entry is not None:
                keys.append(entry)
        weight = 1 if by_document else item.termfreq
        for name, found in counts.items():
            if name == "year":
                values = [day[:4]] if day else []
            elif name == "month":
                values = [f"{day[:4]}-{day[4:6]}"] if day else []
            elif name == "doc_id":
                values = [doc_id]
            else:
                values = [k[len(name) + 1 :] for k in keys if k.startswith(f"{name}=")]
            for value in values:
                found[value] = found.get(value, 0) + weight
    return {name: sorted_counts(found) for name, found in counts.items()}
