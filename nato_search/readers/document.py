"""The unit every reader produces: a :class:`Document`, checked when made."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

SURROGATE = re.compile("[\ud800-\udfff]")


def _without_surrogates(text: str) -> str:
    """``text`` with each lone surrogate as U+FFFD (a split pair is joined back first).

    Lone surrogates come from JSON escapes such as ``"\\ud83d"`` or from file names
    that are not UTF-8; no UTF-8 encoder takes them, so indexing or printing them fails.
    """
    if not SURROGATE.search(text):
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
    pages: list[int] | None = None
    """For a paged source (a PDF), the page (1-based) where each paragraph starts: one
    number per paragraph, returned with each hit as :attr:`Hit.page`."""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str):
            raise TypeError(f"Document id must be a str, not {type(self.id).__name__}")
        if not self.id:
            raise ValueError("Document id must not be empty")
        if match := SURROGATE.search(self.id):
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
        if self.pages is not None:
            self.pages = list(self.pages)
            if len(self.pages) != len(self.paragraphs):
                raise ValueError(
                    f"Document {self.id!r}: {len(self.pages)} pages for "
                    f"{len(self.paragraphs)} paragraphs (give one page number per paragraph)"
                )
            for page in self.pages:
                if not isinstance(page, int) or isinstance(page, bool) or page < 1:
                    raise ValueError(
                        f"Document {self.id!r}: page {page!r} is not a page number (1, 2, …)"
                    )


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
        if not isinstance(key, str) or not key or "=" in key or SURROGATE.search(key):
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
