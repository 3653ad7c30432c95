"""Reading documents: scraped text pages, Markdown, and JSON Lines.

Scraped news pages carry site chrome, metadata bullets and image captions
around the article; this module keeps only the headline, the date and the
article's paragraphs, so that nothing else becomes searchable.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

TEXT_SUFFIXES = (".txt", ".md")
JSONL_SUFFIXES = (".jsonl", ".ndjson")


class CorpusError(ValueError):
    """A source file that cannot be read as documents; the message names the file."""


@dataclass
class Document:
    """One article: its paragraphs are the units that get indexed."""

    id: str
    title: str
    date: dt.date | None = None
    paragraphs: list[str] = field(default_factory=list)


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


def _read_text(path: Path, data: bytes | None = None) -> str:
    data = path.read_bytes() if data is None else data
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
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise CorpusError(f"{where}: date {value!r} is not an ISO date (YYYY-MM-DD)") from None


def read_jsonl(path: Path, data: bytes | None = None) -> Iterator[Document]:
    """One JSON object a line: ``id``, ``title``, ``date``, and ``text`` or ``paragraphs``."""
    for number, line in enumerate(_read_text(path, data).splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{where}: invalid JSON ({exc.msg})") from None
        if not isinstance(record, dict) or "id" not in record:
            raise CorpusError(f"{where}: expected an object with an 'id'")
        if isinstance(record.get("paragraphs"), list):
            paragraphs = [_clean(str(p)) for p in record["paragraphs"]]
            paragraphs = [p for p in paragraphs if p]
        elif isinstance(record.get("text"), str):
            paragraphs = split_paragraphs(record["text"])
        else:
            raise CorpusError(f"{where}: expected 'text' (a string) or 'paragraphs' (a list)")
        title = _clean(str(record.get("title") or "")) or (
            short_title(paragraphs[0]) if paragraphs else str(record["id"])
        )
        yield Document(
            id=str(record["id"]),
            title=title,
            date=_parse_date_field(record.get("date"), where),
            paragraphs=paragraphs,
        )


def read_file(
    path: Path, doc_id: str | None = None, *, data: bytes | None = None
) -> Iterator[Document]:
    """Documents in one file, by its suffix; from ``data`` when the caller already read it."""
    if path.suffix.lower() in JSONL_SUFFIXES:
        yield from read_jsonl(path, data)
    else:
        yield parse_page(_read_text(path, data), doc_id or path.stem)


def source_files(folder: Path) -> Iterator[tuple[Path, str]]:
    """The readable files under ``folder``, each with the document id it gets."""
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix.lower() in TEXT_SUFFIXES + JSONL_SUFFIXES:
            yield path, path.relative_to(folder).with_suffix("").as_posix()


Sources = Iterable[str | os.PathLike | Document] | str | os.PathLike
"""Files, folders (searched recursively), ready-made Documents, or one path."""


def read_documents(sources: Sources) -> Iterator[Document]:
    """Documents from files, folders (searched recursively) or ready-made Documents."""
    for _, documents in read_by_file(sources):
        yield from documents


def read_by_file(sources: Sources) -> Iterator[tuple[Path | None, list[Document]]]:
    """Each source file with its documents (``None`` for a ready-made Document), in order."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    for source in sources:
        if isinstance(source, Document):
            yield None, [source]
            continue
        path = Path(source)
        if path.is_dir():
            for file, doc_id in source_files(path):
                yield file, list(read_file(file, doc_id))
        elif path.is_file():
            yield path, list(read_file(path))
        else:
            raise CorpusError(f"{path}: no such file or folder")
