"""French analysis: a tokenizer and a chain of one-job filters, joined with ``|``.

Built on Whoosh's token-stream protocol (so a chain can serve as a field
analyzer) but knows nothing about indexes. Every filter keeps each token's
``startchar``/``endchar`` pointing into the *original* text: normalization and
accent folding rewrite ``token.text`` only, which is what lets highlights mark
``d’œuvrer`` when the query was ``oeuvrer``.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import re
import threading
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator
from functools import lru_cache
from importlib import resources
from typing import Any

from unidecode import unidecode
from whoosh.analysis import Filter, LowercaseFilter, Token, Tokenizer
from whoosh.analysis.analyzers import Analyzer

from nato_search.text.stemming import light_stem, minimal_stem

ANALYZER_VERSION = 6
"""Bumped whenever terms change, so older indexes ask for a rebuild (3: Savoy's light rules;
4: accented words are stopwords only as listed, so né, sûr and dû are indexed; 5: numbers
in groups of three digits are one term, 13 000 = 13.000 = 13000; 6: format characters
inside a word are dropped, muni\u00adtions = munitions, and elles is a stopword)."""
STEMMERS = ("none", "minimal", "light", "snowball")
DEFAULT_STEMMER = "light"

FIELD_BREAK = "\u2029"
"""Between two texts indexed as one (a title and its paragraph): positions leave a gap there."""
_APOSTROPHES = "'’ʼ‘"
_HYPHENS = r"\-‐‑"
_MARKS = r"\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
FORMAT_CHARACTERS = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f"
)
"""Unicode's format characters (category Cf, as of Unicode 15.1), as a regex class: the
soft hyphen, zero-width spaces and joiners, bidi marks, the word joiner, the BOM. They are
invisible, so a word holding one (``muni\u00adtions``) is one word, the term of the word
without them; listed rather than gathered from ``unicodedata`` at import (a tenth of a
second), tested against it."""
_FORMAT_RUN = rf"[{FORMAT_CHARACTERS}]+(?=[^\W_]|[{_MARKS}])"
# Letters and digits, plus combining marks so decomposed accents (NFD text) stay
# inside their word, and format characters before a letter or mark (never a word of
# their own); matched as runs of each (a quarter faster than char by char).
_WORD_RUN = rf"(?:[^\W_]+|[{_MARKS}]+|{_FORMAT_RUN})+"
_WORD = rf"{_WORD_RUN}(?:[{_APOSTROPHES}{_HYPHENS}]{_WORD_RUN})*"
# The same words in a text with no underscore and no combining mark, where \w is a
# letter or digit and a run never meets a mark: most texts, and 30% faster to match.
_PLAIN_WORD = rf"\w+(?:[{_APOSTROPHES}{_HYPHENS}]\w+)*"
_NOT_PLAIN = re.compile(f"[_{_MARKS}{FORMAT_CHARACTERS}]")
DIGIT_GROUP_SEPARATORS = " .\u00a0\u202f\u2009"
"""What French writes between groups of three digits: a space (plain, no-break, narrow
or thin) or a dot. ``13 000``, ``13.000`` and ``13000`` are one word, one term."""
GROUPED_NUMBER = rf"(?<![\w.,])\d{{1,3}}(?:[{DIGIT_GROUP_SEPARATORS}]\d{{3}})+(?!\w)"
"""A number in groups of three digits after the first one to three: not ``2014 300``
(two numbers), nor ``1 5000``; a decimal comma ends it (``1 500,5`` is 1500 and 5)."""
_HAS_GROUPED_NUMBER = re.compile(rf"\d[{DIGIT_GROUP_SEPARATORS}]\d{{3}}")


def _compile(word: str, grouped: bool) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The word pattern, and the same capturing (for ``re.split``)."""
    pattern = f"{GROUPED_NUMBER}|{word}" if grouped else word
    return re.compile(pattern), re.compile(f"({pattern})")


_PATTERNS = {
    (plain, grouped): _compile(word, grouped)
    for plain, word in ((True, _PLAIN_WORD), (False, _WORD))
    for grouped in (True, False)
}
"""Per (no underscore or combining mark, a digit group in sight): the words' patterns."""


