"""Reading documents: scraped text pages, Markdown, and JSON Lines.

Scraped news pages carry site chrome, metadata bullets and image captions
around the article; this module keeps only the headline, the date and the
article's paragraphs, so that nothing else becomes searchable.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import stat
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nato_search.errors import CorpusError, CorpusWarning

TEXT_SUFFIXES = (".txt", ".md")
JSONL_SUFFIXES = (".jsonl", ".ndjson")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_surrogates(text: str) -> str:
    """``text`` with each lone surrogate as U+FFFD (a split pair is joined back first).

    Lone surrogates come from JSON escapes such as ``"\\ud83d"`` or from file names
    that are not UTF-8; no UTF-8 encoder takes them, so indexing or printing them fails.
    """
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


@dataclass
class Document:
    """One article: its paragraphs are the units that get indexed.

    Checked when made, so that a bad value fails here, naming the field, and not
    in a later search: ``id`` a non-empty string, ``title`` a string, ``date`` a
    ``datetime.date`` or None (a ``datetime`` is cut to its date), ``paragraphs``
    an iterable of strings (kept as a list; a lone string is refused, it would
    be one paragraph per character). An id with a lone surrogate (``"\\ud83d"``
    in JSON) is a ``ValueError``, since the index cannot store it; in the title
    and the paragraphs lone surrogates are replaced with U+FFFD, so that
    indexing and printing never fail on them.
    """

    id: str
    title: str
    date: dt.date | None = None
    paragraphs: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    """The app's own fields (a url, an author, tags): JSON values (str, number, bool, null,
    or a list of those), stored with every paragraph, for filters and facets."""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str):
            raise TypeError(f"Document id must be a str, not {type(self.id).__name__}")
        if not self.id:
            raise ValueError("Document id must not be empty")
        if match := _SURROGATE.search(self.id):
            raise ValueError(
                f"Document id {self.id!r} holds a lone surrogate (U+{ord(match.group()):04X}), "
                "which cannot be stored; give it a valid id"
            )
        if not isinstance(self.title, str):
            raise TypeError(
                f"Document {self.id!r}: title must be a str, not {type(self.title).__name__}"
            )
        self.title = _without_surrogates(self.title)
        if isinstance(self.date, dt.datetime):
            self.date = self.date.date()
        elif self.date is not None and not isinstance(self.date, dt.date):
            raise TypeError(
                f"Document {self.id!r}: date must be a datetime.date or None, "
                f"not {type(self.date).__name__}"
            )
        if isinstance(self.paragraphs, (str, bytes)) or not isinstance(self.paragraphs, Iterable):
            raise TypeError(
                f"Document {self.id!r}: paragraphs must be a list of str, "
                f"not {type(self.paragraphs).__name__}"
            )
        paragraphs = list(self.paragraphs)
        for number, paragraph in enumerate(paragraphs):
            if not isinstance(paragraph, str):
                raise TypeError(
                    f"Document {self.id!r}: paragraph {number} must be a str, "
                    f"not {type(paragraph).__name__}"
                )
        self.paragraphs = [_without_surrogates(p) for p in paragraphs]
        self.metadata = check_metadata(self.metadata, f"Document {self.id!r}")


RESERVED_KEYS = frozenset({"doc_id", "year", "month"})
"""Names that filters and facets give their own meaning; no metadata key may take them."""
MAX_METADATA_BYTES = 64 * 1024
"""A document's metadata as JSON (UTF-8) takes at most this: it is stored once per document
but returned with every hit, and each value is an exact term of every paragraph."""
_SCALARS = (str, int, float, bool, type(None))


def check_metadata(metadata: object, where: str) -> dict[str, Any]:
    """``metadata`` as a dict of JSON values, or a ``TypeError``/``ValueError`` naming the key."""
    if not isinstance(metadata, dict):
        raise TypeError(f"{where}: metadata must be a dict, not {type(metadata).__name__}")
    checked: dict[str, Any] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not key or "=" in key or _SURROGATE.search(key):
            raise ValueError(
                f"{where}: metadata key {key!r} must be a non-empty string without '='"
            )
        if key in RESERVED_KEYS:
            raise ValueError(f"{where}: metadata key {key!r} is reserved (doc_id, year, month)")
        items = value if isinstance(value, list) else [value]
        for item in items:
            if not isinstance(item, _SCALARS) or (
                isinstance(item, float) and not math.isfinite(item)
            ):
                raise TypeError(
                    f"{where}: metadata {key!r} must be a str, number, bool, null or a list "
                    f"of those, not {type(item).__name__} ({item!r:.60})"
                )
        if isinstance(value, str):
            value = _without_surrogates(value)
        elif isinstance(value, list):
            value = [_without_surrogates(v) if isinstance(v, str) else v for v in value]
        checked[key] = value
    size = len(json.dumps(checked, ensure_ascii=False).encode("utf-8", "replace"))
    if size > MAX_METADATA_BYTES:
        raise ValueError(
            f"{where}: metadata takes {size:,} bytes as JSON; at most {MAX_METADATA_BYTES:,} "
            "(keep large texts in paragraphs)"
        )
    return checked


# --- dates -------------------------------------------------------------

_MONTHS = {
    "janvier": 1,
    "janv": 1,
    "jan": 1,
    "january": 1,
    "fevrier": 2,
    "février": 2,
    "fevr": 2,
    "févr": 2,
    "fev": 2,
    "fév": 2,
    "feb": 2,
    "february": 2,
    "mars": 3,
    "mar": 3,
    "march": 3,
    "avril": 4,
    "avr": 4,
    "apr": 4,
    "april": 4,
    "mai": 5,
    "may": 5,
    "juin": 6,
    "jun": 6,
    "june": 6,
    "juillet": 7,
    "juil": 7,
    "jul": 7,
    "july": 7,
    "aout": 8,
    "août": 8,
    "aug": 8,
    "august": 8,
    "septembre": 9,
    "sept": 9,
    "sep": 9,
    "september": 9,
    "octobre": 10,
    "oct": 10,
    "october": 10,
    "novembre": 11,
    "nov": 11,
    "november": 11,
    "decembre": 12,
    "décembre": 12,
    "dec": 12,
    "déc": 12,
    "december": 12,
}
_WEEKDAYS = r"(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)"
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE = re.compile(
    rf"\b(?:{_WEEKDAYS}\s+)?(?P<day>\d{{1,2}})(?:er)?\s+(?P<month>{_MONTH_NAMES})\.?\s+(?P<year>\d{{4}})\b",
    re.IGNORECASE,
)


def find_date(text: str) -> dt.date | None:
    """The first real calendar date written out in ``text`` (``3 avril 2024``, ``29 Nov. 2023``)."""
    for match in _DATE.finditer(text):
        try:
            return dt.date(int(match["year"]), _MONTHS[match["month"].lower()], int(match["day"]))
        except ValueError:
            continue
    return None


# --- plain-text pages ----------------------------------------------------

_BULLET = re.compile(r"^[•·▪◦*-]\s*")
_LIST_NUMBER = re.compile(r"^\d{1,3}[.)]\s+")
_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+")
_SENTENCE_END = tuple('.!?…»:;"”)')
_SITE_SUFFIX = re.compile(r"\s+[–—|]\s+(?P<site>[^–—|]+)$")
_ENGLISH_WORDS = frozenset(
    "the of at and in on with for to from by is are was view meeting".split()
)
_FRENCH_WORDS = frozenset(
    "le la les de des du un une et à au aux en dans sur pour par est sont a ont".split()
)
_TITLE_MAX_CHARS = 90


def _clean(line: str) -> str:
    """Whitespace normalized: runs of spaces (non-breaking ones too) become one space."""
    return re.sub(r"\s+", " ", line).strip()


def _blocks(text: str) -> list[list[str]]:
    """Groups of consecutive non-blank lines; a line of only (non-breaking) spaces is blank."""
    blocks: list[list[str]] = [[]]
    for raw in text.splitlines():
        line = _clean(raw)
        if line:
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _join_wrapped(lines: list[str]) -> list[str]:
    """Each line is a paragraph, unless it was hard-wrapped mid-sentence."""
    paragraphs: list[str] = []
    for line in lines:
        if paragraphs and not paragraphs[-1].endswith(_SENTENCE_END) and line[:1].islower():
            paragraphs[-1] += " " + line
        else:
            paragraphs.append(line)
    return paragraphs


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs separated by blank lines, non-breaking-space lines or single newlines."""
    return [p for block in _blocks(text) for p in _join_wrapped(block)]


