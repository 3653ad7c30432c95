"""nato-search, the library under test, through its public API: build_index, open_index, search."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from http_client import free_port  # beside peers/, on the path whenever peers is

from .base import Passage, SystemUnavailable, temporary_folder

REPO_ROOT = Path(__file__).resolve().parents[2]

# quality.py's rows that each take one ranking choice away, to show what it is worth: search
# options, or RankingSettings fields.
ABLATIONS: dict[str, dict[str, Any]] = {
    "no typo tolerance": {"fuzzy": False},
    "no synonyms": {"synonyms": False},
    "no name variants": {"names": False},
    "no proximity bonus": {"proximity_boost": 0.0},
    "no coarse level": {"coarse_weight": 0.0},
    "coarse level of 4 letters": {"coarse_letters": 4},
    "coarse level of 6 letters": {"coarse_letters": 6},
    "coarse level weighing 1.0": {"coarse_weight": 1.0},
    "no all-words-first": {"all_words_first": False},
    "Whoosh's own idf": {"idf": "whoosh"},
    "K1 1.2 (Whoosh's default)": {"bm25_k1": 1.2},
    "title words not counted": {"title_weight": 0.0},
    "title weighing 0.5": {"title_weight": 0.5},
    "title weighing 2": {"title_weight": 2.0},
    "title weighing 3": {"title_weight": 3.0},
    # Not choices taken away but one that could be added: is as-you-type a safe default?
    # PIAF questions end with "?", where prefix never applies; the last two rows drop
    # the final punctuation so that it applies to every question's last word.
    "with prefix (as you type)": {"prefix": True},
    "without the final ?": {"bare": True},
    "with prefix, without the final ?": {"prefix": True, "bare": True},
}
_SEARCH_OPTIONS = ("fuzzy", "synonyms", "names", "prefix")
# The word vectors' second stage (``pip install '.[vectors]'``), at its defaults ("") and
# with each setting moved (RankingSettings fields, as in ABLATIONS).
VECTOR_SETTINGS: dict[str, dict[str, Any]] = {
    "": {},
    "weight 0.25": {"vector_weight": 0.25},
    "weight 1.0": {"vector_weight": 1.0},
    "floor 0.3": {"vector_floor": 0.3},
    "floor 0.7": {"vector_floor": 0.7},
    "depth 30": {"vector_depth": 30},
    "depth 100": {"vector_depth": 100},
}


def parse_date(value: str | None) -> dt.date | None:
    """The date an ISO string starts with; None for an empty or malformed one, not an error."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def group_documents(passages: Iterable[Passage], document_cls: Any, prefix: str = "") -> list:
    """Consecutive passages of one doc → one Document(id, title, date, paragraphs)."""
    docs: list = []
    current = None
    for p in passages:
        if current is None or current.id != prefix + p.doc:
            current = document_cls(
                id=prefix + p.doc, title=p.title, date=parse_date(p.date), paragraphs=[]
            )
            docs.append(current)
        current.paragraphs.append(p.text)
    return docs


