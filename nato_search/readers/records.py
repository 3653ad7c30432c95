"""Records: JSON Lines, JSON arrays, and the rule that makes any record (a CSV row too)
a :class:`~nato_search.Document`."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nato_search.errors import CorpusError
from nato_search.readers.document import SURROGATE, Document, check_metadata
from nato_search.readers.files import shown, utf8_text
from nato_search.readers.text import clean_line, short_title, split_paragraphs

if TYPE_CHECKING:
    from nato_search.readers.formats import ReadOptions


def parse_date_field(value: object, where: str) -> dt.date | None:
    """An ISO date (``2024-06-13``), or a date and time (``2024-06-13T10:30:00+02:00``)
    taken as its date; null or empty for none. Anything else is refused, trailing
    text included: ``2024-01-01 garbage`` is not a date."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
        try:
            return dt.datetime.fromisoformat(value).date()
        except ValueError:
            pass
    raise CorpusError(
        f"{where}: date {value!r:.60} is not an ISO date (YYYY-MM-DD, or a date and time)"
    )


def _shown_json(value: object) -> str:
    """A JSON value for a message: its JSON, cut short."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:59] + "…"


def _text_field(record: dict[str, Any], name: str, where: str) -> str | None:
    """A record's string field, None when absent or null; any other type is refused."""
    value = record.get(name)
    if value is None or isinstance(value, str):
        return value
    raise CorpusError(
        f"{where}: {name!r} must be a string, not {_json_kind(value)} ({_shown_json(value)})"
    )


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _jsonl_id(value: object, where: str) -> str:
    """A record's id: a non-empty string, or a whole number written as digits (``7`` → ``"7"``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        kind = "null" if value is None else type(value).__name__
        raise CorpusError(
            f"{where}: 'id' must be a string or a whole number, not {kind} ({json.dumps(value)})"
        )
    if not value:
        raise CorpusError(f"{where}: 'id' is an empty string")
    if match := SURROGATE.search(value):
        raise CorpusError(
            f"{where}: 'id' holds a lone surrogate (\\u{ord(match.group()):04x}), "
            "half of a character that JSON escapes must give in pairs"
        )
    return value


RECORD_FIELDS = frozenset({"id", "title", "date", "text", "paragraphs"})


def record_document(record: dict[str, Any], where: str) -> Document:
    """A record (a JSON object, a CSV row): ``id``, ``title``, ``date``, and ``text`` or
    ``paragraphs``; every other key goes into the document's ``metadata``.

    ``id`` is a non-empty string, or an integer, which becomes its decimal string
    (``7`` → ``"7"``); null, booleans, floats, lists and objects are refused with
    ``where`` (the file and line), as is an id holding a lone surrogate (an unpaired
    ``\\ud83d``).
    """
    if "id" not in record:
        raise CorpusError(f"{where}: expected an 'id'")
    doc_id = _jsonl_id(record["id"], where)
    paragraphs_value = record.get("paragraphs")
    text = _text_field(record, "text", where)
    if isinstance(paragraphs_value, list):
        for n, paragraph in enumerate(paragraphs_value):
            if not isinstance(paragraph, str):
                raise CorpusError(
                    f"{where}: paragraph {n} must be a string, not {_json_kind(paragraph)} "
                    f"({_shown_json(paragraph)})"
                )
        paragraphs = [p for p in map(clean_line, paragraphs_value) if p]
    elif paragraphs_value is not None:
        raise CorpusError(
            f"{where}: 'paragraphs' must be a list of strings, not {_json_kind(paragraphs_value)}"
        )
    elif text is not None:
        paragraphs = split_paragraphs(text)
    else:
        raise CorpusError(f"{where}: expected 'text' (a string) or 'paragraphs' (a list)")
    title = clean_line(_text_field(record, "title", where) or "") or (
        short_title(paragraphs[0]) if paragraphs else doc_id
    )
    metadata = {k: v for k, v in record.items() if k not in RECORD_FIELDS}
    try:
        return Document(
            id=doc_id,
            title=title,
            date=parse_date_field(record.get("date"), where),
            paragraphs=paragraphs,
            metadata=check_metadata(metadata, f"{where}: document {doc_id!r}"),
        )
    except (TypeError, ValueError) as exc:
        raise CorpusError(str(exc)) from None


def read_jsonl(path: Path, data: bytes, doc_id: str, options: ReadOptions) -> Iterator[Document]:
    """One JSON object a line (:func:`record_document`); errors name the file and line."""
    # Lines end at "\n" alone: JSON strings may hold U+2028, U+2029 and U+0085 raw (as
    # json.dumps(..., ensure_ascii=False) writes them), which str.splitlines() breaks on.
    for number, line in enumerate(utf8_text(path, data).split("\n"), 1):
        if not line.strip():
            continue
        where = f"{shown(path)}:{number}"
        yield record_document(_json_record(line, where), where)


def read_json(path: Path, data: bytes, doc_id: str, options: ReadOptions) -> Iterator[Document]:
    """A JSON array of the objects JSON Lines holds (or one such object); errors name the
    file and the line where the record starts."""
    text = utf8_text(path, data)
    decoder = json.JSONDecoder()
    position = _skip_space(text, 0)
    if text.startswith("{", position):
        where = f"{shown(path)}:{_line_of(text, position)}"
        yield record_document(_json_record(text, where), where)
        return
    if not text.startswith("[", position):
        raise CorpusError(
            f"{shown(path)}:{_line_of(text, position)}: expected a JSON array of objects "
            "(or one object), each with an 'id'"
        )
    position = _skip_space(text, position + 1)
    number = 0
    while not text.startswith("]", position):
        if number and not text.startswith(",", position):
            raise CorpusError(f"{shown(path)}:{_line_of(text, position)}: expected ',' or ']'")
        if number:
            position = _skip_space(text, position + 1)
        where = f"{shown(path)}:{_line_of(text, position)}"
        try:
            record, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise CorpusError(
                f"{shown(path)}:{exc.lineno}: invalid JSON ({exc.msg}, column {exc.colno})"
            ) from None
        except (RecursionError, ValueError):
            raise CorpusError(
                f"{where}: invalid JSON (nested too deeply, or a huge number)"
            ) from None
        if not isinstance(record, dict):
            raise CorpusError(f"{where}: expected an object with an 'id', not {_json_kind(record)}")
        yield record_document(record, where)
        number += 1
        position = _skip_space(text, position)
        if position >= len(text):
            raise CorpusError(f"{shown(path)}:{_line_of(text, position)}: the array is not closed")
    if _skip_space(text, position + 1) < len(text):
        raise CorpusError(f"{shown(path)}:{_line_of(text, position + 1)}: text after the array")


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _json_record(line: str, where: str) -> dict[str, Any]:
    """One line's JSON object; whatever JSON refuses is a CorpusError naming the line."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{where}: invalid JSON ({exc.msg}, column {exc.colno})") from None
    except RecursionError:
        raise CorpusError(f"{where}: invalid JSON (nested too deeply)") from None
    except ValueError as exc:  # a number of more digits than Python converts, say
        raise CorpusError(f"{where}: invalid JSON ({exc})") from None
    if not isinstance(record, dict) or "id" not in record:
        raise CorpusError(f"{where}: expected an object with an 'id'")
    return record
