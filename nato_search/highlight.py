"""What a query matched in a hit's text and title, as character spans of the original."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from whoosh.analysis import Analyzer

from nato_search.query.syntax import (
    SCOPES,
    Query,
)
from nato_search.text.analyzer import WordCachedAnalyzer, analyze


class Highlighter:
    """Marks what a query matched in a text: its words anywhere, its phrases only where
    whole. What to look for in each field is worked out once, for every hit.

    Texts are analyzed in index mode, as the index saw them (the names field keeps only
    capitalized words there). Given ``written`` (the index's record of the words that give
    each term; the text field's, for texts from the index), a hit's words are met against
    those of the query's terms, and only the words that match are analyzed.
    """

    def __init__(
        self,
        parsed: Query,
        analyzer: Analyzer,
        names: Analyzer | None = None,
        written: Callable[[Iterable[str]], set[str] | None] | None = None,
        scope: str = "",
    ):
        self._fields = []
        scopes = ("", scope) if scope else ("", *SCOPES)
        for kind, chain in (("words", analyzer), ("names", names)):
            phrases = {t.terms for t in parsed.terms() if t.field == kind and t.scope in scopes}
            if phrases and chain is not None:
                singles = {p[0] for p in phrases if len(p) == 1}
                longer = [p for p in phrases if len(p) > 1]
                holding = written(singles) if written and kind == "words" else None
                self._fields.append((chain, singles, longer, holding))
        self._marked: dict[str, list[tuple[int, int]]] = {}
        """Texts already marked: the hits of one document share its title."""

    def __call__(self, text: str) -> list[tuple[int, int]]:
        found = self._marked.get(text)
        if found is None:
            found = self._marked[text] = self._mark(text)
        return list(found)

    def _mark(self, text: str) -> list[tuple[int, int]]:
        spans: set[tuple[int, int]] = set()
        mode = "index"
        for chain, singles, longer, holding in self._fields:
            if isinstance(chain, WordCachedAnalyzer) and not longer:
                spans.update(chain.matched(text, singles, mode, holding))
                continue
            tokens = analyze(text, chain, mode)
            spans.update((start, end) for term, _, start, end in tokens if term in singles)
            for phrase in longer:
                n = len(phrase)
                for i in range(len(tokens) - n + 1):
                    if tuple(tok[0] for tok in tokens[i : i + n]) == phrase:
                        spans.update((tok[2], tok[3]) for tok in tokens[i : i + n])
        return sorted(spans)