def _is_metadata(line: str) -> bool:
    return bool(_BULLET.match(line)) and (
        len(line) < 60 or "mis à jour" in line.lower() or find_date(line) is not None
    )


def _words(line: str) -> list[str]:
    return re.findall(r"\w+", line.lower())


def _is_english(line: str) -> bool:
    words = _words(line)
    return sum(w in _ENGLISH_WORDS for w in words) > sum(w in _FRENCH_WORDS for w in words)


def _is_fragment(line: str) -> bool:
    """Chrome, captions and section labels: a few words and no sentence punctuation."""
    return len(_words(line)) < 6 and not line.endswith(_SENTENCE_END)


def _looks_like_headline(line: str) -> bool:
    return 3 <= len(_words(line)) and len(line) <= 250 and not line.endswith(tuple(".!?…"))


def _strip_site_name(title: str) -> str:
    """``Headline – Site Name`` → ``Headline`` when the tail is a short site name."""
    match = _SITE_SUFFIX.search(title)
    if match and len(_words(match["site"])) <= 4 and match.start() > len(match["site"]):
        return title[: match.start()]
    return title


def short_title(paragraph: str, limit: int = _TITLE_MAX_CHARS) -> str:
    """A title made from an opening sentence: cut at a clause boundary, else at a word."""
    sentence = re.split(r"(?<=[.!?…])\s", paragraph, maxsplit=1)[0].rstrip(".")
    if len(sentence) <= limit:
        return sentence
    head = sentence[:limit]
    cut = max(head.rfind(","), head.rfind(";"), head.rfind(" ("))
    if cut >= 30:
        return head[:cut].rstrip()
    return head[: head.rfind(" ")].rstrip(" ,;:") + "…"


