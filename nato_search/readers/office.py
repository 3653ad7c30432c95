"""Word (``.docx``) and LibreOffice (``.odt``) documents, read from their XML with the
standard library: both are zip archives of a body in XML and properties beside it.

Paragraphs come in reading order with their runs (spans) joined; each table cell is a
paragraph; headings are paragraphs of their own. The title is the paragraph in the
Title style, else the first heading (then not repeated), else the title in the file's
properties, else the opening sentence; the date is the properties' creation date.
Deleted tracked changes, field codes and notes are not read.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree

from nato_search.errors import CorpusError
from nato_search.readers.document import Document
from nato_search.readers.files import shown
from nato_search.readers.text import clean_line, short_title

if TYPE_CHECKING:
    from nato_search.readers.formats import ReadOptions

MAX_PART_BYTES = 64 * 1024 * 1024
"""A part of the archive inflates to at most this: a small file cannot fill the memory."""

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_DCTERMS = "{http://purl.org/dc/terms/}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_STYLE = "{urn:oasis:names:tc:opendocument:xmlns:style:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_META = "{urn:oasis:names:tc:opendocument:xmlns:meta:1.0}"


@dataclass
class _Body:
    """What a reading of the body collects, in order."""

    paragraphs: list[str] = field(default_factory=list)
    title: str | None = None
    first_heading: str | None = None

    def add(self, text: str, kind: str) -> None:
        text = clean_line(text)
        if not text:
            return
        if kind == "title" and self.title is None:
            self.title = text
            return
        if kind == "heading" and self.first_heading is None and not self.paragraphs:
            self.first_heading = text
            return
        self.paragraphs.append(text)

    def document(self, doc_id: str, properties_title: str | None, date: dt.date | None) -> Document:
        paragraphs = self.paragraphs
        title = self.title or self.first_heading
        if self.title and self.first_heading:  # the first heading is text after a title
            paragraphs = [self.first_heading, *paragraphs]
        title = (
            title
            or clean_line(properties_title or "")
            or (short_title(paragraphs[0]) if paragraphs else doc_id)
        )
        return Document(id=doc_id, title=title, date=date, paragraphs=paragraphs)


def read_docx(path: Path, data: bytes, doc_id: str, options: ReadOptions) -> list[Document]:
    with _archive(path, data, "DOCX") as archive:
        body = _part(archive, "word/document.xml", path)
        styles = _docx_styles(archive, path, body)
        core = _optional_part(archive, "docProps/core.xml", path)
    found = _Body()
    container = body.find(f"{_W}body")
    if container is not None:
        _docx_blocks(container, styles, found)
    title = _find_text(core, f"{_DC}title")
    date = _date(_find_text(core, f"{_DCTERMS}created") or _find_text(core, f"{_DCTERMS}modified"))
    return [found.document(doc_id, title, date)]


_BUILT_IN = re.compile(r"^(?:Title|Heading\d)$")


def _docx_styles(archive: zipfile.ZipFile, path: Path, body: ElementTree.Element) -> dict[str, str]:
    """The styles the body uses, by id, to their built-in names (``Titre1`` in a French
    Word is ``heading 1``). Word in English names them by their ids (``Heading1``): then
    the style sheet, often hundreds of kilobytes, is not parsed."""
    used = {style.get(f"{_W}val", "") for style in body.iter(f"{_W}pStyle")}
    if all(_BUILT_IN.match(style) for style in used):
        return {style: re.sub(r"(\d)$", r" \1", style).lower() for style in used}
    styles = _optional_part(archive, "word/styles.xml", path)
    names: dict[str, str] = {}
    if styles is not None:
        for style in styles.iter(f"{_W}style"):
            name = style.find(f"{_W}name")
            if name is not None:
                names[style.get(f"{_W}styleId", "")] = name.get(f"{_W}val", "").lower()
    return names


def _docx_blocks(element: ElementTree.Element, styles: dict[str, str], found: _Body) -> None:
    for child in element:
        if child.tag == f"{_W}p":
            style = child.find(f"{_W}pPr/{_W}pStyle")
            name = styles.get(style.get(f"{_W}val", ""), "") if style is not None else ""
            kind = "title" if name == "title" else "heading" if name.startswith("heading") else ""
            found.add(_docx_text(child), kind)
        elif child.tag == f"{_W}tbl":
            for cell in child.iter(f"{_W}tc"):
                found.add(" ".join(_docx_text(p) for p in cell.iter(f"{_W}p")), "")
        elif child.tag in (f"{_W}sdt", f"{_W}sdtContent", f"{_W}customXml"):
            _docx_blocks(child, styles, found)


def _docx_text(paragraph: ElementTree.Element) -> str:
    """A paragraph's runs joined: text, tabs and breaks as spaces; deleted text, field
    codes and the text of nested tables' paragraphs left to their own reading."""
    parts: list[str] = []
    for node in paragraph.iter():
        if node.tag == f"{_W}t" and node.text:
            parts.append(node.text)
        elif node.tag in (f"{_W}tab", f"{_W}br", f"{_W}cr"):
            parts.append(" ")
    return "".join(parts)


