"""The second stage: word vectors reorder the best paragraphs of a search by meaning.

Each query word adds its idf times its best cosine with a word of the paragraph (see
:mod:`nato_search.vectors`), scaled by ``RankingSettings.vector_weight``.
"""

from __future__ import annotations

from nato_search import vectors as word_vectors
from nato_search.engines.base import Snapshot
from nato_search.query.plan import Row, idf
from nato_search.query.syntax import Query, Terms, Variants
from nato_search.settings import RankingSettings
from nato_search.text.analyzer import analyze


def reordered(
    rows: list[Row],
    query: Query,
    snapshot: Snapshot,
    vectors: word_vectors.WordVectors,
    settings: RankingSettings,
) -> list[Row]:
    """The first ``settings.vector_depth`` rows re-scored with the word vectors' alignment, the rest
    as they were: a bonus never lowers a score, so none of them can pass the reordered."""
    typed = [c.clauses[0] if isinstance(c, Variants) else c for c in query.include]
    words = {
        c.text[start:end]: term
        for c in typed
        if isinstance(c, Terms) and c.field == "words"
        for term, _, start, end in analyze(c.text, snapshot.analyzer)
    }
    depth = settings.vector_depth
    top = rows[:depth]
    if not words or not top:
        return rows
    paragraphs = snapshot.count()
    weights = [idf(paragraphs, snapshot.frequency(term)) for term in words.values()]
    texts = [f"{row.stored['title']}\n{row.stored['text']}" for row in top]
    bonus = vectors.alignment(list(words), weights, texts, settings.vector_floor)
    bonus *= settings.vector_weight
    scored = [
        Row(row.stored, float(row.score or 0.0) + float(extra), row.matched_all)
        for row, extra in zip(top, bonus, strict=True)
    ]
    scored.sort(key=lambda row: -row.score)
    return scored + rows[depth:]
