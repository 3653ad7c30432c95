"""Which reader takes a file: by its suffix, and by its first bytes where the suffix lies.

Each format's reader is a module of this package, imported the first time a file
needs it, so that the third-party libraries some need (the ``formats`` extra) are
loaded only by those who read such files, and a missing one is a message naming
the extra rather than an ImportError at ``import nato_search``.
"""

from __future__ import annotations

import importlib
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from types import MappingProxyType

from nato_search.errors import CorpusError
from nato_search.readers.document import Document
from nato_search.readers.files import shown


@dataclass(frozen=True)
class ReadOptions:
    """How files are read, the same for every file of a build or an update."""

    clean: bool = True
    """Text pages: leave out a scraped page's chrome (``False``: every paragraph as written)."""
    columns: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """CSV/TSV: the column that holds each record field, e.g. ``{"text": "body", "id": "ref"}``."""


Reader = Callable[[Path, bytes, str, ReadOptions], Iterable[Document]]
"""A format's reader: the file's path (for messages), its bytes, the id a single-document
file gets, and the options; the file's documents."""


@dataclass(frozen=True)
class Format:
    name: str
    suffixes: tuple[str, ...]
    reader: str
    """``module:function`` in this package."""
    needs: str | None = None
    """The third-party module the reader imports (from the ``formats`` extra)."""

    @property
    def module(self) -> str:
        """The reader's module (``nato_search.readers.pdf``)."""
        return f"nato_search.readers.{self.reader.split(':')[0]}"

    def read(self, path: Path, data: bytes, doc_id: str, options: ReadOptions) -> list[Document]:
        try:
            module = importlib.import_module(self.module)
        except ImportError as exc:
            if self.needs is None or exc.name is None or exc.name.split(".")[0] != self.needs:
                raise
            raise CorpusError(
                f"{shown(path)}: reading {self.name.upper()} files needs the optional extra: "
                "pip install 'nato-search[formats]'"
            ) from None
        read: Reader = getattr(module, self.reader.split(":")[1])
        return list(read(path, data, doc_id, options))


FORMATS = (
    Format("text", (".txt", ".text"), "text:read_text_page"),
    Format("markdown", (".md", ".markdown"), "markdown:read_markdown"),
    Format("jsonl", (".jsonl", ".ndjson"), "records:read_jsonl"),
    Format("json", (".json",), "records:read_json"),
    Format("csv", (".csv", ".tsv"), "delimited:read_delimited"),
    Format("html", (".html", ".htm", ".xhtml"), "html:read_html", needs="trafilatura"),
    Format("pdf", (".pdf",), "pdf:read_pdf", needs="pypdfium2"),
    Format("docx", (".docx",), "office:read_docx"),
    Format("odt", (".odt",), "office:read_odt"),
)
_BY_NAME = {f.name: f for f in FORMATS}
_BY_SUFFIX = {suffix: f for f in FORMATS for suffix in f.suffixes}
READ_SUFFIXES = frozenset(_BY_SUFFIX)


def format_named(name: str) -> Format:
    return _BY_NAME[name]


def format_by_suffix(path: Path) -> Format | None:
    """The format a file's suffix names (None for a suffix no reader takes)."""
    return _BY_SUFFIX.get(path.suffix.lower())


def format_of(path: Path, data: bytes) -> Format | None:
    """The format of a file's content: its signature where it has one (a PDF named ``.txt``
    is read as a PDF, an HTML page named ``.txt`` as HTML), else what its suffix names."""
    sniffed = _sniffed(data)
    return _BY_NAME[sniffed] if sniffed else format_by_suffix(path)


def _sniffed(data: bytes) -> str | None:
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(BytesIO(data)) as archive:
                names = set(archive.namelist())
                if "word/document.xml" in names:
                    return "docx"
                if "content.xml" in names and "mimetype" in names:
                    if (
                        archive.read("mimetype").strip()
                        == b"application/vnd.oasis.opendocument.text"
                    ):
                        return "odt"
        except (zipfile.BadZipFile, OSError, KeyError):
            return None
        return None
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "html"
    return None


def format_names() -> list[str]:
    """What a message lists as the formats read."""
    return sorted({s for f in FORMATS for s in f.suffixes})
