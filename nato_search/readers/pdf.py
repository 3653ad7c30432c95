"""PDF files, read with pypdfium2 (PDFium, the engine of Chrome): one document whose
paragraphs are rebuilt from the placed characters, each with the page where it starts.

A PDF holds glyphs at positions, not paragraphs, so they are rebuilt:

* **Lines.** Characters in the page's order go on one line while their baseline
  stays within half a font size.
* **Paragraphs.** A line starts a new paragraph when the gap above it is clearly
  larger than the page's usual line spacing, when its font size changes (a heading),
  when it is indented after a line that ended a sentence (a first-line indent), or
  when the line before it ended a sentence well short of the right margin.
* **Headers and footers.** Among the two top and two bottom lines of each page, a line
  that comes back at the same edge (digits counted as one: ``Page 3`` is ``Page 4``) on
  at least two pages and at least half of them, and that a gap wider than the line
  spacing parts from the body, is left out; so is a bare page number there (``3``,
  ``- 3 -``, ``3/10``, ``Page 3``, ``page 3 sur 10``). With ``clean=False`` they stay.
* **Page breaks.** A page's first paragraph that starts in lowercase continues the
  previous page's last one when that did not end a sentence; it is joined, and counts
  from the page where it starts.
* **Hyphens at line ends.** Lines are joined with a space. A line ending in a hyphen
  after a letter is joined without a space; the hyphen is dropped (a word cut by
  hyphenation: ``démo-`` ``cratie`` → ``démocratie``) only when the next line starts in
  lowercase and the word is not a compound. The document decides first: the compound
  written whole elsewhere in it (``porte-avions``) keeps the hyphen, the word written
  whole (``démocratie``) drops it. Otherwise the hyphen is kept when the part before it
  is a word that starts compounds (``porte``, ``garde``, ``après``, ``contre``, ``sous``,
  ``non``…; not ``pré``, ``pro``, ``mi``, ``auto``, which mostly begin words cut by
  hyphenation: ``pré-sident``), when the part after it ends compounds (``ci``, ``là``,
  ``même``, ``être``, ``dessus``, ``vous``…) or has a hyphen of its own (``vis-`` ``à-vis``),
  or when a capitalized part goes on with a linking word (``Aix-`` ``en-Provence``,
  ``Île-`` ``de-France``); a capitalized word cut at a sentence start (``Démo-``
  ``cratie``) is joined.

The title is the file's Title property unless it is empty or a program's placeholder
(``Microsoft Word - note.docx``, ``untitled``), else a first line set clearly larger
than the rest of the first page (then not repeated as a paragraph), else the opening
sentence. The date is the CreationDate property, else ModDate.

PDFium is not thread-safe, so one lock serializes every reading in the process; each
PDFium object is closed when its reading ends, so a long-running service leaks nothing.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import re
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from nato_search.errors import CorpusError
from nato_search.readers.document import Document
from nato_search.readers.files import shown
from nato_search.readers.text import clean_line, short_title

if TYPE_CHECKING:
    from nato_search.readers.formats import ReadOptions

_LOCK = threading.Lock()


@dataclass
class Line:
    """A line of text as placed on its page (PDF points, y upwards from the bottom)."""

    text: str
    x0: float
    x1: float
    y: float
    """The bottom of the line's font box: the baseline less the font's descent."""
    size: float
    """The largest font size on the line."""


# --- reading with PDFium -------------------------------------------------

_PAGE_CHARS = {0x02: "-", 0xFFFE: "-", 0xFEFF: " ", 0: " "}
"""PDFium marks a hyphen that ends a line as U+0002 (U+FFFE in its text)."""
_LIGATURES = str.maketrans(
    {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
)


def read_pdf(path: Path, data: bytes, doc_id: str, options: ReadOptions) -> list[Document]:
    with _LOCK:
        pages, properties = _read_with_pdfium(path, data)
    document = lines_document(pages, properties, doc_id, chrome=not options.clean)
    if not document.paragraphs:
        raise CorpusError(f"{shown(path)}: no text: a scanned PDF? run OCR first, e.g. ocrmypdf")
    return [document]


def _read_with_pdfium(path: Path, data: bytes) -> tuple[list[list[Line]], dict[str, str]]:
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise CorpusError(
                f"{shown(path)}: encrypted; decrypt it first (e.g. qpdf --decrypt)"
            ) from None
        raise CorpusError(f"{shown(path)}: damaged, not a readable PDF ({exc})") from None
    try:
        properties: dict[str, str] = pdf.get_metadata_dict(skip_empty=True)
        pages = [_page_lines(pdf, number, path) for number in range(len(pdf))]
    finally:
        pdf.close()
    return pages, properties


def _page_lines(pdf: Any, number: int, path: Path) -> list[Line]:
    try:
        page = pdf[number]
    except pdfium.PdfiumError as exc:
        raise CorpusError(f"{shown(path)}: damaged page {number + 1} ({exc})") from None
    try:
        textpage = page.get_textpage()
        try:
            return _lines(textpage.raw)
        finally:
            textpage.close()
    except pdfium.PdfiumError as exc:
        raise CorpusError(f"{shown(path)}: damaged page {number + 1} ({exc})") from None
    finally:
        page.close()


_TOKEN = re.compile(r"[^\s-]+-*|-+")
"""A word up to its hyphens, or a run of hyphens: a line starts after a space or a hyphen."""


def _lines(textpage: Any) -> list[Line]:
    """The page's words, in its order, cut into lines where the baseline moves.

    The text comes in one call and the boxes one call a word (its first character,
    and a line's last one), the font size only where a line starts or the box's height
    changes: each call into PDFium costs more than the work it does.
    """
    text = _page_text(textpage)
    lines: list[Line] = []
    words: list[str] = []
    box, last = pdfium_c.FS_RECTF(), pdfium_c.FS_RECTF()
    box_ref = ctypes.byref(box)
    get_box, font_size = pdfium_c.FPDFText_GetLooseCharBox, pdfium_c.FPDFText_GetFontSize
    x0 = y = size = height = 0.0
    end = 0

    def close() -> None:
        line = clean_line("".join(words).translate(_LIGATURES))
        line = re.sub("\xad$", "-", line).replace("\xad", "")  # soft hyphens: shown at ends
        if line:
            get_box(textpage, end - 1, ctypes.byref(last))
            lines.append(Line(line, x0, last.right, y, size))
        words.clear()

    for match in _TOKEN.finditer(text):
        start = match.start()
        get_box(textpage, start, box_ref)
        if words and abs(box.bottom - y) > 0.5 * size:
            close()
        if not words:
            x0, y, height = box.left, box.bottom, box.top - box.bottom
            size = font_size(textpage, start) or height
        elif abs(box.top - box.bottom - height) > 0.05 * height:
            size = max(size, font_size(textpage, start) or box.top - box.bottom)
        words.append(f" {match[0]}" if start > end else match[0])
        end = match.end()
    close()
    return lines


def _page_text(textpage: Any) -> str:
    """The page's characters, one per index (PDFium's line-end hyphen as ``-``, the line
    breaks it makes up as spaces)."""
    count = pdfium_c.FPDFText_CountChars(textpage)
    buffer = ctypes.create_string_buffer((count + 1) * 2)
    written = pdfium_c.FPDFText_GetText(
        textpage, 0, count, ctypes.cast(buffer, ctypes.POINTER(ctypes.c_ushort))
    )
    text = buffer.raw[: max(written - 1, 0) * 2].decode("utf-16-le", "surrogatepass")
    if len(text) != count:  # a character beyond U+FFFF is two UTF-16 units but one index
        text = "".join(chr(pdfium_c.FPDFText_GetUnicode(textpage, i)) for i in range(count))
    return text.translate(_PAGE_CHARS)


# --- from lines to a document ----------------------------------------------


def lines_document(
    pages: list[list[Line]], properties: dict[str, str], doc_id: str, *, chrome: bool = False
) -> Document:
    """The document that pages of placed lines make (any extractor's lines will do);
    ``chrome=True`` keeps the running headers, footers and page numbers."""
    pages = pages if chrome else _without_chrome(pages)
    vocabulary = _vocabulary(pages)
    layout = _Layout.of(pages)
    paragraphs: list[list[Line]] = []
    starts: list[int] = []
    for number, lines in enumerate(pages, start=1):
        for index, block in enumerate(_blocks(lines, layout)):
            if index == 0 and paragraphs and _continues(paragraphs[-1], block):
                paragraphs[-1].extend(block)
            else:
                paragraphs.append(block)
                starts.append(number)
    heading = len(paragraphs) > 1 and _heading(paragraphs[0], pages[starts[0] - 1], pages)
    texts = [_joined(block, vocabulary) for block in paragraphs]
    title = _property_title(properties.get("Title", ""))
    if heading and (not title or title.casefold() == texts[0].casefold()):
        title = title or texts[0]
        texts, starts = texts[1:], starts[1:]
    elif title:  # the Title property set on the page too, under a running header say
        same = [i for i, text in enumerate(texts[:2]) if text.casefold() == title.casefold()]
        if same:
            del texts[same[0]], starts[same[0]]
    title = title or (short_title(texts[0]) if texts else doc_id)
    date = _pdf_date(properties.get("CreationDate")) or _pdf_date(properties.get("ModDate"))
    return Document(id=doc_id, title=title, date=date, paragraphs=texts, pages=starts)


_PAGE_NUMBER = re.compile(
    r"(?:page|p\.)?\s*[-–—(\[]?\s*\d{1,4}\s*[-–—)\]]?(?:\s*(?:/|sur|of)\s*\d{1,4})?", re.IGNORECASE
)
_EDGE_LINES = 2


def _without_chrome(pages: list[list[Line]]) -> list[list[Line]]:
    """Pages without their running headers, footers and page numbers.

    A line repeated at an edge is chrome only when a gap clearly wider than the line
    spacing parts it from the body: a template's opening words (``Article 3.``) are not.
    """
    layout = _Layout.of(pages)

    def edges(lines: list[Line]) -> list[tuple[str, Line, bool]]:
        """The lines at each edge, each with whether a wide gap parts it from the body."""
        top_down = sorted(lines, key=lambda line: -line.y)
        found = []
        for edge, ordered in (("top", top_down), ("bottom", top_down[::-1])):
            window = ordered[: _EDGE_LINES + 1]
            for index, line in enumerate(window[:_EDGE_LINES]):
                inward = zip(window[index:], window[index + 1 :], strict=False)
                apart = any(abs(a.y - b.y) > 1.5 * layout.spacing(b.size) for a, b in inward)
                found.append((edge, line, apart))
        return found

    def key(edge: str, line: Line) -> tuple[str, str]:
        return edge, re.sub(r"\d+", "#", line.text.casefold())

    seen = Counter(
        k for lines in pages for k in {key(e, line) for e, line, apart in edges(lines) if apart}
    )
    repeated = {k for k, count in seen.items() if count >= 2 and 2 * count >= len(pages)}
    kept: list[list[Line]] = []
    for lines in pages:
        chrome = {
            id(line)
            for edge, line, apart in edges(lines)
            if (apart and key(edge, line) in repeated) or _PAGE_NUMBER.fullmatch(line.text)
        }
        kept.append([line for line in lines if id(line) not in chrome])
    return kept


_SENTENCE_END = tuple('.!?…:»"”')


@dataclass(frozen=True)
class _Layout:
    """What the document's pages share: the usual line spacing of each font size, the margins."""

    spacings: dict[float, float]
    left: float
    right: float

    @classmethod
    def of(cls, pages: list[list[Line]]) -> _Layout:
        drops: dict[float, list[float]] = {}
        for lines in pages:
            for a, b in zip(lines, lines[1:], strict=False):
                if a.y > b.y and _same_size(a, b):
                    drops.setdefault(round(b.size), []).append(a.y - b.y)
        spacings = {size: sorted(d)[len(d) // 4] for size, d in drops.items()}  # the tighter
        lines = [line for page in pages for line in page]
        return cls(
            spacings,
            min((line.x0 for line in lines), default=0.0),
            max((line.x1 for line in lines), default=0.0),
        )

    def spacing(self, size: float) -> float:
        """Learnt from the document; within reason, for a size of few lines (a header)."""
        return min(self.spacings.get(round(size), 1.2 * size), 2.5 * size)


def _blocks(lines: list[Line], layout: _Layout) -> list[list[Line]]:
    """A page's lines in paragraphs (see the module's docstring for the signs)."""
    if not lines:
        return []
    short = layout.right - 0.12 * (layout.right - layout.left)
    blocks = [[lines[0]]]
    for before, line in zip(lines, lines[1:], strict=False):
        drop = before.y - line.y
        ended = before.text.endswith(_SENTENCE_END)
        new = (
            drop <= 0.3 * line.size  # the same line or above: a new column, a new block
            or not _same_size(before, line)
            or drop > layout.spacing(line.size) + 0.4 * line.size
            or (ended and line.x0 > before.x0 + 0.8 * line.size)
            or (ended and before.x1 < short)
        )
        if new:
            blocks.append([line])
        else:
            blocks[-1].append(line)
    return blocks


def _same_size(a: Line, b: Line) -> bool:
    return abs(a.size - b.size) <= 0.15 * max(a.size, b.size)


def _continues(paragraph: list[Line], block: list[Line]) -> bool:
    """Whether a page's first block goes on with the previous page's last paragraph."""
    before, after = paragraph[-1], block[0]
    return (
        not before.text.endswith(_SENTENCE_END)
        and after.text[:1].islower()
        and _same_size(before, after)  # not a footnote going on with the text
    )


def _heading(first: list[Line], page: list[Line], pages: list[list[Line]]) -> bool:
    """Whether the first paragraph is set clearly larger than the rest of its page (or of
    the document, for a title page)."""
    rest = [line.size for line in page if all(line is not h for h in first)] or [
        line.size for other in pages if other is not page for line in other
    ]
    return bool(rest) and min(line.size for line in first) >= 1.2 * max(rest)


# --- hyphens at line ends ----------------------------------------------------

_WORD = re.compile(r"\w+(?:-\w+)*")
_COMPOUND_FIRST = frozenset(
    """porte garde après avant arrière contre demi semi sous vice non grand grande sans
    quasi ex anti post néo bien haut basse belle beau petit petite outre chef état week
    libre nord sud ouest centre franco gréco afro euro social sociale""".split()
)
_COMPOUND_LAST = frozenset(
    """ci là même mêmes être dessus dessous dedans dehors delà deçà bas dire ce il ils
    elle elles on je tu nous vous moi toi t""".split()
)
_LINKING = frozenset("de du des en sur sous la le les et lès aux au".split())


def _vocabulary(pages: list[list[Line]]) -> frozenset[str]:
    """Every word (hyphenated ones whole) written on a line of the document, in lowercase."""
    return frozenset(
        w.casefold() for lines in pages for line in lines for w in _WORD.findall(line.text)
    )


def _joined(lines: list[Line], vocabulary: frozenset[str]) -> str:
    text = lines[0].text
    for line in lines[1:]:
        text = _join(text, line.text, vocabulary)
    return text


def _join(text: str, after: str, vocabulary: frozenset[str]) -> str:
    """Two lines as one: with a space, or across a hyphen (see the module's docstring)."""
    if not (text.endswith("-") and len(text) > 1 and text[-2].isalnum()):
        return f"{text} {after}"
    if not after[:1].islower() or not text[-2].isalpha():
        return text + after
    before = re.search(r"(\w+)-$", text)
    fragment = before[1] if before else ""
    next_word = _WORD.match(after)
    rest = next_word[0] if next_word else ""
    head = rest.split("-")[0]
    whole, compound = (fragment + head).casefold(), f"{fragment}-{rest}".casefold()
    if compound in vocabulary and whole not in vocabulary:
        return text + after
    if whole in vocabulary and compound not in vocabulary:
        return text[:-1] + after
    if fragment[:1].isupper():
        keep = head in _LINKING and "-" in rest or head in _COMPOUND_LAST
    else:
        keep = fragment.casefold() in _COMPOUND_FIRST or head in _COMPOUND_LAST or "-" in rest
    return text + after if keep else text[:-1] + after


# --- properties ------------------------------------------------------------

_JUNK_TITLE = re.compile(
    r"^(?:microsoft (?:word|powerpoint|excel)\b|untitled|sans titre|document\s*\d*$|titre\s*\d*$"
    r"|title$|diapositive \d|slide \d|présentation\d*$)"
    r"|\.(?:docx?|odt|rtf|pdf|txt|pptx?|xlsx?|indd|qxd|tex|dvi|ps|html?)$",
    re.IGNORECASE,
)


def _property_title(value: str) -> str:
    """The Title property, unless empty or a program's placeholder for one."""
    title = clean_line(value)
    return "" if not re.search(r"\w", title) or _JUNK_TITLE.search(title) else title


def _pdf_date(value: str | None) -> dt.date | None:
    """A PDF date (``D:20230712093000+02'00'``) as its calendar date, None if not one."""
    match = re.match(r"(?:D:)?(\d{4})(\d{2})?(\d{2})?", (value or "").strip())
    if not match:
        return None
    try:
        return dt.date(int(match[1]), int(match[2] or 1), int(match[3] or 1))
    except ValueError:
        return None