def plain_page(text: str, doc_id: str) -> Document:
    """A page taken as written: every paragraph kept (no chrome, caption or language filter);
    the first is the title when it reads like a headline, the first date written the date."""
    paragraphs = [_MARKDOWN_HEADING.sub("", p) for p in split_paragraphs(text)]
    title = doc_id
    if paragraphs and _looks_like_headline(paragraphs[0]):
        title = paragraphs.pop(0)
    elif paragraphs:
        title = short_title(paragraphs[0])
    date = next(filter(None, map(find_date, [title, *paragraphs])), None)
    return Document(id=doc_id, title=title, date=date, paragraphs=paragraphs)


def parse_page(text: str, doc_id: str) -> Document:
    """A scraped article page → Document (headline, date, paragraphs)."""
    title = None
    date = None
    paragraphs: list[str] = []
    for line in split_paragraphs(text):
        line = _MARKDOWN_HEADING.sub("", line)
        if _is_metadata(line):
            date = date or find_date(line)
            continue
        if title is None and not paragraphs and _looks_like_headline(line):
            title = _strip_site_name(line)
            continue
        if _is_fragment(line) or _is_english(line):
            continue
        paragraphs.append(_LIST_NUMBER.sub("", line))
    if title is None:
        title = short_title(paragraphs[0]) if paragraphs else doc_id
    date = date or find_date(title) or next(filter(None, map(find_date, paragraphs)), None)
    return Document(id=doc_id, title=title, date=date, paragraphs=paragraphs)


