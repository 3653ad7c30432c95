"""The query language, parsed into an engine-neutral tree of analyzed terms.

Syntax: plain words, ``"exact phrase"``, ``-word`` / ``-"phrase"`` / ``-( … )``
to exclude, ``OR`` between alternatives, ``( … )`` to group, and ``date:2024``,
``date:2024-06``, ``date:2023-11..2024-06`` (open ends allowed: ``date:2024..``).
``title:otan``, ``title:"sommet de vilnius"``, ``title:(otan OR alliance)`` scope words
to the document's title, ``text:`` to the paragraph (a bare word looks in both); a
metadata key (``source:AFP``, ``-source:AFP``, ``tags:(défense OR ukraine)``,
``source:"Agence France-Presse"``) filters like ``source = AFP`` in a filter
expression, exactly. A word with a colon whose name is none of these (``12:30``,
``http://…``, ``foo:bar``) is read as before, as words.
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
from collections.abc import Callable, Collection, Iterator
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
    forms that query expansion adds. ``scope`` (``"title"`` or ``"text"``) keeps the
    words' paragraphs where they stand in that part of the ``words`` field; they score
    as the same words unscoped.
    """

    text: str
    terms: tuple[str, ...]
    field: str = "words"
    weight: float = 1.0
    scope: str = ""


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

SCOPES = ("title", "text")
"""The parts of a paragraph's words a query word can be scoped to (``title:otan``)."""


@dataclass(frozen=True)
class FieldFilter:
    """``source:AFP`` (``values`` one) or ``tags:(a OR b)`` (any of them), as written;
    ``negated`` for ``-source:AFP``. ``position`` is where it starts in the query."""

    field: str
    values: tuple[str, ...]
    negated: bool
    position: int


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
    filters: list[FieldFilter] = field(default_factory=list)
    """Metadata fields in the query (``source:AFP``): every one holds."""

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


_FIELD_WHERE = (
    "{}: a metadata field filters the whole query, so it stands outside OR and negated "
    "brackets; write alternatives as key:(a OR b), an exclusion as -key:value"
)
_FIELD = re.compile(r"(-?)([^\W\d][\w.-]*):(.*)", re.DOTALL)
"""``name:rest`` at the start of a word lexeme (``-`` before: negated)."""


class _Parser:
    def __init__(self, text: str, analyze: Analyze, keys: Collection[str]):
        found = list(itertools.islice(_LEXEME.finditer(text), MAX_LEXEMES))
        self.lexemes = [(m.lastgroup, m.group()) for m in found]
        self.starts = [m.start() for m in found]
        self.ends = [m.end() for m in found]
        self.i = 0
        self.analyze = analyze
        self.keys = keys
        self.scope = ""
        self.filters: list[FieldFilter] = []
        self.negated = 0
        """Negated brackets around the clause being read (``-( … )``)."""
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
        fields = len(self.filters)
        options = [self.atom(exclude)]
        while self._at_or() and self.i + 1 < len(self.lexemes):
            self.i += 1
            options.append(self.atom(exclude))
        if len(options) > 1 and len(self.filters) > fields:
            raise ValueError(_FIELD_WHERE.format(self.filters[fields].field))
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
        if kind == "word" and ":" in value and (field := self.field(value)) is not None:
            return self.fielded(exclude, *field)
        negated = value.startswith("-") and len(value) > 1
        if negated:
            value = value[1:]
        clause: Clause | None
        if kind == "open":
            if self.depth >= MAX_DEPTH:
                return None
            self.depth += 1
            self.negated += negated
            include, excluded = self.sequence(nested=True)
            self.negated -= negated
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

    def field(self, value: str) -> tuple[bool, str, str] | None:
        """``(negated, name, rest)`` for a word that names a scope or a key (``title:``,
        ``source:AFP``); a bare ``name:`` only when a phrase or bracket follows it at once.
        None: the word is read as words."""
        match = _FIELD.fullmatch(value)
        if not match or (self.scope and match[2] in SCOPES):
            return None
        negated, name, rest = bool(match[1]), match[2], match[3]
        if name not in SCOPES and name not in self.keys:
            return None
        if rest == "-" or (rest.startswith("-") and name in SCOPES):  # title:-x is -title:x
            negated, rest = not negated, rest[1:]  # (a key's value -5 stays -5)
        if not rest:  # name:"…" or name:( … ), the quote or bracket right after the colon
            kind, _ = self.peek()
            if kind not in ("phrase", "open") or self.starts[self.i] != self.ends[self.i - 1]:
                return None
        return negated, name, rest

    def fielded(self, exclude: list[Clause], negated: bool, name: str, rest: str) -> Clause | None:
        """``title:…`` as its words scoped; ``source:…`` as a filter (None returned)."""
        if name not in SCOPES:
            if self.negated:
                raise ValueError(_FIELD_WHERE.format(name))
            position = self.starts[self.i - 1]
            values = [rest] if rest else self.values()
            if values:
                self.filters.append(FieldFilter(name, tuple(values), negated, position))
            return None
        self.scope = name
        clause: Clause | None
        try:
            if rest:
                clause = self.words(rest)
            else:
                clause = self.atom(exclude)
        finally:
            self.scope = ""
        if negated:
            if clause is not None:
                exclude.append(clause)
            return None
        return clause

    def values(self) -> list[str]:
        """The value after ``source:``: a phrase's text, or a bracket's values (``OR``
        between them; quoted ones whole)."""
        kind, value = self.peek()
        self.i += 1
        if kind == "phrase":
            text = value.strip('"')
            return [text] if text else []
        found: list[str] = []
        while self.i < len(self.lexemes):
            kind, value = self.peek()
            self.i += 1
            if kind == "close":
                break
            if kind == "phrase":
                value = value.strip('"')
            if value and value != "OR" and kind != "open":
                found.append(value)
        return found

    def words(self, text: str) -> Terms | None:
        if self.budget <= 0 or self.words_left <= 0:
            return None
        self.words_left -= 1
        terms = tuple(self.analyze(text))[: self.budget]
        self.budget -= len(terms)
        return Terms(text, terms, scope=self.scope) if terms else None


def parse(text: str, analyze: Analyze, keys: Collection[str] = ()) -> Query:
    """Parse a user query; ``analyze`` turns text into index terms (the index's own
    analyzer); ``keys`` are the metadata fields a query may filter on (``source:AFP``)."""
    if not isinstance(text, str):
        raise TypeError(f"query must be a string, not {type(text).__name__}")
    if not text.strip():
        raise ValueError("empty query: type one or more words to search for")
    parser = _Parser(text, analyze, keys)
    include, exclude = parser.sequence(nested=False)
    if len(include) == 1 and isinstance(include[0], AllOf) and include[0].exclude:
        # Every hit must match this group, so its exclusions may as well apply to all.
        exclude = [*exclude, *include[0].exclude]
        include = [AllOf(include[0].clauses)]
    return Query(text, include, exclude, parser.dates, parser.filters)
