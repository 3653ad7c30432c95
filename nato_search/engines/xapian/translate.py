"""An engine-neutral query plan as a Xapian query, weighted like the Whoosh backend's BM25.

Terms get prefixes by field (names, document ids, filter keys); a term too long for
Xapian is cut and hashed, so that long ids and values still work."""

from __future__ import annotations

import hashlib
import math

from nato_search.query.plan import idf
from nato_search.query.syntax import AllOf, AnyOf, Clause, Terms, Variants

try:
    import xapian
except ImportError:  # the optional extra is not installed
    xapian = None


NAMES = "XN"
"""Prefix of transliteration-key terms."""


DOC_ID = "Q"
"""Prefix of the boolean term naming a paragraph's document (for updates and deletes)."""


KEYS = "K"
"""Prefix of the boolean ``keys`` terms (``doc_id=…``, ``key=value``), for filters."""


TITLE = "S"
"""Prefix of the title's words at their positions (Xapian's prefix for a subject). A word
term counts the title's words (for BM25, as the default engine does) but holds the
positions of the text's alone, so a phrase is side by side in one or the other."""


BODY = "XB"
"""A term at position 0 of every paragraph, before its text's words: ``text:word`` is
``BODY`` then the word, in order (``OP_PHRASE`` with a window), which only the text's
positions meet."""


_TEXT_WINDOW = (1 << 31) - 1
"""A window from the body mark to any word of the text (Xapian positions are 32 bits)."""


MAX_TERM_BYTES = 240
"""Xapian refuses terms over 245 bytes: a longer term (a word of hundreds of letters, a
long id or value) is cut and ends in a hash."""


def _keys_term(term: str) -> str:
    """The boolean term for a ``keys`` term."""
    return capped(KEYS, term)


def _doc_term(doc_id: str) -> str:
    """The boolean term naming a paragraph's document."""
    return capped(DOC_ID, doc_id)


def word_term(term: str) -> str:
    """A word's term (in the paragraph's text, or counted from its title)."""
    return capped("", term)


def title_term(term: str) -> str:
    """A word's term at its position in the title."""
    return capped(TITLE, term)


def name_term(key: str) -> str:
    """A name's transliteration key's term."""
    return capped(NAMES, key)


def capped(prefix: str, text: str) -> str:
    """``prefix + text``; one too long for a Xapian term (245 bytes) is cut and ends in a
    hash of the whole, so that long ids and values still work."""
    whole = (prefix + text).encode("utf-8")
    if len(whole) <= MAX_TERM_BYTES:
        return prefix + text
    digest = hashlib.blake2b(whole, digest_size=16).hexdigest()
    return whole[: MAX_TERM_BYTES - len(digest)].decode("utf-8", "ignore") + digest


