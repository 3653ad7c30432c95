"""tantivy (Rust, through its Python bindings): the fast peer of speed.py."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .base import Passage, SystemUnavailable, distinct_words


class Tantivy:
    """An fr_stem analyzer built from tantivy's own filters (simple tokenizer, lowercase,
    French stopwords and stemmer, ASCII folding); one default writer."""

    name = "tantivy"

    def __init__(self) -> None:
        try:
            import tantivy
        except ImportError as e:
            raise SystemUnavailable(f"cannot import tantivy: {e}") from e
        self._t = tantivy
        self._ix: Any = None
        self._searcher: Any = None

    def _analyzer(self) -> Any:
        t = self._t
        return (
            t.TextAnalyzerBuilder(t.Tokenizer.simple())
            .filter(t.Filter.remove_long(40))
            .filter(t.Filter.lowercase())
            .filter(t.Filter.stopword("french"))
            .filter(t.Filter.stemmer("french"))
            .filter(t.Filter.ascii_fold())
            .build()
        )

    def build(self, passages: Sequence[Passage], path: Path | None = None) -> None:
        t = self._t
        sb = t.SchemaBuilder()
        sb.add_text_field("id", stored=True, tokenizer_name="raw")
        sb.add_text_field("title", stored=True, tokenizer_name="fr_stem")
        sb.add_text_field("text", stored=True, tokenizer_name="fr_stem")
        sb.add_text_field("date", stored=True, tokenizer_name="raw")
        if path is not None:
            path.mkdir(parents=True)
        self._ix = t.Index(sb.build(), path=None if path is None else str(path), reuse=False)
        self._ix.register_tokenizer("fr_stem", self._analyzer())
        writer = self._ix.writer()
        for p in passages:
            writer.add_document(t.Document(id=p.uid, title=p.title, text=p.text, date=p.date or ""))
        writer.commit()
        writer.wait_merging_threads()
        self._ix.reload()
        self._searcher = self._ix.searcher()

    def open(self, path: Path) -> None:
        self._ix = self._t.Index.open(str(path))
        self._ix.register_tokenizer("fr_stem", self._analyzer())
        self._searcher = self._ix.searcher()

    def search(self, text: str, k: int) -> list[str]:
        words = distinct_words(text)  # lowercase: no AND/OR/NOT operators, no syntax characters
        if not words:
            return []
        query = self._ix.parse_query(" ".join(words), ["title", "text"])
        out = []
        for _, address in self._searcher.search(query, k).hits:
            doc = self._searcher.doc(address)
            doc["text"]  # read the stored text, as a caller would
            out.append(doc["id"][0])
        return out

    def close(self) -> None:
        self._searcher = self._ix = None
