"""HTML pages (``.html``, ``.htm``, ``.xhtml``): the article a reader came for, without the
site around it, extracted by trafilatura (from the ``formats`` extra).

- Main text only: navigation, header, footer, sidebars, comments, share buttons, cookie
  banners, scripts and styles are left out by trafilatura; "Lire aussi" / "Read also"
  boxes left inside the article and the page's dateline (``Publié le 3 février 2025``)
  are dropped here. Each paragraph, heading, list item and quote is a paragraph of
  the document; a table row is one, its cells joined with `` · `` (as in Markdown).
- Title: trafilatura's (``og:title``, JSON-LD ``headline``, the article's ``<h1>``,
  ``<title>`` without the site's name), not repeated as the first paragraph.
- Date: from the markup only (``article:published_time``, JSON-LD ``datePublished``,
  ``<time datetime>``, a dated URL), else from a dateline. htmldate's *extensive*
  search is off: it takes any date written in the text (an article recalling
  ``11 septembre 2001`` would be dated 2001), so an undated page stays undated.
- Metadata: ``url`` (``<link rel=canonical>``, else ``og:url``), ``lang`` (the
  primary subtag of ``<html lang>``: ``fr-FR`` is ``fr``), ``author`` when given.
- Bytes: a byte-order mark, else the ``<meta>`` charset, else UTF-8, else Windows-1252
  (trafilatura would guess from the bytes alone and ignore the declaration).

With ``clean=False`` every block of the page's body is a paragraph (no extraction).
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trafilatura
from lxml import etree, html
from lxml.etree import _Element as Element

from nato_search.errors import CorpusError
from nato_search.readers.document import Document
from nato_search.readers.files import shown
from nato_search.readers.text import clean_line, find_date, is_dateline, short_title

if TYPE_CHECKING:
    from nato_search.readers.formats import ReadOptions

_READ_ALSO = re.compile(
    r"^(?:[àa] )?(?:lire|voir|relire) (?:aussi|également|notre)\b|^(?:read|see) also\b"
    r"|^sur le même sujet\b",
    re.IGNORECASE,
)
"""A link to another article left inside this one (``Lire aussi | …``)."""
_DECLARED = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)|encoding=["']([\w.:-]+)""", re.I
)
_WHATWG = {"iso-8859-1": "cp1252", "latin-1": "cp1252", "ascii": "cp1252"}
"""Labels that browsers read as Windows-1252 (the WHATWG Encoding Standard)."""
_BLOCK_TAGS = frozenset({"p", "head", "item", "list", "quote", "table", "row", "code", "div"})
_PAGE_BLOCKS = (
    "p",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "blockquote",
    "pre",
    "dt",
    "dd",
)
_PARSER = html.HTMLParser(remove_comments=True, remove_pis=True, collect_ids=False)
_CHROME = [
    f"({elements})[not(.//article or .//main or .//h1)]"
    for elements in (
        "//nav|//aside|//footer|//header[not(ancestor::article or ancestor::main)]",
        '//*[@role="navigation" or @role="banner" or @role="contentinfo" or @role="complementary"]',
        '//*[contains(@id, "cookie") or contains(@class, "cookie") or contains(@class, "consent")]',
    )
]
"""Chrome removed before extraction: trafilatura leaves it out of the article, but its
fallback for a page with no article (a menu and a footer) would return it as the text.
Never one that holds the article (a banner left unclosed holds the rest of the page)."""
_DATE_PARAMS = {"extensive_search": False, "original_date": True}


def read_html(path: Path, data: bytes, doc_id: str, options: ReadOptions) -> list[Document]:
    tree = _parsed(path, data)
    url, lang = _url(tree), _lang(tree)
    if options.clean:
        found = trafilatura.bare_extraction(
            tree,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            date_extraction_params=dict(_DATE_PARAMS),
            prune_xpath=_CHROME,
        )
        body = getattr(found, "body", None)
        paragraphs = list(_paragraphs(body)) if body is not None else []
    else:
        found = trafilatura.extract_metadata(tree, date_config=dict(_DATE_PARAMS))
        paragraphs = _page_blocks(tree)
    title, author = getattr(found, "title", None), getattr(found, "author", None)
    date = _iso_date(getattr(found, "date", None))
    paragraphs, dateline = _without_chrome(paragraphs, clean=options.clean)
    if title and paragraphs and paragraphs[0].casefold() == clean_line(title).casefold():
        paragraphs.pop(0)
    if not paragraphs:
        raise CorpusError(f"{shown(path)}: no main text found in this HTML page")
    metadata: dict[str, Any] = {"url": url, "lang": lang, "author": author}
    return [
        Document(
            id=doc_id,
            title=clean_line(title or "") or _page_title(tree) or short_title(paragraphs[0]),
            date=date or dateline,
            paragraphs=paragraphs,
            metadata={key: value for key, value in metadata.items() if value},
        )
    ]


