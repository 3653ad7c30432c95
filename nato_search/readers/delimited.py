"""Spreadsheets as CSV or TSV: one document a row, its columns the record's fields.

A header row names the columns: ``id``, ``title``, ``date``, ``text`` (or ``paragraphs``,
separated by blank lines) are the document's; every other non-empty cell is metadata.
French exports come in UTF-8, UTF-8 with a byte-order mark, or Windows-1252, and
Excel writes ``;`` where others write ``,``: both are found from the file itself.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nato_search.errors import CorpusError
from nato_search.readers.document import Document
from nato_search.readers.files import guessed_text, shown
from nato_search.readers.records import RECORD_FIELDS, record_document

if TYPE_CHECKING:
    from nato_search.readers.formats import ReadOptions

_DELIMITERS = ",;\t|"


def check_columns(columns: Mapping[str, str]) -> dict[str, str]:
    """``columns`` (record field → column name) checked: a bad one names the field."""
    if not isinstance(columns, Mapping):
        raise TypeError(
            f"columns must be a mapping of field to column, not {type(columns).__name__}"
        )
    checked: dict[str, str] = {}
    for name, column in columns.items():
        if name not in RECORD_FIELDS:
            raise ValueError(
                f"columns: {name!r} is not a record field (one of {', '.join(sorted(RECORD_FIELDS))})"
            )
        if not isinstance(column, str) or not column:
            raise ValueError(f"columns: the column for {name!r} must be a non-empty name")
        checked[name] = column
    return checked


def parse_columns(text: str) -> dict[str, str]:
    """``text=body,id=ref`` (the CLI's ``--csv-columns``) as a mapping."""
    pairs = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, equals, column = item.partition("=")
        if not equals:
            raise ValueError(f"expected FIELD=COLUMN, got {item!r}")
        pairs[name.strip()] = column.strip()
    return check_columns(pairs)


def read_delimited(
    path: Path, data: bytes, doc_id: str, options: ReadOptions
) -> Iterator[Document]:
    """Each row a document; without an ``id`` column, a row's id is ``FILE-ID:ROW``
    (``contacts:3`` for the third row of ``contacts.csv``)."""
    text, _ = guessed_text(path, data)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else _delimiter(text)
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    _, header = _next_row(rows, path)
    if header is None:
        return
    header = [name.strip() for name in header]
    _check_header(path, header)
    renamed = {column: name for name, column in options.columns.items()}
    missing = [c for c in options.columns.values() if c not in header]
    if missing:
        raise CorpusError(
            f"{shown(path)}:1: no column {missing[0]!r} (the header has: {', '.join(header)})"
        )
    fields = [renamed.get(column, column) for column in header]
    for name in RECORD_FIELDS:
        if fields.count(name) > 1:
            raise CorpusError(f"{shown(path)}:1: two columns give the field {name!r}")
    if "text" not in fields and "paragraphs" not in fields:
        raise CorpusError(
            f"{shown(path)}:1: no 'text' or 'paragraphs' column (the header has: "
            f"{', '.join(header)}); name the text column with --csv-columns text=COLUMN"
        )
    number = 0
    while True:
        line, row = _next_row(rows, path)
        if row is None:
            return
        if not any(cell.strip() for cell in row):
            continue
        number += 1
        where = f"{shown(path)}:{line}"
        if len(row) > len(fields):
            raise CorpusError(f"{where}: {len(row)} cells for {len(fields)} columns")
        record: dict[str, Any] = {f: v for f, v in zip(fields, row, strict=False) if v.strip()}
        if "paragraphs" in record:
            record["paragraphs"] = record["paragraphs"].replace("\r\n", "\n").split("\n\n")
        record.setdefault("id", f"{doc_id}:{number}")
        yield record_document(record, where)


def _next_row(rows: Any, path: Path) -> tuple[int, list[str] | None]:
    """The line where the next row starts, and the row (None at the end)."""
    line = rows.line_num + 1
    try:
        return line, next(rows, None)
    except csv.Error as exc:
        raise CorpusError(f"{shown(path)}:{line}: {exc}") from None


def _delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters=_DELIMITERS).delimiter
    except csv.Error:  # one column, or too little to tell
        return ","


def _check_header(path: Path, header: list[str]) -> None:
    seen: set[str] = set()
    for number, name in enumerate(header, 1):
        if not name:
            raise CorpusError(f"{shown(path)}:1: column {number} has no name")
        if name in seen:
            raise CorpusError(f"{shown(path)}:1: two columns are named {name!r}")
        seen.add(name)
