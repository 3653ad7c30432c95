"""Words with their character offsets in the original text: elided and hyphenated forms kept
whole for the filters (``l’OTAN``, ``Saint-Pétersbourg``), groups of three digits one
number (``13 000``), format characters (soft hyphens, zero-width joiners) inside a word."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from whoosh.analysis import Token, Tokenizer

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


_WHOLE = re.compile(r"(?s).*")


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
