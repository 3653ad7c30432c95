"""What quality.py and speed.py share about the peers: how each analyzes French and is queried.

Both benchmarks must set their peers up alike, or their tables would compare
different systems; keeping the setup here makes that hold by construction.
"""

from __future__ import annotations

import re
from typing import Any

FTS5_TOKENIZER = "unicode61 remove_diacritics 2"


class SystemUnavailable(Exception):
    """A system cannot run here (missing optional package, no FTS5): skip it."""


def distinct_words(text: str) -> list[str]:
    """Distinct lowercased words, in order: peers get a plain OR of them."""
    return list(dict.fromkeys(re.findall(r"\w+", text.lower())))


def fts5_match(text: str) -> str | None:
    """An FTS5 MATCH expression ORing the words of ``text`` (None when it has none)."""
    words = distinct_words(text)
    return " OR ".join(f'"{w}"' for w in words) if words else None  # \w+ holds no '"'


def whoosh_or_query(analyzer: Any, text: str) -> Any:
    """Stock Whoosh: each analyzed word as a term in title or text, ORed.

    The same as MultifieldParser with OrGroup, minus query syntax, so "?", "*",
    "(" or "AND" in a question are just text.
    """
    from whoosh import query as q

    terms = dict.fromkeys(t.text for t in analyzer(text))
    return q.Or([q.Term(field, t) for t in terms for field in ("title", "text")])


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
