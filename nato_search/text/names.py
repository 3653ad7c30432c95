"""Names as their transliteration keys (``Kouleba`` and ``Kuleba`` both ``kuleba``): the
filters and the analyzer of the ``names`` field, which keeps only capitalized words."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from whoosh.analysis import Filter, LowercaseFilter, Token

from nato_search.text.analyzer import WordCachedAnalyzer
from nato_search.text.filters import (
    CompoundFilter,
    ElisionFilter,
    FoldFilter,
    NormalizeFilter,
    StopFilter,
    WordItem,
)
from nato_search.text.tokenizer import (
    FrenchTokenizer,
)


class CapitalizedFilter(Filter):
    """Keeps only words written with a capital (likely proper names) in documents; queries pass whole."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            if token.mode == "query" or token.text[:1].isupper():
                yield token

    def texts(self, items: list[WordItem], mode: str) -> list[WordItem]:
        return items if mode == "query" else [i for i in items if i[1][:1].isupper()]


class NameKeyFilter(Filter):
    """Replaces a folded word by its transliteration key, so ``Poutine`` and ``Putin`` meet."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            key = name_key(token.text)
            if key:
                token.text = key
                yield token

    def texts(self, items: list[WordItem], mode: str) -> list[WordItem]:
        return [(n, k, s, e) for n, t, s, e in items if (k := name_key(t))]


_NAME_RULES = (
    (re.compile(r"ph"), "f"),
    (re.compile(r"[st]?[cs]h|tch"), "sh"),  # tch, ch, sh, sch: one sound family
    (re.compile(r"kh"), "h"),
    (re.compile(r"zh"), "j"),
    (re.compile(r"ou"), "u"),
    (re.compile(r"w"), "v"),
    (re.compile(r"y"), "i"),
    (re.compile(r"qu|ck|c(?=[aou])"), "k"),
    (re.compile(r"(.)\1+"), r"\1"),
    (re.compile(r"ie"), "e"),
    (re.compile(r"e$"), ""),
)


@lru_cache(maxsize=200_000)
def name_key(word: str) -> str:
    """A transliteration key of a folded word (``kouleba`` → ``kuleba``); empty for short words.

    French and English write Slavic and Arabic names differently (``ou``/``u``,
    ``tch``/``ch``, ``ch``/``sh``, ``-e``/-, ``y``/``i``); the key drops those
    differences. It is deliberately coarse: it is searched below exact words.
    """
    if len(word) < 4 or not word.isalpha():
        return ""
    for pattern, replacement in _NAME_RULES:
        word = pattern.sub(replacement, word)
    return word


def names_analyzer() -> WordCachedAnalyzer:
    """Transliteration keys of capitalized words (every word, for queries)."""
    return WordCachedAnalyzer(
        FrenchTokenizer(),
        ElisionFilter(),
        CompoundFilter(),
        NormalizeFilter(),
        CapitalizedFilter(),
        LowercaseFilter(),
        FoldFilter(),
        StopFilter(),
        NameKeyFilter(),
    )