def read_odt(path: Path, data: bytes, doc_id: str, options: ReadOptions) -> list[Document]:
    with _archive(path, data, "ODT") as archive:
        content = _part(archive, "content.xml", path)
        meta = _optional_part(archive, "meta.xml", path)
        styles = _optional_part(archive, "styles.xml", path)
    parents = _odt_parent_styles(content, styles)
    found = _Body()
    text = content.find(f"{_OFFICE}body/{_OFFICE}text")
    if text is not None:
        _odt_blocks(text, parents, found)
    title = _find_text(meta, f"{_OFFICE}meta/{_DC}title")
    date = _date(
        _find_text(meta, f"{_OFFICE}meta/{_META}creation-date")
        or _find_text(meta, f"{_OFFICE}meta/{_DC}date")
    )
    return [found.document(doc_id, title, date)]


def _odt_parent_styles(*parts: ElementTree.Element | None) -> dict[str, str]:
    """Each paragraph style to the style it derives from (``P1`` → ``Title``)."""
    parents: dict[str, str] = {}
    for part in parts:
        if part is not None:
            for style in part.iter(f"{_STYLE}style"):
                parent = style.get(f"{_STYLE}parent-style-name")
                if parent:
                    parents[style.get(f"{_STYLE}name", "")] = parent
    return parents


def _odt_is_title(style: str, parents: dict[str, str]) -> bool:
    for _ in range(8):  # a chain of derived styles, never a loop
        if style == "Title":
            return True
        if style not in parents:
            return False
        style = parents[style]
    return False


def _odt_blocks(element: ElementTree.Element, parents: dict[str, str], found: _Body) -> None:
    for child in element:
        if child.tag == f"{_TEXT}h":
            found.add(_odt_text(child), "heading")
        elif child.tag == f"{_TEXT}p":
            title = _odt_is_title(child.get(f"{_TEXT}style-name", ""), parents)
            found.add(_odt_text(child), "title" if title else "")
        elif child.tag == f"{_TABLE}table":
            for cell in child.iter(f"{_TABLE}table-cell"):
                found.add(" ".join(_odt_text(p) for p in cell.iter(f"{_TEXT}p")), "")
        elif child.tag in (f"{_TEXT}list", f"{_TEXT}list-item", f"{_TEXT}section"):
            _odt_blocks(child, parents, found)


def _odt_text(element: ElementTree.Element) -> str:
    """Text with its spans, ``<text:s text:c="3"/>`` spaces, tabs and line breaks; notes out."""
    parts: list[str] = [element.text or ""]
    for child in element:
        if child.tag == f"{_TEXT}s":
            parts.append(" " * int(child.get(f"{_TEXT}c", "1") or 1))
        elif child.tag in (f"{_TEXT}tab", f"{_TEXT}line-break"):
            parts.append(" ")
        elif child.tag != f"{_TEXT}note":
            parts.append(_odt_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _archive(path: Path, data: bytes, kind: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(BytesIO(data))
    except zipfile.BadZipFile:
        hint = " (an encrypted file, or an old .doc?)" if data[:4] == b"\xd0\xcf\x11\xe0" else ""
        raise CorpusError(f"{shown(path)}: not a {kind} file, damaged{hint}") from None


def _part(archive: zipfile.ZipFile, name: str, path: Path) -> ElementTree.Element:
    part = _optional_part(archive, name, path)
    if part is None:
        raise CorpusError(f"{shown(path)}: damaged, it has no {name}")
    return part


def _optional_part(archive: zipfile.ZipFile, name: str, path: Path) -> ElementTree.Element | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_PART_BYTES:
        raise CorpusError(
            f"{shown(path)}: {name} inflates to {info.file_size:,} bytes, over "
            f"{MAX_PART_BYTES:,}; not read"
        )
    try:
        return ElementTree.fromstring(archive.read(info))
    except (zipfile.BadZipFile, OSError, EOFError, ElementTree.ParseError) as exc:
        raise CorpusError(f"{shown(path)}: damaged {name} ({exc})") from None


def _find_text(element: ElementTree.Element | None, tag: str) -> str | None:
    if element is None:
        return None
    found = element.find(tag) if "/" in tag else next(element.iter(tag), None)
    return (found.text or "").strip() or None if found is not None else None


def _date(value: str | None) -> dt.date | None:
    """An ISO date and time from the properties (``2023-07-12T09:30:00Z``), None if absent
    or not one: a wrong date in a file's properties does not stop its text being read."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
