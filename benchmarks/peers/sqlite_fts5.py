"""SQLite FTS5, from the standard library: the full-text search most Python users already have."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from .base import Passage, SystemUnavailable, distinct_words

FTS5_TOKENIZER = "unicode61 remove_diacritics 2"


def fts5_match(text: str) -> str | None:
    """An FTS5 MATCH expression ORing the words of ``text`` (None when it has none)."""
    words = distinct_words(text)
    return " OR ".join(f'"{w}"' for w in words) if words else None  # \w+ holds no '"'


class SqliteFts5:
    """unicode61 with diacritics removed, bm25() ranking; uid, title, text and date stored."""

    name = "sqlite-fts5"

    def __init__(self) -> None:
        db = sqlite3.connect(":memory:")
        try:
            db.execute("CREATE VIRTUAL TABLE t USING fts5(x)")
        except sqlite3.OperationalError as e:
            raise SystemUnavailable(f"SQLite {sqlite3.sqlite_version} lacks FTS5: {e}") from e
        finally:
            db.close()
        self._db: sqlite3.Connection | None = None

    def build(self, passages: Sequence[Passage], path: Path | None = None) -> None:
        if path is not None:
            path.mkdir(parents=True)
        self._db = sqlite3.connect(":memory:" if path is None else path / "index.sqlite")
        with self._db:
            self._db.execute(
                "CREATE VIRTUAL TABLE para USING fts5(uid UNINDEXED, title, text, "
                f"date UNINDEXED, tokenize = '{FTS5_TOKENIZER}')"
            )
            self._db.executemany(
                "INSERT INTO para(uid, title, text, date) VALUES (?, ?, ?, ?)",
                ((p.uid, p.title, p.text, p.date) for p in passages),
            )

    def open(self, path: Path) -> None:
        self._db = sqlite3.connect(path / "index.sqlite")

    def search(self, text: str, k: int) -> list[str]:
        assert self._db is not None
        match = fts5_match(text)
        if match is None:
            return []
        rows = self._db.execute(
            "SELECT uid, text FROM para WHERE para MATCH ? ORDER BY rank LIMIT ?", (match, k)
        )
        return [uid for uid, _ in rows]  # the text read too, as a caller would

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
