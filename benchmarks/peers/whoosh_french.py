"""Stock Whoosh: what nato-search would be without its own analysis and ranking."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from .base import Passage, SystemUnavailable, temporary_folder


class WhooshFrench:
    """LanguageAnalyzer("fr") (stopwords + Snowball, no accent folding), one default writer,
    BM25F; id, title, text and date stored, as nato-search stores them; no highlighting."""

    name = "whoosh-fr"

    def __init__(self) -> None:
        try:
            from whoosh import analysis, fields, index, query
        except ImportError as e:
            raise SystemUnavailable(f"cannot import whoosh: {e}") from e
        # query too: imported here, so that speed.py's cold start (imports excluded) excludes it.
        self._fields, self._index, self._query = fields, index, query
        self._analyzer = analysis.LanguageAnalyzer("fr")
        self._cleanup = ExitStack()
        self._searcher: Any = None

    def build(self, passages: Sequence[Passage], path: Path | None = None) -> None:
        if path is None:
            path = temporary_folder("whoosh-bench-", self._cleanup)
        else:
            path.mkdir(parents=True)
        f = self._fields
        schema = f.Schema(
            id=f.ID(stored=True),
            title=f.TEXT(analyzer=self._analyzer, stored=True),
            text=f.TEXT(analyzer=self._analyzer, stored=True),
            date=f.STORED(),
        )
        ix = self._index.create_in(str(path), schema)
        with ix.writer() as w:
            for p in passages:
                w.add_document(id=p.uid, title=p.title, text=p.text, date=p.date)
        self._searcher = self._cleanup.enter_context(ix.searcher())

    def open(self, path: Path) -> None:
        ix = self._index.open_dir(str(path))
        self._searcher = self._cleanup.enter_context(ix.searcher())

    def _or_query(self, text: str) -> Any:
        """Each analyzed word as a term in title or text, ORed.

        The same as MultifieldParser with OrGroup, minus query syntax, so "?", "*",
        "(" or "AND" in a question are just text.
        """
        q = self._query
        terms = dict.fromkeys(t.text for t in self._analyzer(text))
        return q.Or([q.Term(field, t) for t in terms for field in ("title", "text")])

    def search(self, text: str, k: int) -> list[str]:
        query = self._or_query(text)
        # fields(): every stored field (the text too), as a caller would read them
        return [hit.fields()["id"] for hit in self._searcher.search(query, limit=k)]

    def close(self) -> None:
        self._cleanup.close()