class NatoSearch:
    """The library under test, from this checkout (not a stale install).

    ``ablation`` and ``vectors`` name rows of ABLATIONS and VECTOR_SETTINGS. With
    ``shards``, the Xapian backend; ``serve_shards`` then searches them over loopback
    through one ``xapian-tcpsrv`` each, as deployed (local shards if Debian's
    xapian-tools is not installed). ``snippets``: make every hit's snippet, as the app
    does, so that speed.py times it.
    """

    def __init__(
        self,
        stemmer: str | None = None,
        ablation: str | None = None,
        shards: int | None = None,
        vectors: str | None = None,
        *,
        workers: int | None = None,
        serve_shards: bool = False,
        snippets: bool = False,
    ) -> None:
        self.name = "nato-search" if stemmer is None else f"nato-search (stemmer={stemmer})"
        self.serve_shards, self.snippets = serve_shards, snippets
        if str(REPO_ROOT) not in sys.path:
            sys.path.insert(0, str(REPO_ROOT))
        try:
            import nato_search
            from nato_search.readers.corpus import Document
        except ImportError as e:
            raise SystemUnavailable(f"cannot import nato_search: {e}") from e
        self._lib, self._Document = nato_search, Document
        changes = ABLATIONS[ablation] if ablation else {}
        self._vectors: Any = None
        if vectors is not None:  # loaded before any timing: once per process, like an app's
            from nato_search.errors import VectorsUnavailableError
            from nato_search.vectors import WordVectors

            try:
                self._vectors = WordVectors.from_package()
            except VectorsUnavailableError as e:
                raise SystemUnavailable(str(e)) from e
            changes = VECTOR_SETTINGS[vectors]
        self._options = {k: v for k, v in changes.items() if k in _SEARCH_OPTIONS}
        self._bare = bool(changes.get("bare"))
        self.settings = nato_search.RankingSettings(
            **{k: v for k, v in changes.items() if k not in (*_SEARCH_OPTIONS, "bare")}
        )
        self._build: dict[str, Any] = {"settings": self.settings}
        if stemmer is not None:
            self._build["stemmer"] = stemmer
        if shards is not None:
            self._build.update(backend="xapian", shards=shards)
        if workers is not None:
            self._build["workers"] = workers
        if self._vectors is not None:
            self._build["vectors"] = self._vectors
        self._uids: dict[tuple[str, int], str] = {}
        self._cleanup = ExitStack()
        self._ix: Any = None

    def build(self, passages: Sequence[Passage], path: Path | None = None) -> None:
        if path is None:
            path = temporary_folder("nato-bench-", self._cleanup) / "index"
        docs = group_documents(passages, self._Document)
        order = iter(passages)
        self._uids = {(d.id, n): next(order).uid for d in docs for n in range(len(d.paragraphs))}
        t0 = time.perf_counter()
        ix = self._lib.build_index(docs, path, **self._build)
        self.build_s = time.perf_counter() - t0  # grouping into Documents excluded
        if self.serve_shards:
            ix.close()
            self.open(path)
        else:
            self._ix = self._cleanup.enter_context(ix)  # one open index for every query

    def open(self, path: Path) -> None:
        server = shutil.which("xapian-tcpsrv") if self.serve_shards else None
        if server is None:
            self._ix = self._cleanup.enter_context(
                self._lib.open_index(path, vectors=self._vectors)
            )
            return
        lines = []
        for shard in sorted(path.glob("shard-*")):
            port = free_port()
            command = [server, "--interface", "127.0.0.1", "--port", str(port), "--writable"]
            process = subprocess.Popen(
                [*command, str(shard)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            self._cleanup.callback(_kill, process)
            lines.append(f'[[shards]]\naddress = "127.0.0.1:{port}"\n')
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        cluster = path.with_suffix(".toml")
        cluster.write_text("\n".join(lines), encoding="utf-8")
        self._ix = self._cleanup.enter_context(self._lib.open_index(cluster))

    def search(self, text: str, k: int) -> list[str]:
        if self._bare:
            text = text.rstrip(" ?!.\u00a0") or text
        hits = self._ix.search(text, limit=k, **self._options)
        if self.snippets:
            for hit in hits:
                hit.snippet()
        # An index only opened (speed.py's cold job) knows its hits as doc id and paragraph.
        return [
            self._uids.get((h.doc_id, h.paragraph)) or f"{h.doc_id}/{h.paragraph}" for h in hits
        ]

    def add(self, passages: Sequence[Passage]) -> None:
        """Add ``passages`` as new documents (their ids prefixed): speed.py's add job."""
        self._ix.add(group_documents(passages, self._Document, prefix="add-"))

    def count(self) -> int:
        return len(self._ix)

    def close(self) -> None:
        self._cleanup.close()


def _kill(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGKILL)
    server.wait()
