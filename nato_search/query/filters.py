"""Filter expressions in Meilisearch's syntax (``source = AFP AND pages >= 10``), parsed
into a tree, then resolved against an index's fields into exact leaves that every engine
evaluates alike: :class:`Terms` (``keys`` terms), :class:`Range` (a number comparison),
:class:`Has` (any value of a key) and :class:`Days` (a range of paragraph days), under
:class:`And`, :class:`Or` and :class:`Not`.

Resolution is where the index is needed: an unknown field is an error naming the known ones.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, TypeAlias

from nato_search.errors import OptionError
from nato_search.query.plan import NUMBER, value_text


@dataclass(frozen=True)
class Terms:
    """Paragraphs holding one of the exact values of ``key`` (no values: none)."""

    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Range:
    """Paragraphs holding a number value of ``key`` that ``op`` (``>``, ``>=``, ``<``,
    ``<=``) ``bound``: left to the engine, which compares its own column of numbers
    rather than listing every value that qualifies."""

    key: str
    op: str
    bound: Decimal

    def holds(self, value: str) -> bool:
        """Whether the value (as the index holds it) is a number that compares so."""
        return bool(NUMBER.fullmatch(value)) and _COMPARE[self.op](Decimal(value), self.bound)

    def values(self, held: Iterable[str]) -> tuple[str, ...]:
        """Those of ``held`` that compare so (for an engine that filters by terms)."""
        return tuple(value for value in held if self.holds(value))


@dataclass(frozen=True)
class Has:
    """Paragraphs holding any value of ``key`` (``EXISTS``)."""

    key: str


@dataclass(frozen=True)
class Days:
    """Dated paragraphs whose day (``YYYYMMDD`` as a number) lies in ``low..high``."""

    low: int
    high: int


@dataclass(frozen=True)
class And:
    parts: tuple[Filter, ...]
    """Every part holds (none: every paragraph)."""


@dataclass(frozen=True)
class Or:
    parts: tuple[Filter, ...]
    """One part holds (none: no paragraph)."""


@dataclass(frozen=True)
class Not:
    part: Filter


@dataclass(frozen=True)
class Condition:
    """One comparison as written, before resolution: ``op`` is ``=``, ``>``, ``>=``, ``<``,
    ``<=``, ``IN`` or ``EXISTS`` (``!=``, ``NOT IN``, ``NOT EXISTS`` are a :class:`Not`)."""

    field: str
    op: str
    values: tuple[str, ...]
    position: int


Filter: TypeAlias = Terms | Range | Has | Days | And | Or | Not | Condition
"""A filter tree: as parsed, of :class:`Condition` leaves; resolved, what an engine evaluates
(``Page.filter``), of :class:`Terms`, :class:`Range`, :class:`Has` and :class:`Days` leaves."""


@dataclass(frozen=True)
class Expression:
    """A parsed filter: conditions under ``And``/``Or``/``Not`` nodes."""

    tree: Filter


class Fields(Protocol):
    """What resolution asks of an index (the engines' snapshots meet it)."""

    def key_names(self) -> list[str]:
        """The metadata keys some live paragraph holds."""
        ...

    def key_values(self, key: str) -> list[str]:
        """The distinct values of ``key`` live paragraphs hold."""
        ...


BUILT_IN = ("date", "doc_id", "year")
"""Fields every index has; a metadata key of one of these names is shadowed."""

OPERATORS = ("=", "!=", ">", ">=", "<", "<=")
KEYWORDS = ("and", "or", "not", "in", "exists")
MAX_DEPTH = 64
"""Parentheses and NOTs nested deeper are refused (the parser recurses on them)."""
_LAST_DAY = 99991231

_TOKEN = re.compile(
    r"""\s*(?:(?P<op>!=|>=|<=|=|>|<)|(?P<punct>[()\[\],])|(?P<quoted>(?P<q>['"])(?:\\.|(?!(?P=q)).)*(?P=q))|(?P<bare>[^\s=!<>()\[\],'"]+)|(?P<bad>\S))""",
    re.DOTALL,
)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_YEAR = re.compile(r"\d{1,4}")


def shown(text: str) -> str:
    """A name or value in a message: its repr, cut to 60 characters."""
    found = repr(text)
    return found if len(found) <= 60 else found[:59] + "…"


def quote(value: str) -> str:
    """``value`` as a quoted expression value (for the CLI's and HTTP's older forms)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class _Token:
    kind: str  # op, punct, quoted, bare, end
    text: str
    position: int  # 1-based

    def word(self, *words: str) -> bool:
        return self.kind == "bare" and self.text.lower() in words


def _tokens(text: str) -> list[_Token]:
    found: list[_Token] = []
    at = 0
    while True:
        match = _TOKEN.match(text, at)
        if match is None:
            return [*found, _Token("end", "", len(text) + 1)]
        kind = next(k for k in ("op", "punct", "quoted", "bare", "bad") if match[k] is not None)
        start = match.start(kind) + 1
        if kind == "bad":
            problem = "an unclosed quote" if match[kind] in "'\"" else f"unexpected {match[kind]!r}"
            raise _error(f"{problem} at position {start}")
        token = match[kind]
        if kind == "quoted":
            token = re.sub(r"\\(.)", r"\1", token[1:-1], flags=re.DOTALL)
        found.append(_Token(kind, token, start))
        at = match.end()


def _error(message: str) -> OptionError:
    return OptionError("filter", f"filter: {message}")


def parse(text: str) -> Expression:
    """The tree of a filter expression; a syntax error is an :class:`OptionError` naming
    its position (1-based)."""
    if not isinstance(text, str):
        raise _error(f"an expression is a str, not {type(text).__name__}")
    parser = _Parser(_tokens(text))
    if parser.peek().kind == "end":
        raise _error("empty expression")
    tree = parser.any_of(0)
    if (left := parser.peek()).kind != "end":
        raise _error(f"unexpected {shown(left.text)} at position {left.position}")
    return Expression(tree)


class _Parser:
    def __init__(self, tokens: list[_Token]):
        self.tokens = tokens
        self.at = 0

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        self.at += 1
        return self.tokens[self.at - 1]

    def any_of(self, depth: int) -> Filter:
        parts = [self.all_of(depth)]
        while self.peek().word("or"):
            self.take()
            parts.append(self.all_of(depth))
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def all_of(self, depth: int) -> Filter:
        parts = [self.unary(depth)]
        while self.peek().word("and"):
            self.take()
            parts.append(self.unary(depth))
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def unary(self, depth: int) -> Filter:
        token = self.peek()
        if depth > MAX_DEPTH:
            raise _error(f"nested deeper than {MAX_DEPTH} at position {token.position}")
        if token.word("not"):
            self.take()
            return Not(self.unary(depth + 1))
        if token.kind == "punct" and token.text == "(":
            self.take()
            inside = self.any_of(depth + 1)
            self.expect(")", "to close the '('", token)
            return inside
        if token.kind == "quoted" or (token.kind == "bare" and not token.word(*KEYWORDS)):
            return self.condition(self.take())
        raise _error(f"expected a field at position {token.position}{_found(token)}")

    def condition(self, field: _Token) -> Condition | Not:
        token = self.take()
        name = field.text
        if token.kind == "op":
            value = self.value(f"after {token.text!r}")
            found = Condition(
                name, "=" if token.text == "!=" else token.text, (value,), field.position
            )
            return Not(found) if token.text == "!=" else found
        negated = token.word("not")
        if negated:
            token = self.take()
        if token.word("exists"):
            found = Condition(name, "EXISTS", (), field.position)
        elif token.word("in"):
            self.expect("[", "after IN", token)
            values: list[str] = []
            if not self.punct("]"):
                values.append(self.value("in the list"))
                while self.punct(","):
                    values.append(self.value("after ','"))
                self.expect("]", "to close the list", token)
            found = Condition(name, "IN", tuple(values), field.position)
        else:
            wanted = "IN or EXISTS" if negated else "an operator (=, !=, >, >=, <, <=, IN, EXISTS)"
            raise _error(
                f"expected {wanted} after {shown(name)} at position {token.position}"
                + _found(token)
            )
        return Not(found) if negated else found

    def value(self, where: str) -> str:
        token = self.peek()
        if token.kind not in ("bare", "quoted"):
            raise _error(f"expected a value {where} at position {token.position}{_found(token)}")
        return self.take().text

    def punct(self, text: str) -> bool:
        if self.peek().kind == "punct" and self.peek().text == text:
            self.take()
            return True
        return False

    def expect(self, text: str, why: str, opened: _Token) -> None:
        if not self.punct(text):
            token = self.peek()
            raise _error(
                f"expected {text!r} {why} (position {opened.position}) at position "
                f"{token.position}{_found(token)}"
            )


def _found(token: _Token) -> str:
    return " (the end)" if token.kind == "end" else f", found {shown(token.text)}"


_VALUES = (str, int, float, bool)


def from_mapping(filter: Mapping[str, Any]) -> Expression:
    """The dict form (``{key: value or [values]}``: every key, one of its values) as the
    expression it means (``key IN [values] AND …``)."""
    conditions: list[Filter] = []
    for key, value in filter.items():
        if not isinstance(key, str) or not key:
            raise _error(f"keys are field names, not {key!r:.60}")
        values = list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]
        for item in values:
            if not isinstance(item, _VALUES):
                raise _error(f"{shown(key)}: values are str, numbers or bools, not {item!r:.60}")
        texts = tuple(dict.fromkeys(value_text(v) for v in values))
        conditions.append(Condition(key, "IN", texts, 0))
    return Expression(conditions[0] if len(conditions) == 1 else And(tuple(conditions)))


def resolve(expression: Expression, fields: Fields) -> Filter:
    """The exact filter an engine runs; an unknown field or a value the field cannot
    compare is an :class:`OptionError`."""
    names: list[str] = []

    def known(name: str) -> bool:
        if name in BUILT_IN:
            return True
        if not names:
            names.extend(fields.key_names())
        return name in names

    def walk(node: Filter) -> Filter:
        if isinstance(node, And):
            return And(tuple(walk(p) for p in node.parts))
        if isinstance(node, Or):
            return Or(tuple(walk(p) for p in node.parts))
        if isinstance(node, Not):
            return Not(walk(node.part))
        assert isinstance(node, Condition)
        if not known(node.field):
            raise _error(
                f"unknown field {shown(node.field)}{_where(node)}; "
                f"known fields: {listed([*BUILT_IN, *names])}"
            )
        return _condition(node)

    return walk(expression.tree)


def listed(names: Iterable[str], most: int = 20) -> str:
    """Names for a message, sorted, each shown safely; past ``most``, how many more."""
    found = sorted(set(names))
    more = f" and {len(found) - most} more" if len(found) > most else ""
    return ", ".join(shown(n) for n in found[:most]) + more


def _where(node: Condition) -> str:
    return f" at position {node.position}" if node.position else ""


def _condition(node: Condition) -> Filter:
    field, op = node.field, node.op
    if field in ("date", "year"):
        if op == "EXISTS":
            return Days(1, _LAST_DAY)
        spans = [_span(field, value, node) for value in node.values]
        if op == "IN":
            return Or(tuple(Days(low, high) for low, high in spans))
        (low, high), last = spans[0], _LAST_DAY
        bounds = {"=": (low, high), ">": (high + 1, last), ">=": (low, last)}
        bounds |= {"<": (1, low - 1), "<=": (1, high)}
        return Days(*bounds[op])
    if op == "EXISTS":
        return And(()) if field == "doc_id" else Has(field)
    if op in ("=", "IN"):
        return Terms(field, node.values)
    bound = node.values[0]
    if field == "doc_id":
        raise _error(f"doc_id compares with =, !=, IN, not {op}{_where(node)}")
    if not NUMBER.fullmatch(bound):
        raise _error(f"{shown(field)} {op} needs a number, not {shown(bound)}{_where(node)}")
    return Range(field, op, Decimal(bound))


_COMPARE: dict[str, Callable[[Decimal, Decimal], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def _span(field: str, value: str, node: Condition) -> tuple[int, int]:
    """The first and last day a ``date`` or ``year`` value covers, as ``YYYYMMDD`` numbers."""
    if field == "year":
        if not _YEAR.fullmatch(value) or int(value) < 1:
            raise _error(f"year is a number from 1 to 9999, not {shown(value)}{_where(node)}")
        return int(value) * 10000 + 101, int(value) * 10000 + 1231
    try:
        day = dt.date.fromisoformat(value) if _DAY.fullmatch(value) else None
    except ValueError:
        day = None
    if day is None:
        raise _error(f"date is a day, YYYY-MM-DD, not {shown(value)}{_where(node)}")
    number = day.year * 10000 + day.month * 100 + day.day
    return number, number
