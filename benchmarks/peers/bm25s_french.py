"""bm25s (Lucene's BM25 on NumPy sparse matrices) with a French analysis of its own."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .base import Passage, SystemUnavailable


class FrenchBm25sTokens:
    """bm25s's tokens: folded, stopword-filtered, Snowball-stemmed (PyStemmer).

    Stopwords: bm25s's own French list, folded (Snowball's list plus "les" and
    "ils", which Whoosh's copy lacks). Words are stemmed with their accents,
    then folded: the French Snowball rules expect accented input.
    """

    def __init__(self) -> None:
        try:
            import bm25s
            import Stemmer
            from bm25s.stopwords import STOPWORDS_FRENCH
            from unidecode import unidecode
        except ImportError as e:
            raise SystemUnavailable(f"cannot import bm25s/PyStemmer: {e}") from e
        self.bm25s, self._fold = bm25s, unidecode
        self._stem = Stemmer.Stemmer("french").stemWords
        self._stop = {unidecode(w) for w in STOPWORDS_FRENCH}

    def __call__(self, text: str) -> list[str]:
        words = [w for w in re.findall(r"\w\w+", text.lower()) if self._fold(w) not in self._stop]
        return [self._fold(s) for s in self._stem(words)]


class Bm25s:
    """bm25s on the FrenchBm25sTokens of title + text; saved with ``model.save``.

    ``threads``: bm25s's ``n_threads``. speed.py's figures were measured with 1, which
    runs each query in a pool of one thread (some 0.3 ms more than 0, no pool).
    """

    name = "bm25s"

    def __init__(self, threads: int = 0) -> None:
        self._tokens = FrenchBm25sTokens()
        self._bm25s = self._tokens.bm25s
        self._threads = threads
        self._model: Any = None
        self._corpus: Any = None

    def build(self, passages: Sequence[Passage], path: Path | None = None) -> None:
        self._corpus = [
            {"id": p.uid, "title": p.title, "text": p.text, "date": p.date} for p in passages
        ]
        self._model = self._bm25s.BM25()
        tokens = [self._tokens(f"{p.title} {p.text}") for p in passages]
        self._model.index(tokens, show_progress=False)
        if path is not None:
            self._model.save(str(path), corpus=self._corpus, show_progress=False)

    def open(self, path: Path) -> None:
        self._model = self._bm25s.BM25.load(str(path), load_corpus=True, show_progress=False)
        self._corpus = self._model.corpus

    def search(self, text: str, k: int) -> list[str]:
        tokens = [t for t in self._tokens(text) if t in self._model.vocab_dict]
        if not tokens:
            return []
        k = min(k, len(self._corpus))
        # A loaded model returns its saved corpus entries, a fresh one returns row numbers.
        docs, scores = self._model.retrieve(
            [tokens], k=k, show_progress=False, n_threads=self._threads
        )
        return [
            (d if isinstance(d, dict) else self._corpus[int(d)])["id"]
            for d, s in zip(docs[0], scores[0], strict=True)
            if s > 0
        ]

    def close(self) -> None:
        self._model = self._corpus = None
