"""French analysis: the tokenizer (:mod:`.tokenizer`) and a chain of one-job filters
(:mod:`.filters`, :mod:`.names`), run once per distinct word by :class:`WordCachedAnalyzer`.

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
import threading
from collections.abc import Callable, Collection, Iterator
from typing import Any

from whoosh.analysis import Filter, LowercaseFilter, Token
from whoosh.analysis.analyzers import Analyzer

from nato_search.text.filters import (
    DEFAULT_STEMMER,
    CompoundFilter,
    ElisionFilter,
    FoldFilter,
    NormalizeFilter,
    StemFilter,
    StopFilter,
    WordItem,
    load_stopwords,
)
from nato_search.text.tokenizer import (
    FIELD_BREAK,
    FrenchTokenizer,
    _split_words,
    word_pattern,
)

ANALYZER_VERSION = 6
"""Bumped whenever terms change, so older indexes ask for a rebuild (3: Savoy's light rules;
4: accented words are stopwords only as listed, so né, sûr and dû are indexed; 5: numbers
in groups of three digits are one term, 13 000 = 13.000 = 13000; 6: format characters
inside a word are dropped, muni\u00adtions = munitions, and elles is a stopword)."""


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