class WeightedTerms:
    """Term queries weighted like the default engine's BM25 (:mod:`~nato_search.engines.whoosh.bm25`):
    each word's Xapian BM25 is scaled from Xapian's idf to the Robertson–Spärck Jones idf
    (shards share their statistics, so every shard scales alike); a name key weighs its idf
    (names hold no frequencies: their terms must not lengthen the paragraph)."""

    def __init__(self, db: xapian.Database):
        self.db = db
        self.paragraphs = db.get_doccount()

    def word(self, word: str) -> xapian.Query:
        term = word_term(word)
        holding = self.db.get_termfreq(term)
        if not holding:
            return xapian.Query(term)
        odds = (self.paragraphs - holding + 0.5) / (holding + 0.5)
        xapian_idf = math.log(odds if odds >= 2 else odds * 0.5 + 1)  # BM25Weight's own
        scale = idf(self.paragraphs, holding) / xapian_idf
        return xapian.Query(xapian.Query.OP_SCALE_WEIGHT, xapian.Query(term), scale)

    def coarse(self, prefix: str) -> xapian.Query:
        """Every word starting with ``prefix`` as one (OP_SYNONYM sums their frequencies),
        scaled to the idf of the summed paragraph frequencies, as the default engine counts
        them, from the estimate Xapian makes for the synonym (that of an OR)."""
        held = [(t.term.decode("utf-8"), t.termfreq) for t in self.db.allterms(prefix)]
        words, frequencies = [w for w, _ in held], [f for _, f in held]
        if not words:  # other fields' terms start with capitals: a prefix never meets them
            return xapian.Query()
        n = self.paragraphs
        missing = math.prod(1 - f / n for f in frequencies)
        estimate = max(1, min(n, round(n * (1 - missing))))
        odds = (n - estimate + 0.5) / (estimate + 0.5)
        xapian_idf = math.log(odds if odds >= 2 else odds * 0.5 + 1)
        scale = idf(n, min(n, sum(frequencies))) / xapian_idf
        synonym = xapian.Query(xapian.Query.OP_SYNONYM, [xapian.Query(w) for w in words])
        return xapian.Query(xapian.Query.OP_SCALE_WEIGHT, synonym, scale)

    def phrase(self, terms: list[str], scope: str = "") -> xapian.Query:
        """Its words' BM25 summed, where they stand side by side (in the title or the
        text, for a ``scope``)."""
        words = xapian.Query(xapian.Query.OP_AND, [self.word(t) for t in terms])
        in_text = xapian.Query(xapian.Query.OP_PHRASE, [word_term(t) for t in terms], len(terms))
        in_title = xapian.Query(xapian.Query.OP_PHRASE, [title_term(t) for t in terms], len(terms))
        where = {"title": in_title, "text": in_text}.get(scope)
        if where is None:
            where = xapian.Query(xapian.Query.OP_OR, [in_text, in_title])
        return xapian.Query(xapian.Query.OP_FILTER, words, where)

    @staticmethod
    def in_scope(query: xapian.Query, term: str, scope: str) -> xapian.Query:
        """``query`` (of ``term``) where the term stands in the title or the text."""
        if scope == "title":
            where = xapian.Query(title_term(term))
        else:
            where = xapian.Query(xapian.Query.OP_PHRASE, [BODY, word_term(term)], _TEXT_WINDOW)
        return xapian.Query(xapian.Query.OP_FILTER, query, where)

    def name(self, key: str) -> xapian.Query:
        term = name_term(key)
        weight = idf(self.paragraphs, self.db.get_termfreq(term))
        held = xapian.Query(xapian.Query.OP_SCALE_WEIGHT, xapian.Query(term), 0.0)
        fixed = xapian.Query(xapian.FixedWeightPostingSource(weight))
        return xapian.Query(xapian.Query.OP_AND, [fixed, held])


def translate(clause: Clause, terms: WeightedTerms) -> xapian.Query:
    """Variants become OP_OR, so a paragraph holding two forms of a word scores both:
    OP_MAX, the best-of that the Whoosh engine uses, crashes Xapian 1.4.26 when the
    database has several shards (tests/test_xapian.py runs such queries)."""
    if isinstance(clause, Terms):
        if clause.field == "keys":
            query = xapian.Query(_keys_term(clause.terms[0]))
        elif clause.field == "names":
            query = terms.name(clause.terms[0])
        elif len(clause.terms) > 1:
            query = terms.phrase(list(clause.terms), clause.scope)
        elif clause.scope:
            query = terms.in_scope(terms.word(clause.terms[0]), clause.terms[0], clause.scope)
        else:
            query = terms.word(clause.terms[0])
        if clause.weight != 1.0:
            query = xapian.Query(xapian.Query.OP_SCALE_WEIGHT, query, clause.weight)
        return query
    children = [translate(c, terms) for c in clause.clauses]
    if isinstance(clause, (Variants, AnyOf)):
        return xapian.Query(xapian.Query.OP_OR, children)
    assert isinstance(clause, AllOf)
    group = xapian.Query(xapian.Query.OP_AND, children)
    for excluded in clause.exclude:
        group = xapian.Query(xapian.Query.OP_AND_NOT, group, translate(excluded, terms))
    return group
