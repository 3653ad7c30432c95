"""The query language, parsed into an engine-neutral tree of analyzed terms.

Syntax: plain words, ``"exact phrase"``, ``-word`` / ``-"phrase"`` to exclude,
``OR`` between alternatives, ``( … )`` to group, and ``date:2024``,
``date:2024-06``, ``date:2023-11..2024-06`` (open ends allowed: ``date:2024..``).
Anything else is text: stray quotes, brackets and operators never make a
query fail, they only separate words.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

MAX_TERMS = 64
"""Terms kept from one query; words past this are ignored, so a pasted page still answers fast."""
MAX_DEPTH = 16
"""Brackets nested deeper than this are read as plain separators."""

_LEXEME = re.compile(
    r"""(?P<phrase>-?"[^"]*"?)
      | (?P<open>-?\()
      | (?P<close>\))
      | (?P<date>date:[^\s()"]+)
      | (?P<word>[^\s()"]+)""",
    re.VERBOSE | re.IGNORECASE,
)
_DATE_PART = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$")


@dataclass(frozen=True)
class Terms:
    """A word or phrase as typed, and its analyzed terms; several terms must stand together.

    ``field`` is ``"words"`` (the text and title) or ``"names"`` (transliteration
    keys of proper names); ``weight`` scales the score, below 1 for the looser
    forms that query expansion adds.
    """

    text: str
    terms: tuple[str, ...]
    field: str = "words"
    weight: float = 1.0


@dataclass(frozen=True)
class AnyOf:
    """Alternatives joined with ``OR``."""

    clauses: tuple[Clause, ...]


@dataclass(frozen=True)
class AllOf:
    """A parenthesized group: every clause in it must match."""

    clauses: tuple[Clause, ...]


@dataclass(frozen=True)
class Variants:
    """One typed word or phrase in several forms (synonyms, corrections, name keys); the best counts."""

    clauses: tuple[Clause, ...]


Clause = Terms | AnyOf | AllOf | Variants


@dataclass(frozen=True)
class DateRange:
    start: dt.date
    end: dt.date


@dataclass
class Query:
    """``include`` clauses rank paragraphs matching all of them first, then those matching some."""

    text: str
    include: list[Clause] = field(default_factory=list)
    exclude: list[Clause] = field(default_factory=list)
    dates: list[DateRange] = field(default_factory=list)

    def terms(self) -> Iterator[Terms]:
        """Every positive word or phrase, for highlighting."""
        stack = list(self.include)
        while stack:
            clause = stack.pop()
            if isinstance(clause, Terms):
                yield clause
            else:
                stack.extend(clause.clauses)


@dataclass(frozen=True)
class Plan:
    """What every engine runs for a query, so that they all rank alike.

    Paragraphs matching any ``query.include`` clause, scored by BM25 over them;
    with ``all_words_first``, those matching every clause come first. Each
    ``near`` pair standing side by side adds ``near_weight`` of a phrase match.
    ``query.exclude`` clauses remove paragraphs, ``query.dates`` restrict them.
    """

    query: Query
    near: tuple[tuple[str, str], ...] = ()
    all_words_first: bool = True
    near_weight: float = 0.3


Analyze = Callable[[str], list[str]]


def parse_date_range(value: str) -> DateRange | None:
    """``2024``, ``2024-06``, ``2024-06-13`` or ``A..B`` → the days it covers; None if malformed."""
    start_text, dots, end_text = value.partition("..")
    if not dots:
        end_text = start_text
    if not (start_text or end_text):
        return None
    start = _date_bound(start_text, first=True) if start_text else dt.date.min
    end = _date_bound(end_text, first=False) if end_text else dt.date.max
    if start is None or end is None or start > end:
        return None
    return DateRange(start, end)


def _date_bound(text: str, first: bool) -> dt.date | None:
    match = _DATE_PART.match(text)
    if not match:
        return None
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        if month is None:
            return dt.date(year, 1, 1) if first else dt.date(year, 12, 31)
        if day is None:
            last = calendar.monthrange(year, month)[1]
            return dt.date(year, month, 1 if first else last)
        return dt.date(year, month, day)
    except ValueError:
        return None


class _Parser:
    def __init__(self, text: str, analyze: Analyze):
        self.lexemes = [(m.lastgroup, m.group()) for m in _LEXEME.finditer(text)]
        self.i = 0
        self.analyze = analyze
        self.budget = MAX_TERMS
        self.depth = 0
        self.dates: list[DateRange] = []

    def peek(self) -> tuple[str | None, str]:
        return self.lexemes[self.i] if self.i < len(self.lexemes) else (None, "")

    def sequence(self, nested: bool) -> tuple[list[Clause], list[Clause]]:
        """Clauses up to the end (or the closing bracket): (included, excluded)."""
        include: list[Clause] = []
        exclude: list[Clause] = []
        while self.i < len(self.lexemes):
            kind, _ = self.peek()
            if kind == "close":
                self.i += 1
                if nested:
                    break
                continue
            negated, clause = self.alternatives()
            if clause is not None:
                (exclude if negated else include).append(clause)
        return include, exclude

    def alternatives(self) -> tuple[bool, Clause | None]:
        negated, first = self.atom()
        options = [first] if first is not None else []
        while self._at_or() and self.i + 1 < len(self.lexemes):
            self.i += 1
            _, option = self.atom()
            if option is not None:
                options.append(option)
        if len(options) > 1:
            return negated, AnyOf(tuple(options))
        return negated, (options[0] if options else None)

    def _at_or(self) -> bool:
        kind, value = self.peek()
        return kind == "word" and value == "OR"

    def atom(self) -> tuple[bool, Clause | None]:
        kind, value = self.peek()
        self.i += 1
        if kind == "date":
            date_range = parse_date_range(value[5:])
            if date_range is not None:
                self.dates.append(date_range)
                return False, None
            return False, self.words(value)
        negated = value.startswith("-") and len(value) > 1
        if negated:
            value = value[1:]
        if kind == "open":
            if self.depth >= MAX_DEPTH:
                return False, None
            self.depth += 1
            include, _ = self.sequence(nested=True)
            self.depth -= 1
            return negated, (AllOf(tuple(include)) if include else None)
        if kind == "phrase":
            return negated, self.words(value.strip('"'))
        if value == "OR":
            return False, None
        return negated, self.words(value)

    def words(self, text: str) -> Terms | None:
        if self.budget <= 0:
            return None
        terms = tuple(self.analyze(text))[: self.budget]
        self.budget -= len(terms)
        return Terms(text, terms) if terms else None


def parse(text: str, analyze: Analyze) -> Query:
    """Parse a user query; ``analyze`` turns text into index terms (the index's own analyzer)."""
    if not isinstance(text, str):
        raise TypeError(f"query must be a string, not {type(text).__name__}")
    if not text.strip():
        raise ValueError("empty query: type one or more words to search for")
    parser = _Parser(text, analyze)
    include, exclude = parser.sequence(nested=False)
    return Query(text=text, include=include, exclude=exclude, dates=parser.dates)