def decoded(data: bytes) -> str:
    """The page's text: by its byte-order mark, else its declared charset, else UTF-8,
    else Windows-1252. A declared charset is trusted; bytes it cannot decode become
    U+FFFD, so that a damaged byte costs one character, not the page."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                          (codecs.BOM_UTF16_BE, "utf-16-be")):  # fmt: skip
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, "replace")
    if match := _DECLARED.search(data[:4096]):
        label = (match[1] or match[2]).decode("ascii").lower()
        try:
            declared: str | None = codecs.lookup(_WHATWG.get(label, label)).name
        except LookupError:
            declared = None
        if declared and not declared.startswith("utf-16"):  # "utf-16" in ASCII is a lie
            return data.decode(declared, "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _parsed(path: Path, data: bytes) -> html.HtmlElement:
    text = decoded(data).replace("\x00", "")
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)  # lxml takes no declaration in a str
    try:
        tree = html.document_fromstring(text, parser=_PARSER) if text.strip() else None
    except (etree.ParserError, ValueError):
        tree = None
    if tree is None:
        raise CorpusError(f"{shown(path)}: no main text found in this HTML page (it is empty)")
    return tree


def _paragraphs(element: Element) -> Iterator[str]:
    """The text of each block in trafilatura's body, in order: a block holding other
    blocks (a list item with a sub-list) gives its own text, then theirs."""
    if element.tag == "row":
        cells = (clean_line(_inline(cell)) for cell in element if cell.tag == "cell")
        yield " · ".join(filter(None, cells))
        return
    own = [element.text or ""]
    for child in element:
        if child.tag in _BLOCK_TAGS:
            yield clean_line("".join(own))
            yield from _paragraphs(child)
            own = [child.tail or ""]
        else:
            own += [_inline(child), child.tail or ""]
    yield clean_line("".join(own))


def _inline(element: Element) -> str:
    """An inline element's text; a line break is a space."""
    if element.tag in ("lb", "br"):
        return " "
    return " ".join(element.itertext()) if element.tag == "cell" else "".join(element.itertext())


def _without_chrome(paragraphs: list[str], *, clean: bool) -> tuple[list[str], dt.date | None]:
    """Paragraphs without blanks and, when cleaning, without "Lire aussi" links and the
    dateline; with the dateline's date."""
    kept: list[str] = []
    date: dt.date | None = None
    for paragraph in paragraphs:
        if not paragraph:
            continue
        if clean and _READ_ALSO.match(paragraph):
            continue
        if clean and is_dateline(paragraph):
            date = date or find_date(paragraph)
            continue
        kept.append(paragraph)
    return kept, date


def _page_blocks(tree: html.HtmlElement) -> list[str]:
    """Every block of the page as written (``clean=False``), scripts and styles left out;
    a block holding others (a quote of paragraphs) gives theirs, a table row its cells."""
    for element in tree.xpath("//script|//style|//noscript|//template|//head"):
        element.drop_tree()
    paragraphs = []
    for block in tree.xpath("|".join(f"//{tag}" for tag in _PAGE_BLOCKS)):
        if block.tag == "tr":
            paragraphs.append(
                " · ".join(filter(None, (clean_line(c.text_content()) for c in block)))
            )
        elif not block.xpath("|".join(f".//{tag}|ancestor::tr" for tag in _PAGE_BLOCKS)):
            paragraphs.append(clean_line(block.text_content()))
    return paragraphs


def _first(tree: html.HtmlElement, xpath: str) -> str | None:
    values = [clean_line(str(v)) for v in tree.xpath(xpath)]
    return next((v for v in values if v), None)


def _url(tree: html.HtmlElement) -> str | None:
    for xpath in ('//link[@rel="canonical"]/@href', '//meta[@property="og:url"]/@content'):
        url = _first(tree, xpath)
        if url and url.startswith(("http://", "https://")):
            return url
    return None


def _lang(tree: html.HtmlElement) -> str | None:
    lang = tree.get("lang") or tree.get("xml:lang") or ""
    return lang.split("-")[0].split("_")[0].strip().lower() or None


def _page_title(tree: html.HtmlElement) -> str | None:
    return _first(tree, "//h1//text()|//title/text()")


def _iso_date(value: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None