def word_pattern(text: str) -> re.Pattern[str]:
    """The pattern of the words of ``text``: the plain one where it finds the same words,
    with grouped numbers only where there may be one."""
    return _patterns(text)[0]


def words(text: str) -> list[str]:
    """The words of ``text`` as the tokenizer finds them, as written, before any filter."""
    return word_pattern(text).findall(text)


def _split_words(text: str) -> list[str]:
    """``text`` as separators and words, alternately (separators at even indexes)."""
    return _patterns(text)[1].split(text)


def _patterns(text: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    return _PATTERNS[not _NOT_PLAIN.search(text), bool(_HAS_GROUPED_NUMBER.search(text))]


_ELISION = re.compile(
    rf"(?:l|m|t|qu|n|s|j|d|c|jusqu|quoiqu|lorsqu|puisqu)[{_APOSTROPHES}](?=[\w{FORMAT_CHARACTERS}])",
    re.IGNORECASE,
)
_HYPHEN_SPLIT = re.compile(rf"[{_HYPHENS}]")
_NOT_FOLDED_WORD_CHAR = re.compile(r"[^a-z0-9']")
_WHOLE = re.compile(r"(?s).*")

WordItem = tuple[int, str, int, int]
"""A token of one word among many, as the cache learns them: (number of the word, text,
start, end), offsets within the word. A filter's ``texts`` method maps a list of these
as its ``__call__`` maps a token stream, without a generator and a Token per step."""


class FrenchTokenizer(Tokenizer):
    """Words with their inner apostrophes and hyphens, left for the filters to split."""

    @staticmethod
    def words(value: str) -> Iterator[re.Match[str]]:
        return word_pattern(value).finditer(value)

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        matches: Iterable[re.Match[str]]
        if tokenize:
            matches = word_pattern(value).finditer(value)
        else:
            whole = _WHOLE.match(value)
            assert whole is not None  # ".*" with DOTALL matches any string
            matches = [whole]
        for pos, match in enumerate(matches):
            token.text = match.group(0)
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = token.text
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar = start_char + match.start()
                token.endchar = start_char + match.end()
            yield token


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


def _lowercase_texts(_: Filter, items: list[WordItem], mode: str) -> list[WordItem]:
    """Whoosh's ``LowercaseFilter`` on word items."""
    return [(n, t.lower(), s, e) for n, t, s, e in items]


TextStep = Callable[[Any, list[WordItem], str], list[WordItem]]


_TEXT_STEPS: dict[type, TextStep | None] = {LowercaseFilter: _lowercase_texts}
"""Each filter class's answer of :func:`_text_step`, one entry a class."""


def _text_step(kind: type) -> TextStep | None:
    """A filter class's ``texts`` method, if it does what its ``__call__`` does: a subclass
    that changes ``__call__`` alone would be learned wrong, so it goes by the stream."""
    if kind not in _TEXT_STEPS:
        owner = next((c for c in kind.__mro__ if "texts" in c.__dict__), None)
        same = owner is not None and kind.__call__ is owner.__call__
        _TEXT_STEPS[kind] = owner.__dict__["texts"] if same else None
    return _TEXT_STEPS[kind]


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


_WordTokens = tuple[tuple[str, int, int, bool], ...]
"""A word's tokens as (text, start, end, stopped), offsets within the word."""


_recent_words: dict[str, list[str]] = {}


def _words_of(text: str) -> list[str]:
    """The words of ``text``, remembered for a few texts: an index analyzes a paragraph
    for more than one field. The list returned is shared: never change it."""
    words = _recent_words.get(text)
    if words is None:
        words = word_pattern(text).findall(text)
        if len(_recent_words) >= 8:
            _recent_words.clear()
        _recent_words[text] = words
    return words


class WordCachedAnalyzer(Analyzer):
    """A tokenizer and its filters, with the filters' work on each distinct word remembered.

    Every filter here looks at one word at a time, so a word's tokens never
    depend on its neighbours: running the chain once per distinct word and
    replaying it (positions renumbered, offsets shifted) gives the same stream
    as the plain chain, several times faster on real text, where words repeat.
    New words are learned through each filter's ``texts`` method, the same step on
    plain tuples: learning is most of a build's analysis time (tested to agree).
    """

    def __init__(self, tokenizer: FrenchTokenizer, *filters: Filter, cache_size: int = 200_000):
        self.tokenizer = tokenizer
        self.filters = filters
        self.cache_size = cache_size
        self._cache: dict[tuple[bool, bool], dict[str, _WordTokens]] = {}
        """Per (query mode, stopwords removed): each word's tokens."""
        self._terms: dict[bool, dict[str, tuple[str, ...]]] = {}
        """Per query mode: each word's terms (stopwords removed)."""
        self._holders: dict[tuple[bool, bool], dict[str, set[str]]] = {}
        """Per ``_cache`` entry: the words of each term. A word is put here before its
        tokens go in the cache, so a word in the cache is always here (between clears)."""
        self._clears = 0
        """How many times a word cache was emptied: a reader of both sees if it happened."""
        self._lock = threading.Lock()
        """Taken to change a cache, so a word and its terms' entries come and go together."""

    def __getstate__(self) -> dict[str, Any]:
        skip = ("_cache", "_terms", "_holders", "_clears", "_lock")
        return {k: v for k, v in self.__dict__.items() if k not in skip}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._cache = {}
        self._terms = {}
        self._holders = {}
        self._clears = 0
        self._lock = threading.Lock()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WordCachedAnalyzer) and self.__getstate__() == other.__getstate__()

    def __repr__(self) -> str:
        return " | ".join(type(part).__name__ for part in (self.tokenizer, *self.filters))

    def _words(
        self, mode: str, removestops: bool
    ) -> tuple[dict[str, _WordTokens], dict[str, set[str]]]:
        key = (mode == "query", removestops)
        return self._cache.setdefault(key, {}), self._holders.setdefault(key, {})

    def _word(self, word: str, mode: str, removestops: bool) -> _WordTokens:
        cache, holders = self._words(mode, removestops)
        tokens = cache.get(word)
        if tokens is None:
            stream = self.tokenizer(
                word, positions=True, chars=True, mode=mode, removestops=removestops
            )
            for step in self.filters:
                stream = step(stream)
            tokens = tuple((t.text, t.startchar, t.endchar, t.stopped) for t in stream)
            with self._lock:
                if len(cache) >= self.cache_size:
                    self._clear(cache, holders)
                for text, *_ in tokens:
                    holders.setdefault(text, set()).add(word)
                cache[word] = tokens
        return tokens

    def _clear(self, cache: dict[str, Any], holders: dict[str, set[str]] | None) -> None:
        self._clears += 1
        cache.clear()
        if holders is not None:
            holders.clear()

    def spans(self, value: str, mode: str = "query") -> list[tuple[str, int, int, int]]:
        """The stream of ``__call__`` (positions, offsets, stopwords removed) as plain tuples,
        without a Token per word: highlighting every hit of every search runs this."""
        out: list[tuple[str, int, int, int]] = []
        pos = 0
        previous_end = 0
        breaks = FIELD_BREAK in value
        cache, holders = self._words(mode, True)
        for raw in self.tokenizer.words(value):
            word = raw.group()
            tokens = cache.get(word)
            if tokens is None:  # learn the rest of the text's words in one run of the chain
                self._learn(cache, raw.re.findall(value, raw.start()), mode, holders)
                tokens = cache.get(word) or self._word(word, mode, True)
            start = raw.start()
            if breaks:
                if FIELD_BREAK in value[previous_end:start]:
                    pos += 1
                previous_end = raw.end()
            for text, first, last, _ in tokens:
                out.append((text, pos, start + first, start + last))
                pos += 1
        return out

    def matched(
        self,
        value: str,
        terms: Collection[str],
        mode: str = "query",
        holding: set[str] | None = None,
    ) -> list[tuple[int, int]]:
        """Offsets of the tokens of ``value`` whose text is one of ``terms``: ``spans``
        filtered. Highlighting runs this on every hit, so it meets a text's words as a set,
        against the words known to hold each term, instead of one word at a time.

        ``holding``, when given, must hold every word of ``value`` that gives one of
        ``terms`` (an index's record of its words): then no other word is analyzed."""
        if type(self.tokenizer) is not FrenchTokenizer:
            return self._matched_by_spans(value, terms, mode)
        parts = _split_words(value)
        words = parts[1::2]
        distinct = set(words)
        cache, holders = self._words(mode, True)
        if holding is not None:
            found = holding.intersection(distinct)
            missing = [word for word in found if word not in cache]
            if missing:
                self._learn(cache, missing, mode, holders)
        else:
            clears = self._clears
            if distinct.difference(cache):
                self._learn(cache, words, mode, holders)
            wanted: set[str] = set()
            for term in terms:
                wanted.update(holders.get(term, ()))
            found = wanted.intersection(distinct)
            if self._clears != clears:  # another thread emptied the cache meanwhile
                return self._matched_by_spans(value, terms, mode)
        out: list[tuple[int, int]] = []
        if found:
            starts = list(itertools.accumulate(map(len, parts)))
            for word in found:
                tokens = [
                    t for t in cache.get(word) or self._word(word, mode, True) if t[0] in terms
                ]
                i = -1
                while True:
                    try:
                        i = words.index(word, i + 1)
                    except ValueError:
                        break
                    start = starts[2 * i]
                    out.extend((start + first, start + last) for _, first, last, _ in tokens)
            out.sort()
        return out

    def _matched_by_spans(
        self, value: str, terms: Collection[str], mode: str
    ) -> list[tuple[int, int]]:
        return [(start, end) for t, _, start, end in self.spans(value, mode) if t in terms]

    def term_positions(
        self, value: str, mode: str = "index", words_seen: set[str] | None = None
    ) -> dict[str, list[int]]:
        """Each term of ``value`` with its positions, in order of first appearance: the
        stream of ``__call__`` (stopwords removed) gathered per term, as an index needs it.
        ``words_seen`` gets the words of ``value`` as written."""
        out: dict[str, list[int]] = {}
        terms = self._terms.setdefault(mode == "query", {})
        parts = [_words_of(part) for part in value.split(FIELD_BREAK)]
        pos = 0
        for number, words in enumerate(parts):
            if words_seen is not None:
                words_seen.update(words)
            if number and words:
                pos += 1  # a gap, so no phrase matches across the break
            for word in words:
                texts = terms.get(word)
                if texts is None:
                    self._learn(terms, [w for part in parts for w in part], mode)
                    texts = terms[word]
                for text in texts:
                    positions = out.get(text)
                    if positions is None:
                        out[text] = [pos]
                    else:
                        positions.append(pos)
                    pos += 1
        return out

    def word_terms(self, words: list[str], mode: str = "index") -> list[tuple[str, ...]]:
        """The terms of each of ``words`` (stopwords removed), learned a batch at a time."""
        terms = self._terms.setdefault(mode == "query", {})
        out: list[tuple[str, ...]] = []
        batch = max(1, self.cache_size // 4)
        for at in range(0, len(words), batch):
            part = words[at : at + batch]
            self._learn(terms, part, mode)
            for word in part:  # another thread may have emptied the cache meanwhile
                found = terms.get(word)
                out.append(self._texts(word, mode) if found is None else found)
        return out

    def _texts(self, word: str, mode: str) -> tuple[str, ...]:
        return tuple(text for text, *_ in self._word(word, mode, True))

    def _learn(
        self,
        cache: dict[str, Any],
        words: list[str],
        mode: str,
        holders: dict[str, set[str]] | None = None,
    ) -> None:
        """Puts in ``cache`` the words not in it yet, from one run of the chain over all of
        them (setting the chain up costs more than running it, and a word's tokens never
        depend on its neighbours): their terms, or with ``holders`` their tokens as
        :meth:`_word` gives them (stopwords removed), each word also filed under its terms."""
        with self._lock:
            new = list(set(words).difference(cache))
            if len(cache) + len(new) > self.cache_size:
                self._clear(cache, holders)
                new = list(set(words))
            found: list[list[Any]] = [[] for _ in new]
            for n, text, start, end in self._word_items(new, mode):
                found[n].append(text if holders is None else (text, start, end, False))
            for word, tokens in zip(new, found, strict=True):
                if holders is not None:
                    for text, *_ in tokens:
                        holders.setdefault(text, set()).add(word)
                cache[word] = tuple(tokens)

    def _word_items(self, words: list[str], mode: str) -> list[WordItem]:
        """The tokens of each of ``words`` (stopwords removed), in order: through the
        filters' ``texts`` methods when they all have one (about twice as fast), else
        through one run of the token-stream chain over all of them."""
        steps = [_text_step(type(f)) for f in self.filters]
        if type(self.tokenizer) is FrenchTokenizer and None not in steps:
            items = [(n, word, 0, len(word)) for n, word in enumerate(words)]
            for f, step in zip(self.filters, steps, strict=True):
                assert step is not None
                items = step(f, items, mode)
            return items
        starts = []
        offset = 0
        for word in words:
            starts.append(offset)
            offset += len(word) + 1
        stream = self.tokenizer(" ".join(words), positions=True, chars=True, mode=mode)
        for f in self.filters:
            stream = f(stream)
        out = []
        for token in stream:
            n = bisect.bisect_right(starts, token.startchar) - 1
            out.append((n, token.text, token.startchar - starts[n], token.endchar - starts[n]))
        return out

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        previous_end = 0
        for raw in self.tokenizer(value, chars=True, mode=mode, **kwargs):
            if FIELD_BREAK in value[previous_end : raw.startchar]:
                pos += 1  # a gap, so no phrase matches across the break
            previous_end = raw.endchar
            word, base = raw.text, start_char + raw.startchar
            for text, start, end, stopped in self._word(word, mode, removestops):
                token.text = text
                token.stopped = stopped
                token.boost = 1.0
                if keeporiginal:
                    token.original = word
                if positions:
                    token.pos = pos
                if chars:
                    token.startchar = base + start
                    token.endchar = base + end
                pos += not stopped
                yield token


class ExactTermsTokenizer(Tokenizer):
    """Each string of a JSON array as one term, untouched: exact values (``tags=défense``)
    that filters and facets compare as given. JSON, not a separator, so that no value
    can hold the end of its term and the start of another (a value is any string); a
    value that is not a JSON array is one term."""

    def __call__(self, value: str, **kwargs: Any) -> Iterator[Token]:
        token = Token(**kwargs)
        try:
            terms = json.loads(value) if value.startswith("[") else [value]
        except ValueError:
            terms = [value]
        for text in dict.fromkeys(terms):
            if isinstance(text, str) and text:
                token.text = text
                token.boost = 1.0
                yield token


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


def french_analyzer(stemmer: str = DEFAULT_STEMMER) -> WordCachedAnalyzer:
    """The analyzer used for both documents and queries."""
    return WordCachedAnalyzer(
        FrenchTokenizer(),
        ElisionFilter(),
        CompoundFilter(),
        NormalizeFilter(),
        LowercaseFilter(),
        StopFilter(),
        StemFilter(stemmer),
        FoldFilter(),
    )


def analyzer_settings(stemmer: str = DEFAULT_STEMMER) -> dict[str, Any]:
    """What an index must record to be searched with the same analysis it was built with."""
    stopwords = hashlib.sha256("\n".join(sorted(load_stopwords())).encode()).hexdigest()[:12]
    return {"analyzer": ANALYZER_VERSION, "stemmer": stemmer, "stopwords": stopwords}


def analyze(
    text: str, analyzer: Analyzer | None = None, mode: str = "query"
) -> list[tuple[str, int, int, int]]:
    """Terms of ``text`` as ``(term, position, start, end)``: for highlighting and tests."""
    analyzer = analyzer or french_analyzer()
    if isinstance(analyzer, WordCachedAnalyzer):
        return analyzer.spans(text, mode)
    return [
        (t.text, t.pos, t.startchar, t.endchar)
        for t in analyzer(text, positions=True, chars=True, mode=mode)
    ]


@lru_cache(maxsize=1)
def load_stopwords() -> frozenset[str]:
    """The packaged stopword list (see ``data/stopwords-fr.txt``), lowercase, accents kept."""
    text = resources.files("nato_search").joinpath("data/stopwords-fr.txt").read_text("utf-8")
    words = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return frozenset(unicodedata.normalize("NFKC", w).lower() for w in words if w)


# --- stemmers ------------------------------------------------------------
# "minimal" and "light" live in stemming.py and work on folded words;
# "snowball" is the Snowball French stemmer shipped with Whoosh, which reads
# accents, so it folds after stemming.


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
