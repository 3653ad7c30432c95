"""Markdown (``.md``): the text a reader of the rendered page sees, parsed as CommonMark
(markdown-it-py, from the ``formats`` extra) with GitHub's tables.

- YAML front matter gives the ``title`` and the ``date``; its other keys are metadata.
- Each paragraph, list item, table row and heading is a paragraph of the document; a
  heading is its own paragraph (short, but what a reader scans for). The first
  heading is the title when the front matter gives none, and is then not repeated
  (nor when it repeats the front matter's title).
- Code blocks and raw HTML are not indexed; inline code is kept as text; links keep
  their text, images their alternative text; emphasis and other markup go.
- Without markdown-it-py, a simpler reading in the core does the same for the common
  case (ATX headings, paragraphs, lists, fenced code, inline markup), not for every
  rule of CommonMark (setext headings, indented code, nested containers).
- A line that dates the page (``Publié le 12 juillet 2023``) gives the date when the
  front matter has none, and is not a paragraph.

Markdown is written by people, not scraped: ``clean`` does not apply.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

try:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

    _PARSER: MarkdownIt | None = MarkdownIt("commonmark").enable("table")
except ImportError:  # the formats extra is not installed: the simple reading below
    _PARSER = None

from nato_search.errors import CorpusError
from nato_search.readers.document import Document, check_metadata
from nato_search.readers.files import shown, utf8_text
from nato_search.readers.front_matter import front_matter
from nato_search.readers.records import parse_date_field
from nato_search.readers.text import clean_line, find_date, is_dateline, short_title

if TYPE_CHECKING:
    from nato_search.readers.formats import ReadOptions


def read_markdown(path: Path, data: bytes, doc_id: str, options: ReadOptions) -> list[Document]:
    text = utf8_text(path, data)
    found = front_matter(text, shown(path))
    fields = found.fields
    title = fields.pop("title", None)
    date_value = fields.pop("date", None)
    body = found.body
    paragraphs: list[str] = []
    first_heading: str | None = None
    date: dt.date | None = None
    for is_heading, line in _commonmark_blocks(body) if _PARSER else _simple_blocks(body):
        if not line:
            continue
        if is_heading and first_heading is None and not paragraphs:
            first_heading = line
            if title is None or clean_line(str(title)).casefold() == line.casefold():
                continue  # the title, not repeated as a paragraph
        if date is None and is_dateline(line):
            date = find_date(line)
            continue
        paragraphs.append(line)
    if title is None:
        title = first_heading or (short_title(paragraphs[0]) if paragraphs else doc_id)
    if date_value is not None:
        date = _front_matter_date(date_value, f"{shown(path)}:{found.lines['date']}")
    try:
        return [
            Document(
                id=doc_id,
                title=clean_line(str(title)),
                date=date,
                paragraphs=paragraphs,
                metadata=check_metadata(fields, f"{shown(path)}: front matter"),
            )
        ]
    except (TypeError, ValueError) as exc:
        raise CorpusError(str(exc)) from None


def _front_matter_date(value: Any, where: str) -> dt.date | None:
    if isinstance(value, str) and (written := find_date(value)):
        return written  # "12 juillet 2023"
    return parse_date_field(value, where)


def _commonmark_blocks(body: str) -> Iterator[tuple[bool, str]]:
    """Each block's text, and whether it is a heading."""
    assert _PARSER is not None
    tokens = _PARSER.parse(body)
    for number, token in enumerate(tokens):
        if token.type == "tr_open":
            yield False, " · ".join(filter(None, (_text(t) for t in _row_cells(tokens, number))))
        elif token.type in ("paragraph_open", "heading_open"):
            yield token.type == "heading_open", _text(tokens[number + 1])


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}#{1,6}(?:\s+|$)")
_HTML_BLOCK = re.compile(r"^ {0,3}</?[A-Za-z][\w-]*(?:\s|/?>|$)")
_TABLE_RULE = re.compile(r"^\s*\|?[\s:|-]+\|?\s*$")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s+")
_INLINE = (
    (re.compile(r"!\[([^\]]{0,500})\]\([^)]{0,2000}\)"), r"\1"),  # an image: its alt text
    (re.compile(r"\[([^\]]{0,500})\]\([^)]{0,2000}\)"), r"\1"),  # a link: its text
    (re.compile(r"<[^<>\n]{1,2000}>"), ""),  # raw HTML
    (re.compile(r"`+|~~|(?<!\w)[*_]+|[*_]+(?!\w)"), ""),  # code and emphasis marks
    (re.compile(r"\s+#+\s*$"), ""),  # a heading's closing hashes
)
"""Bounded and unpaired (marks are dropped, not matched in pairs), so that no line of a
hostile file takes more than linear time: paired ``(.+?)\\1`` took 9 s on 48 KB."""


def _simple_blocks(body: str) -> Iterator[tuple[bool, str]]:
    """The common case without a CommonMark parser: blank lines, ATX headings and list
    items end blocks, fenced code is left out."""
    fence: str | None = None
    in_html = False  # a block of raw HTML runs to the next blank line
    block: list[str] = []

    def flush() -> Iterator[tuple[bool, str]]:
        if block:
            yield False, _plain(" ".join(block))
            block.clear()

    for line in body.splitlines():
        if fence:
            if line.strip().startswith(fence):
                fence = None
            continue
        if in_html or _HTML_BLOCK.match(line):
            yield from flush()
            in_html = bool(line.strip())
        elif match := _FENCE.match(line):
            yield from flush()
            fence = match.group(1)
        elif _HEADING.match(line):
            yield from flush()
            yield True, _plain(_HEADING.sub("", line))
        elif line.lstrip().startswith("|"):  # a table row; the row under the header is not
            yield from flush()
            if not _TABLE_RULE.match(line):
                cells = (_plain(cell) for cell in line.strip().strip("|").split("|"))
                yield False, " · ".join(filter(None, cells))
        elif not line.strip() or _ITEM.match(line):
            yield from flush()
            if line.strip():
                block.append(_ITEM.sub("", line))
        else:
            block.append(line)
    yield from flush()


def _plain(text: str) -> str:
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    return clean_line(text)


def _row_cells(tokens: Sequence[Token], start: int) -> list[Token]:
    cells = []
    for token in tokens[start + 1 :]:
        if token.type == "tr_close":
            break
        if token.type == "inline":
            cells.append(token)
    return cells


def _text(inline: Token) -> str:
    """An inline token's text without markup: links' text, images' alternative text,
    inline code's content, line breaks as spaces; raw HTML left out."""
    parts: list[str] = []
    for child in inline.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return clean_line("".join(parts))
