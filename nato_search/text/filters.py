"""The filters of a French chain, one job each: elision, compounds, Unicode normalization,
stopwords, stemming, accent folding. Each rewrites ``token.text`` only, so offsets keep
pointing into the original text; each also maps word items (``texts``), which lets
:class:`~.analyzer.WordCachedAnalyzer` run the chain once per distinct word."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from functools import lru_cache
from importlib import resources
from typing import Any

from unidecode import unidecode
from whoosh.analysis import Filter, Token

from nato_search.text.stemming import light_stem, minimal_stem
from nato_search.text.tokenizer import (
    _APOSTROPHES,
    _HYPHENS,
    FORMAT_CHARACTERS,
)

STEMMERS = ("none", "minimal", "light", "snowball")
DEFAULT_STEMMER = "light"


_ELISION = re.compile(
    rf"(?:l|m|t|qu|n|s|j|d|c|jusqu|quoiqu|lorsqu|puisqu)[{_APOSTROPHES}](?=[\w{FORMAT_CHARACTERS}])",
    re.IGNORECASE,
)


_HYPHEN_SPLIT = re.compile(rf"[{_HYPHENS}]")


_NOT_FOLDED_WORD_CHAR = re.compile(r"[^a-z0-9']")


WordItem = tuple[int, str, int, int]
"""A token of one word among many, as the cache learns them: (number of the word, text,
start, end), offsets within the word. A filter's ``texts`` method maps a list of these
as its ``__call__`` maps a token stream, without a generator and a Token per step."""


class ElisionFilter(Filter):
    """Drops an elided article or pronoun (``l’``, ``qu’``, ``jusqu’``…) from the front of a word."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            match = _ELISION.match(token.text)
            if match:
                token.text = token.text[match.end() :]
                if token.chars:
                    token.startchar += match.end()
            yield token

    def texts(self, items: list[WordItem], mode: str) -> list[WordItem]:
        out = []
        for item in items:
            match = _ELISION.match(item[1])
            if match:
                n, text, start, end = item
                item = (n, text[match.end() :], start + match.end(), end)
            out.append(item)
        return out


class CompoundFilter(Filter):
    """Splits hyphenated compounds (``OTAN-Ukraine``) into parts at consecutive positions."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        shift = 0
        for token in tokens:
            if token.positions:
                token.pos += shift
            parts = _HYPHEN_SPLIT.split(token.text)
            if len(parts) == 1:
                yield token
                continue
            start = token.startchar if token.chars else 0
            first_pos = token.pos if token.positions else 0
            offset = 0
            for i, part in enumerate(parts):
                token.text = part
                if token.chars:
                    token.startchar = start + offset
                    token.endchar = start + offset + len(part)
                if token.positions:
                    token.pos = first_pos + i
                offset += len(part) + 1
                yield token
            shift += len(parts) - 1

    def texts(self, items: list[WordItem], mode: str) -> list[WordItem]:
        if not _HYPHEN_SPLIT.search("".join(t for _, t, _, _ in items)):
            return items  # most batches of words
        out = []
        for item in items:
            parts = _HYPHEN_SPLIT.split(item[1])
            if len(parts) == 1:
                out.append(item)
                continue
            n, _, start, _ = item
            for part in parts:
                out.append((n, part, start, start + len(part)))
                start += len(part) + 1
        return out


class NormalizeFilter(Filter):
    """Unicode NFKC per token, without format characters: composes accents, expands
    ligatures like ``ﬁ``, drops soft hyphens and zero-width spaces; offsets untouched, so a
    highlight covers the word as written."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            token.text = _normalize(token.text)
            yield token

    def texts(self, items: list[WordItem], mode: str) -> list[WordItem]:
        if "".join(t for _, t, _, _ in items).isascii():
            return items  # NFKC leaves ASCII as it is, and it holds no format character
        return [(n, _normalize(t), s, e) for n, t, s, e in items]


_FORMAT = re.compile(f"[{FORMAT_CHARACTERS}]")


def _normalize(text: str) -> str:
    return _FORMAT.sub("", unicodedata.normalize("NFKC", text))


