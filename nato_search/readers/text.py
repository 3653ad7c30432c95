"""Plain-text pages (``.txt``): paragraphs, a headline and a date from text as people
write it, and, for scraped news pages, the article without the site's chrome.

Also the date and title rules every reader shares (:func:`find_date`, :func:`short_title`).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING

from nato_search.readers.document import Document
from nato_search.readers.files import utf8_text

if TYPE_CHECKING:
    from nato_search.readers.formats import ReadOptions

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


def clean_line(line: str) -> str:
    """Whitespace normalized: runs of spaces (non-breaking ones too) become one space."""
    return re.sub(r"\s+", " ", line).strip()


def _blocks(text: str) -> list[list[str]]:
    """Groups of consecutive non-blank lines; a line of only (non-breaking) spaces is blank."""
    blocks: list[list[str]] = [[]]
    for raw in text.splitlines():
        line = clean_line(raw)
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


_DATELINE = re.compile(
    r"^(?:publi[ée]e?|mise? à jour|modifi[ée]e?|actualis[ée]e?|posted|updated)\b[^.]{0,40}$",
    re.IGNORECASE,
)
"""``Publié le 12 juillet 2023 à 14h05``: a line that dates the page, not a sentence of it."""


def is_dateline(line: str) -> bool:
    return bool(_DATELINE.match(line)) and find_date(line) is not None


def _is_metadata(line: str) -> bool:
    if is_dateline(line):
        return True
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
    heading = None  # a short line right above the page's dateline: the title if no headline
    candidate = None
    date = None
    paragraphs: list[str] = []
    for line in split_paragraphs(text):
        line = _MARKDOWN_HEADING.sub("", line)
        if _is_metadata(line):
            if is_dateline(line) and candidate:
                heading = heading or candidate
            date = date or find_date(line)
            continue
        candidate = None
        if title is None and not paragraphs and _looks_like_headline(line):
            title = _strip_site_name(line)
            continue
        if _is_fragment(line) or _is_english(line):
            if title is None and not paragraphs and len(_words(line)) >= 2:
                candidate = line
            continue
        paragraphs.append(_LIST_NUMBER.sub("", line))
    if title is None:
        title = heading or (short_title(paragraphs[0]) if paragraphs else doc_id)
    date = date or find_date(title) or next(filter(None, map(find_date, paragraphs)), None)
    return Document(id=doc_id, title=title, date=date, paragraphs=paragraphs)


def read_text_page(path: Path, data: bytes, doc_id: str, options: ReadOptions) -> list[Document]:
    """A ``.txt`` file: one document, the article of a scraped page (:func:`parse_page`),
    or, with ``clean=False``, every paragraph as written (:func:`plain_page`)."""
    text = utf8_text(path, data)
    return [(parse_page if options.clean else plain_page)(text, doc_id)]