# --- files -------------------------------------------------------------


def _shown(path: Path) -> str:
    """``path`` for a message: bytes of a non-UTF-8 file name as ``\\xe9``, so printing never fails."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def read_bytes(path: Path) -> bytes:
    """A source file's bytes; an OS error is a CorpusError naming the file."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{_shown(path)}: cannot read it ({exc.strerror or exc})") from None


def _read_text(path: Path, data: bytes | None = None) -> str:
    data = read_bytes(path) if data is None else data
    if b"\x00" in data:
        raise CorpusError(f"{path}: a binary file (it holds NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{path}: not UTF-8 text (invalid byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "convert it to UTF-8, e.g. with `iconv -f latin1 -t utf-8`"
        ) from None


def _parse_date_field(value: object, where: str) -> dt.date | None:
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
    if match := _SURROGATE.search(value):
        raise CorpusError(
            f"{where}: 'id' holds a lone surrogate (\\u{ord(match.group()):04x}), "
            "half of a character that JSON escapes must give in pairs"
        )
    return value


_RECORD_FIELDS = frozenset({"id", "title", "date", "text", "paragraphs"})


def read_jsonl(path: Path, data: bytes | None = None) -> Iterator[Document]:
    """One JSON object a line: ``id``, ``title``, ``date``, and ``text`` or ``paragraphs``;
    every other key goes into the document's ``metadata``.

    ``id`` is a non-empty string, or an integer, which becomes its decimal string
    (``7`` → ``"7"``); null, booleans, floats, lists and objects are refused with the
    file and line, as is an id holding a lone surrogate (an unpaired ``\\ud83d``).
    """
    # Lines end at "\n" alone: JSON strings may hold U+2028, U+2029 and U+0085 raw (as
    # json.dumps(..., ensure_ascii=False) writes them), which str.splitlines() breaks on.
    for number, line in enumerate(_read_text(path, data).split("\n"), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        record = _json_record(line, where)
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
            paragraphs = [p for p in map(_clean, paragraphs_value) if p]
        elif paragraphs_value is not None:
            raise CorpusError(
                f"{where}: 'paragraphs' must be a list of strings, not {_json_kind(paragraphs_value)}"
            )
        elif text is not None:
            paragraphs = split_paragraphs(text)
        else:
            raise CorpusError(f"{where}: expected 'text' (a string) or 'paragraphs' (a list)")
        title = _clean(_text_field(record, "title", where) or "") or (
            short_title(paragraphs[0]) if paragraphs else doc_id
        )
        metadata = {k: v for k, v in record.items() if k not in _RECORD_FIELDS}
        try:
            document = Document(
                id=doc_id,
                title=title,
                date=_parse_date_field(record.get("date"), where),
                paragraphs=paragraphs,
                metadata=check_metadata(metadata, f"{where}: document {doc_id!r}"),
            )
        except (TypeError, ValueError) as exc:
            raise CorpusError(str(exc)) from None
        yield document


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


def read_file(
    path: Path, doc_id: str | None = None, *, data: bytes | None = None, clean: bool = True
) -> Iterator[Document]:
    """Documents in one file, by its suffix; from ``data`` when the caller already read it.
    ``clean=False`` keeps every paragraph of a text page (:func:`plain_page`)."""
    if path.suffix.lower() in JSONL_SUFFIXES:
        yield from read_jsonl(path, data)
        return
    text = _read_text(path, data)
    try:
        document = (parse_page if clean else plain_page)(text, doc_id or path.stem)
    except ValueError as exc:  # an id made from a file name that is not UTF-8
        raise CorpusError(f"{_shown(path)}: {exc} (rename the file to UTF-8)") from None
    yield document


def source_files(folder: Path) -> Iterator[tuple[Path, str]]:
    """The text and JSONL files under ``folder``, in name order, each with the document id it gets.

    Symbolic links to files are read. Symbolic links to folders are not followed
    (they could loop, or reach far outside the corpus): each is skipped with a
    :class:`CorpusWarning` naming it, and so is a broken link; name such a folder
    as a source of its own to index it. A subfolder that cannot be listed is a
    :class:`CorpusError` naming it, as is a file that cannot be read (when it is
    read), so that a build never silently misses documents.
    """
    stack = [_entries(folder)]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        path = Path(entry.path)
        try:
            is_link = entry.is_symlink()
            is_dir = entry.is_dir(follow_symlinks=False)
            mode = path.stat().st_mode if is_link else 0  # a link's target; unused otherwise
        except FileNotFoundError:  # a broken link (or a file deleted while walking)
            if is_link:
                warnings.warn(
                    f"{_shown(path)}: skipped, a broken symbolic link", CorpusWarning, stacklevel=2
                )
            continue
        except OSError as exc:
            raise CorpusError(f"{_shown(path)}: cannot read it ({exc.strerror or exc})") from None
        if is_dir:
            stack.append(_entries(path))
        elif is_link and stat.S_ISDIR(mode):
            warnings.warn(
                f"{_shown(path)}: skipped, a symbolic link to a folder "
                "(links to folders are not followed; name it as a source to index it)",
                CorpusWarning,
                stacklevel=2,
            )
        elif path.suffix.lower() in TEXT_SUFFIXES + JSONL_SUFFIXES and (
            stat.S_ISREG(mode) if is_link else entry.is_file(follow_symlinks=False)
        ):
            yield path, path.relative_to(folder).with_suffix("").as_posix()


def _entries(folder: Path) -> Iterator[os.DirEntry[str]]:
    """A folder's entries sorted by name: the order ``sorted(rglob)`` gave."""
    try:
        with os.scandir(folder) as entries:
            found = sorted(entries, key=lambda e: e.name)
    except OSError as exc:
        raise CorpusError(
            f"{_shown(folder)}: cannot list this folder ({exc.strerror or exc})"
        ) from None
    return iter(found)


Sources = Iterable[str | os.PathLike[str] | Document] | str | os.PathLike[str]
"""Files, folders (searched recursively), ready-made Documents, or one path."""


def read_documents(sources: Sources, *, clean: bool = True) -> Iterator[Document]:
    """Documents from files, folders (searched recursively) or ready-made Documents;
    ``clean=False`` keeps text pages as written (no scraped-page chrome filter)."""
    for _, documents in read_by_file(sources, clean=clean):
        yield from documents


def read_by_file(
    sources: Sources, *, clean: bool = True
) -> Iterator[tuple[Path | None, list[Document]]]:
    """Each source file with its documents (``None`` for a ready-made Document), in order."""
    for item in source_items(sources):
        if isinstance(item, Document):
            yield None, [item]
        else:
            yield item[0], list(read_file(*item, clean=clean))


def source_items(sources: Sources) -> Iterator[Document | tuple[Path, str | None]]:
    """Ready-made Documents as they are, and each source file with the id its folder gives
    it (None for a file named on its own), in order, without reading the files."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    for source in sources:
        if isinstance(source, Document):
            yield source
            continue
        if not isinstance(source, (str, os.PathLike)):
            raise TypeError(
                f"a source is a path or a Document, not {type(source).__name__} ({source!r:.60})"
            )
        if not os.fspath(source):
            # Path("") is the working folder: an unset $SRC would index everything below it.
            raise CorpusError("an empty path is not a source; name a file or folder")
        path = Path(source)
        try:
            mode = path.stat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            raise CorpusError(f"{_shown(path)}: no such file or folder") from None
        except OSError as exc:
            raise CorpusError(f"{_shown(path)}: cannot read it ({exc.strerror or exc})") from None
        if stat.S_ISDIR(mode):
            yield from source_files(path)
        elif stat.S_ISREG(mode):
            yield path, None
        else:
            raise CorpusError(f"{_shown(path)}: not a regular file or a folder")