class FoldFilter(Filter):
    """Folds accents and other letters to ASCII with unidecode (``œuvrer`` → ``oeuvrer``)."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            folded = _fold(token.text)
            if folded:
                token.text = folded
                yield token

    def texts(self, items: list[WordItem], mode: str) -> list[WordItem]:
        return [(n, f, s, e) for n, t, s, e in items if (f := _fold(t))]


def _fold(text: str) -> str:
    if text.isascii():  # unidecode leaves ASCII as it is: most words, and every light stem
        lowered = text.lower()
        return lowered if lowered.isalnum() else _NOT_FOLDED_WORD_CHAR.sub("", lowered)
    return _fold_unicode(text)


_LATIN = {code: unidecode(chr(code)) for code in range(0x80, 0x250)}
"""unidecode of each Latin-1 and Latin Extended letter. unidecode reads one character at a
time, so a word written in these alone folds by ``str.translate``, two or three times faster."""


@lru_cache(maxsize=200_000)
def _fold_unicode(text: str) -> str:
    """:func:`_fold` of a word that is not ASCII (so not empty)."""
    folded = text.translate(_LATIN) if max(text) < "\u0250" else unidecode(text)
    return _NOT_FOLDED_WORD_CHAR.sub("", folded.lower())


class StopFilter(Filter):
    """Removes French stopwords and closes the gaps they leave, so phrases ignore them.

    A word with accents is a stopword only as listed (``né`` is not ``ne``); a word
    without them is matched folded, so ``ete`` typed plainly goes like ``été``."""

    def __init__(self, stopwords: frozenset[str] | None = None):
        self.stopwords = load_stopwords() if stopwords is None else stopwords
        self.folded = frozenset(_fold(w) for w in self.stopwords)

    def is_stopword(self, word: str) -> bool:
        folded = _fold(word)
        if folded not in self.folded:
            return False
        lower = word.lower()
        return lower == folded or lower in self.stopwords

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        pos = 0
        for token in tokens:
            if self.is_stopword(token.text):
                if not token.removestops:
                    token.stopped = True
                    yield token
                continue
            if token.positions:
                token.pos = pos
            pos += 1
            token.stopped = False
            yield token

    def texts(self, items: list[WordItem], mode: str) -> list[WordItem]:
        return [item for item in items if not self.is_stopword(item[1])]


class StemFilter(Filter):
    """Reduces lowercase words to a stem so that inflected forms meet.

    It runs before the accent-folding filter because the Snowball rules read
    accents (``-ité``, ``-ée``). The light stemmers fold first and work on
    plain letters, so a query typed without accents gets the same stem.
    """

    def __init__(self, stemmer: str = DEFAULT_STEMMER):
        if stemmer not in STEMMERS:
            raise ValueError(f"unknown stemmer {stemmer!r}; choose one of {', '.join(STEMMERS)}")
        self.stemmer = stemmer
        self._stem = _stem_function(stemmer)

    def __getstate__(self) -> dict[str, Any]:
        return {"stemmer": self.stemmer}

    def __setstate__(self, state: dict[str, Any]) -> None:
        StemFilter.__init__(self, state["stemmer"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StemFilter) and other.stemmer == self.stemmer

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        stem = self._stem
        for token in tokens:
            if not token.stopped:
                token.text = stem(token.text)
            yield token

    def texts(self, items: list[WordItem], mode: str) -> list[WordItem]:
        stem = self._stem
        return [(n, stem(t), s, e) for n, t, s, e in items]


@lru_cache(maxsize=1)
def load_stopwords() -> frozenset[str]:
    """The packaged stopword list (see ``data/stopwords-fr.txt``), lowercase, accents kept."""
    text = resources.files("nato_search").joinpath("data/stopwords-fr.txt").read_text("utf-8")
    words = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return frozenset(unicodedata.normalize("NFKC", w).lower() for w in words if w)


# "minimal" and "light" live in stemming.py and work on folded words; "snowball" is the
# Snowball French stemmer shipped with Whoosh, which reads accents, so it folds after.
def _stem_function(name: str) -> Callable[[str], str]:
    if name == "none":
        return str
    if name == "minimal":
        return lambda word: minimal_stem(_fold(word))
    if name == "light":
        return lambda word: light_stem(_fold(word))
    from whoosh.lang.snowball.french import FrenchStemmer

    stem = FrenchStemmer().stem
    return lambda word: _fold(stem(word))
