"""The query language, parsed into an engine-neutral tree of analyzed terms.

Syntax: plain words, ``"exact phrase"``, ``-word`` / ``-"phrase"`` / ``-( … )``
to exclude, ``OR`` between alternatives, ``( … )`` to group, and ``date:2024``,
``date:2024-06``, ``date:2023-11..2024-06`` (open ends allowed: ``date:2024..``).
Stray quotes, brackets and operators never make a query fail, they only
separate words. A ``date:`` word that is not a real period (``date:2024-02-30``,
``date:2024..2023``, ``date:demain``) is a ``ValueError`` saying what is wrong:
read as text, it would silently give unfiltered hits.

Exclusions follow Lucene's classic query parser: a ``-clause`` always excludes,
from the group it stands in (the whole query, or its brackets), whatever ``OR``
stands beside it. So ``otan OR -russie`` is ``otan -russie``, and
``otan (ukraine -russie)`` finds ``otan`` anywhere but ``ukraine`` only without
``russie`` (:attr:`AllOf.exclude`). A group with nothing but exclusions,
``(-russie)``, hands them to the group around it; a group that is the query's
only positive clause hands them to :attr:`Query.exclude`, which removes the
same paragraphs.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

MAX_TERMS = 64
"""Terms kept from one query; words past this are ignored, so a pasted page still answers fast."""
MAX_WORDS = 1000
"""Words and phrases analyzed from one query, stopwords and empty quotes included; later ones
are ignored like words past MAX_TERMS, so a million stopwords cost what a page of text does."""
MAX_LEXEMES = 20_000
"""Words, phrases, brackets, ``OR``s and date filters read from one query (some 100 ms of
parsing); the rest of a longer query is ignored, date filters included."""
MAX_DEPTH = 16
"""Brackets nested deeper than this are read as plain separators."""

_LEXEME = re.compile(
    r"""(?P<phrase>-?"[^"]*"?)
      | (?P<open>-?\()
      | (?P<close>\))
      | (?P<date>date:[^\s()"]+)
      | (?P<number>-?\d{1,3}(?:[ \u00a0\u202f\u2009]\d{3})+(?=[\s()"]|$))
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
    """A parenthesized group: every clause in it must match, and no ``exclude`` clause."""

    clauses: tuple[Clause, ...]
    exclude: tuple[Clause, ...] = ()


@dataclass(frozen=True)
class Variants:
    """One typed word or phrase in several forms (synonyms, corrections, name keys); the best counts."""

    clauses: tuple[Clause, ...]


Clause = Terms | AnyOf | AllOf | Variants


@dataclass(frozen=True)
class DateRange:
    """The days from ``start`` to ``end``, both included; none if ``start`` comes after ``end``."""

    start: dt.date
    end: dt.date


@dataclass
class Query:
    """``include`` clauses rank paragraphs matching all of them first, then those matching some."""

    text: str
    include: list[Clause] = field(default_factory=list)
    exclude: list[Clause] = field(default_factory=list)
    dates: list[DateRange] = field(default_factory=list)
    """At most one range: several ``date:`` filters are parsed into their overlap."""

    def terms(self) -> Iterator[Terms]:
        """Every positive word or phrase, for highlighting (no excluded one, at any depth)."""
        stack = list(self.include)
        while stack:
            clause = stack.pop()
            if isinstance(clause, Terms):
                yield clause
            else:
                stack.extend(clause.clauses)


Analyze = Callable[[str], list[str]]


DATE_SYNTAX = "date:YYYY[-MM[-DD]][..YYYY[-MM[-DD]]]"
_MONTH_NAMES = (
    "January February March April May June July August September October November December"
).split()


def date_range(value: str) -> DateRange:
    """``2024``, ``2024-06``, ``2024-06-13`` or ``A..B`` (an end may be left open) → the days it covers.

    A ``ValueError`` says what is wrong: the form, a month or day that does not
    exist, or a range that ends before it starts.
    """
    start_text, dots, end_text = value.partition("..")
    if not dots:
        end_text = start_text
    if not (start_text or end_text):
        raise ValueError(f"expected {DATE_SYNTAX}")
    start = _date_bound(start_text, first=True) if start_text else dt.date.min
    end = _date_bound(end_text, first=False) if end_text else dt.date.max
    if start > end:
        raise ValueError("the range ends before it starts")
    return DateRange(start, end)


def parse_date_range(value: str) -> DateRange | None:
    """Like :func:`date_range`, but None for anything that is not a real period."""
    try:
        return date_range(value)
    except ValueError:
        return None


def _date_bound(text: str, first: bool) -> dt.date:
    match = _DATE_PART.match(text)
    if not match:
        raise ValueError(f"expected {DATE_SYNTAX}")
    year = int(match[1])
    month, day = (int(g) if g else None for g in match.groups()[1:])
    if year < dt.MINYEAR:
        raise ValueError(f"there is no year {match[1]}")
    if month is None:
        return dt.date(year, 1, 1) if first else dt.date(year, 12, 31)
    if not 1 <= month <= 12:
        raise ValueError(f"there is no month {month}")
    last = calendar.monthrange(year, month)[1]
    if day is None:
        return dt.date(year, month, 1 if first else last)
    if not 1 <= day <= last:
        raise ValueError(f"{_MONTH_NAMES[month - 1]} {year} has no day {day}")
    return dt.date(year, month, day)


class _Parser:
    def __init__(self, text: str, analyze: Analyze):
        lexemes = itertools.islice(_LEXEME.finditer(text), MAX_LEXEMES)
        self.lexemes = [(m.lastgroup, m.group()) for m in lexemes]
        self.i = 0
        self.analyze = analyze
        self.budget = MAX_TERMS
        self.words_left = MAX_WORDS
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
            clause = self.alternatives(exclude)
            if clause is not None:
                include.append(clause)
        return include, exclude

    def alternatives(self, exclude: list[Clause]) -> Clause | None:
        """``a OR b OR …``; a negated alternative joins ``exclude``, not the alternatives."""
        options = [self.atom(exclude)]
        while self._at_or() and self.i + 1 < len(self.lexemes):
            self.i += 1
            options.append(self.atom(exclude))
        kept = [option for option in options if option is not None]
        if len(kept) > 1:
            return AnyOf(tuple(kept))
        return kept[0] if kept else None

    def _at_or(self) -> bool:
        kind, value = self.peek()
        return kind == "word" and value == "OR"

    def atom(self, exclude: list[Clause]) -> Clause | None:
        """One word, phrase or group; if negated, it goes to ``exclude`` and None is returned."""
        kind, value = self.peek()
        self.i += 1
        if kind == "date":
            try:
                period = date_range(value[5:])
            except ValueError as exc:
                raise ValueError(f"{value}: {exc}") from None
            # Every filter applies, so one range, their overlap, stands for them all.
            if self.dates:
                period = DateRange(
                    max(period.start, self.dates[0].start), min(period.end, self.dates[0].end)
                )
            self.dates = [period]
            return None
        negated = value.startswith("-") and len(value) > 1
        if negated:
            value = value[1:]
        clause: Clause | None
        if kind == "open":
            if self.depth >= MAX_DEPTH:
                return None
            self.depth += 1
            include, excluded = self.sequence(nested=True)
            self.depth -= 1
            if not include:  # only exclusions: they apply to the enclosing group
                exclude.extend(excluded)
                return None
            clause = AllOf(tuple(include), tuple(excluded))
        elif kind == "phrase":
            clause = self.words(value.strip('"'))
        elif value == "OR":
            return None
        else:
            clause = self.words(value)
        if negated:
            if clause is not None:
                exclude.append(clause)
            return None
        return clause

    def words(self, text: str) -> Terms | None:
        if self.budget <= 0 or self.words_left <= 0:
            return None
        self.words_left -= 1
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
    if len(include) == 1 and isinstance(include[0], AllOf) and include[0].exclude:
        # Every hit must match this group, so its exclusions may as well apply to all.
        exclude = [*exclude, *include[0].exclude]
        include = [AllOf(include[0].clauses)]
    return Query(text=text, include=include, exclude=exclude, dates=parser.dates)
