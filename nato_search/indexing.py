"""Building and opening indexes on disk, including the default index of the bundled seeds."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path

from whoosh import index as windex

from .analysis import DEFAULT_STEMMER, analyzer_settings, french_analyzer
from .corpus import CorpusError, Document, read_documents
from .schema import FORMAT_VERSION, META_FILE, day_key, make_schema
from .search import Index

Sources = Iterable[str | os.PathLike | Document] | str | os.PathLike
Progress = Callable[[int, int], None]
"""Called as ``progress(documents, paragraphs)`` while an index is being built."""


class IndexNotFoundError(FileNotFoundError):
    """No index at the given path."""


class IndexVersionError(RuntimeError):
    """The index was built by other analysis or another format; it must be rebuilt."""


def _settings(stemmer: str) -> dict:
    return {"format": FORMAT_VERSION, **analyzer_settings(stemmer)}


def build_index(
    sources: Sources,
    path: str | os.PathLike,
    *,
    stemmer: str = DEFAULT_STEMMER,
    progress: Progress | None = None,
    synonyms: Iterable[str | os.PathLike] = (),
) -> Index:
    """Index every paragraph of ``sources`` (files, folders or Documents) into ``path``.

    The new index is written beside ``path`` and swapped in only when complete,
    so a failure leaves any previous index there untouched.
    """
    path = Path(path)
    if path.exists() and not _is_replaceable(path):
        raise FileExistsError(
            f"{path} exists and is not a nato-search index; choose another path or remove it"
        )
    analyzer = french_analyzer(stemmer)
    path.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".building", dir=path.parent))
    try:
        _write(building, read_documents(sources), analyzer, progress)
        (building / META_FILE).write_text(json.dumps(_settings(stemmer)), "utf-8")
        _swap_in(building, path)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return open_index(path, synonyms=synonyms)


def _write(folder: Path, documents: Iterable[Document], analyzer, progress: Progress | None) -> None:
    ix = windex.create_in(str(folder), make_schema(analyzer))
    writer = ix.writer(limitmb=256)
    seen: set[str] = set()
    paragraphs = 0
    try:
        for document in documents:
            if document.id in seen:
                raise CorpusError(f"two documents have the id {document.id!r}")
            seen.add(document.id)
            extra = {"day": day_key(document.date)} if document.date else {}
            for number, text in enumerate(document.paragraphs):
                writer.add_document(
                    doc_id=document.id,
                    paragraph=number,
                    title=document.title,
                    text=text,
                    names=text,
                    date=document.date.isoformat() if document.date else None,
                    **extra,
                )
            paragraphs += len(document.paragraphs)
            if progress:
                progress(len(seen), paragraphs)
    except BaseException:
        writer.cancel()
        raise
    writer.commit()


def _is_replaceable(path: Path) -> bool:
    return path.is_dir() and ((path / META_FILE).exists() or not any(path.iterdir()))


def _swap_in(building: Path, path: Path) -> None:
    old = None
    if path.exists():
        old = path.with_name(f".{path.name}.{os.getpid()}.old")
        os.replace(path, old)
    os.replace(building, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def open_index(
    path: str | os.PathLike | None = None, *, synonyms: Iterable[str | os.PathLike] = ()
) -> Index:
    """Open the index at ``path``; with no path, the default index of the bundled seeds.

    ``synonyms`` are files of your own synonym groups, added to the packaged list.
    """
    if path is None:
        path = default_index_path()
        if not (path / META_FILE).exists():
            _build_default(path)
    path = Path(path)
    if not path.is_dir() or not windex.exists_in(str(path)):
        raise IndexNotFoundError(
            f"no index at {path}; build one with `nato-search index SOURCE... --index {path}`"
        )
    meta = _read_meta(path)
    expected = _settings(meta.get("stemmer", DEFAULT_STEMMER))
    if meta != expected:
        raise IndexVersionError(
            f"the index at {path} was built by another version of nato-search ({meta}); "
            f"rebuild it with `nato-search index SOURCE... --index {path}`"
        )
    return Index(windex.open_dir(str(path)), str(path), synonyms=list(synonyms))


def _read_meta(path: Path) -> dict:
    try:
        return json.loads((path / META_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}


# --- the default index -------------------------------------------------


def seeds_path() -> Path:
    """The bundled seed articles: packaged in the wheel, or the checkout's ``seeds/``."""
    packaged = resources.files("nato_search").joinpath("seeds")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "seeds"


def home() -> Path:
    """Where nato-search keeps its own files: ``$NATO_SEARCH_HOME``, else the user cache."""
    if os.environ.get("NATO_SEARCH_HOME"):
        return Path(os.environ["NATO_SEARCH_HOME"])
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "nato-search"


def default_index_path() -> Path:
    """Named by a hash of the seeds and the analysis, so a change to either means a new build."""
    digest = hashlib.sha256(json.dumps(_settings(DEFAULT_STEMMER)).encode())
    for seed in sorted(seeds_path().glob("*.txt")):
        digest.update(seed.name.encode() + b"\0" + seed.read_bytes())
    return home() / f"seeds-{digest.hexdigest()[:16]}"


def _build_default(path: Path) -> None:
    build_index(seeds_path(), path)
    for stale in path.parent.glob("seeds-*"):
        if stale != path:
            shutil.rmtree(stale, ignore_errors=True)
