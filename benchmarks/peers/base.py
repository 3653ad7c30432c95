"""What every peer shares: the protocol it implements and the helpers more than one uses.

quality.py and speed.py set up the same peer classes, or their tables would compare
different systems.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Protocol


class SystemUnavailable(Exception):
    """A system cannot run here (missing optional package, no FTS5): skip it."""


class Passage(Protocol):
    """One paragraph as the peers index it: quality.py's and speed.py's Paragraph are both one."""

    @property
    def uid(self) -> str:
        """What search returns for it."""

    @property
    def doc(self) -> str:
        """Its document: nato-search makes consecutive passages of one doc one Document."""

    @property
    def title(self) -> str: ...

    @property
    def text(self) -> str: ...

    @property
    def date(self) -> str | None:
        """An ISO date, or None."""


class Peer(Protocol):
    """A system the benchmarks run: build (or open) an index, then answer queries."""

    name: str

    def build(self, passages: Sequence[Passage], path: Path | None = None) -> None:
        """Index ``passages`` at ``path`` for open() to reopen; None: in memory, or in a
        temporary folder that close() removes."""

    def open(self, path: Path) -> None:
        """Open the index build() left at ``path`` (speed.py's cold and add jobs)."""

    def search(self, text: str, k: int) -> list[str]:
        """The uids of the best ``k`` passages for ``text``, best first."""

    def close(self) -> None: ...


def distinct_words(text: str) -> list[str]:
    """Distinct lowercased words, in order: peers get a plain OR of them."""
    return list(dict.fromkeys(re.findall(r"\w+", text.lower())))


def temporary_folder(prefix: str, cleanup: ExitStack) -> Path:
    """A new temporary folder, removed when ``cleanup`` closes."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    cleanup.callback(shutil.rmtree, folder, ignore_errors=True)
    return folder
