"""Building and opening indexes on disk, including the default index of the bundled seeds."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from whoosh import index as windex

from nato_search import default_index, durable
from nato_search.durable import SOURCES_LOCK_FILE, read_json, write_json, write_lock
from nato_search.engines.base import Progress, backend_named, backend_names
from nato_search.engines.fields import FORMAT_VERSION, META_FILE, SOURCES_FILE
from nato_search.engines.whoosh.backend import WHOOSH
from nato_search.engines.whoosh.engine import _retry_replaced
from nato_search.engines.xapian.backend import shards_engine, write_batches
from nato_search.engines.xapian.cluster import Shard, read_cluster, require_xapian
from nato_search.engines.xapian.engine import XapianEngine
from nato_search.errors import (
    IndexDamagedError,
    IndexNotFoundError,
    IndexVersionError,
    NothingToIndexError,
    ShardError,
    damage_message,
)
from nato_search.folders import (
    building_folder,
    finish_interrupted_swap,
    is_replaceable,
    remove_abandoned_builds,
    swap_in,
)
from nato_search.index import Index
from nato_search.readers.corpus import (
    Document,
    Sources,
    read_documents,
    read_options,
)
from nato_search.readers.formats import format_names
from nato_search.settings import DEFAULT_SETTINGS, LOCK_TIMEOUT, RankingSettings
from nato_search.sources import (
    count_formats,
    covered_folders,
    files_of_sources,
    id_taken,
    is_under,
    read_recorded,
    record_sources,
    unchanged_state,
)
from nato_search.text.analyzer import analyzer_settings
from nato_search.text.filters import DEFAULT_STEMMER
from nato_search.text.snippets import escape_controls
from nato_search.vectors import WordVectors

BACKENDS = backend_names()


def _format_record(stemmer: str, backend: str = "whoosh", shards: int = 1) -> dict[str, Any]:
    """What an index folder records of how it was built: a mismatch asks for a rebuild."""
    return {
        "format": FORMAT_VERSION,
        **analyzer_settings(stemmer),
        "backend": backend,
        "shards": shards,
        **backend_named(backend).format_record(shards),
    }


def files_by_format(path: str | os.PathLike[str]) -> dict[str, int]:
    """How many of the files an index was built or updated from each format gave
    (``{"pdf": 3, "text": 12}``; empty for an index of Documents or of running shards)."""
    manifest = Path(path) / SOURCES_FILE
    return count_formats(read_json(manifest)) if manifest.exists() else {}


def is_index(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` holds an index that nato-search built (any version, any backend)."""
    return (Path(path) / META_FILE).exists()


def build_index(
    sources: Sources,
    path: str | os.PathLike[str],
    *,
    stemmer: str = DEFAULT_STEMMER,
    progress: Progress | None = None,
    synonyms: Iterable[str | os.PathLike[str]] = (),
    backend: str = "whoosh",
    shards: int = 1,
    clean: bool = True,
    columns: Mapping[str, str] | None = None,
    strict: bool = False,
    workers: int | None = None,
    vectors: WordVectors | None = None,
    settings: RankingSettings = DEFAULT_SETTINGS,
) -> Index:
    """Index every paragraph of ``sources`` (files, folders or Documents) into ``path``.
    ``clean``, ``columns`` and ``strict`` are how files are read (see
    :func:`~nato_search.read_documents`): a file that cannot be read is skipped with a
    :class:`CorpusWarning`, and sources that give no paragraph at all are a
    :class:`CorpusError`, since an index of nothing is a mistake, not a result.

    The new index is written beside ``path`` and swapped in only when complete,
    so a failure leaves any previous index there untouched. With
    ``backend="xapian"``, ``path`` is a folder of ``shards`` local Xapian shards,
    or a cluster file (``.toml``) naming ``xapian-tcpsrv`` shards, whose
    documents are then added or replaced in place.

    ``workers`` processes write the Whoosh index, each a segment of it (default: one
    per core, for builds of 4,000 paragraphs or more; ``workers=1``: this process only).
    """
    chosen = backend_named(backend)
    if not isinstance(shards, int) or shards < 1:
        raise ValueError(f"shards must be a positive whole number, not {shards!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive whole number, not {workers!r}")
    path = Path(path)
    options = read_options(clean, columns)
    if backend == "xapian" and _is_cluster(path):
        documents = _Counted(read_documents(sources, clean=clean, columns=columns, strict=strict))
        return _build_cluster(
            documents, sources, path, stemmer, progress, synonyms, vectors, settings
        )
    finish_interrupted_swap(path)
    if path.exists() and not is_replaceable(path):
        raise FileExistsError(
            f"{path} exists and is not a nato-search index; choose another path or remove it"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned_builds(path)
    with building_folder(path) as building:
        manifest: dict[str, dict[str, Any]] = {}
        documents = _Counted(record_sources(sources, manifest, options, strict))
        record = _format_record(stemmer, backend, shards)
        chosen.build(
            building,
            documents,
            stemmer=stemmer,
            shards=shards,
            workers=workers,
            progress=progress,
            settings=settings,
            record=record,
        )
        documents.check_some(sources)
        write_json(building / SOURCES_FILE, manifest)
        write_json(building / META_FILE, record)
        swap_in(building, path)
        durable.sync_folder(path.parent)  # the swap itself
    return open_index(path, synonyms=synonyms, vectors=vectors, settings=settings)


def update_index(
    sources: Sources,
    path: str | os.PathLike[str],
    *,
    progress: Progress | None = None,
    clean: bool = True,
    columns: Mapping[str, str] | None = None,
    strict: bool = False,
    timeout: float = LOCK_TIMEOUT,
) -> dict[str, int]:
    """Brings an index up to date with ``sources``: re-indexes the files that changed
    (size, modification time, then content hash), adds new ones, and removes the
    documents of files that disappeared from the given folders, all in one commit.

    A file that claims a document id another indexed file holds is a
    :class:`CorpusError` naming both, and nothing changes.
    Returns counts: ``changed``, ``unchanged``, ``removed`` and ``skipped`` files. Give the ``clean`` and
    ``columns`` the index was built with. A file that cannot be read now is skipped with
    a warning and its documents stay as they were indexed (``strict=True``: an error). Updates of one index run one at a time: another waits up
    to ``timeout`` seconds, then raises :class:`IndexLockedError`.

    The manifest of indexed files (``sources.json``) is written ahead of the commit with
    each file being changed or removed marked pending and holding its old and new ids, and
    again after it: an update killed at any point leaves ids the next update removes.
    """
    path = Path(path)
    options = read_options(clean, columns)
    if not isinstance(sources, (str, os.PathLike)):
        sources = list(sources)  # read twice below: by files_of_sources, then by covered_folders
    with open_index(path) as ix, write_lock(path, timeout, SOURCES_LOCK_FILE):
        manifest = read_json(path / SOURCES_FILE)
        current: dict[str, dict[str, Any]] = {}
        changed: list[Document] = []
        reread: set[str] = set()
        claims: dict[str, str] = {}  # id -> the changed file that holds it now
        stale: set[str] = set()  # ids whose files changed or went: removed in the same commit
        skipped = held = 0  # files that cannot be read now; of them, those indexed before
        for file, doc_id in files_of_sources(sources):
            key = str(file.resolve())
            state = unchanged_state(file, manifest.get(key))
            if state is None:
                read = read_recorded(file, doc_id, options=options, strict=strict)
                if read is None:  # unreadable now: what was indexed of it stays
                    skipped += 1
                    if key in manifest:
                        current[key] = manifest[key]
                        held += 1
                    continue
                state, documents = read
                for document in documents:
                    if claims.setdefault(document.id, key) != key:
                        raise id_taken(document.id, key, claims[document.id])
                stale.update(manifest.get(key, {}).get("docs", []))
                changed.extend(documents)
                reread.add(key)
            current[key] = state
        covered = covered_folders(sources)
        gone = {k for k in manifest if k not in current and any(is_under(k, c) for c in covered)}
        for key in gone:
            stale.update(manifest[key]["docs"])
        for key, state in manifest.items():
            if key in gone or key in current and current[key]["docs"] is not state["docs"]:
                continue  # that file's old ids are being removed or rewritten
            for doc_id in state["docs"]:
                if doc_id in claims and claims[doc_id] != key:
                    raise id_taken(doc_id, claims[doc_id], key)
        if reread or gone:
            pending = {**manifest}
            for key in reread:
                both = [*manifest.get(key, {}).get("docs", []), *current[key]["docs"]]
                pending[key] = {**current[key], "docs": list(dict.fromkeys(both)), "pending": True}
            for key in gone:
                pending[key] = {**manifest[key], "pending": True}
            write_json(path / SOURCES_FILE, pending)
            ix.replace(changed, delete=sorted(stale - {d.id for d in changed}))
        if progress:
            progress(len(changed), sum(len(d.paragraphs) for d in changed))
        kept = {k: v for k, v in manifest.items() if k not in gone}
        write_json(path / SOURCES_FILE, {**kept, **current})
    unchanged = len(current) - len(reread) - held
    return {
        "changed": len(reread),
        "unchanged": unchanged,
        "removed": len(gone),
        "skipped": skipped,
    }


def _is_cluster(path: Path) -> bool:
    return path.suffix.lower() == ".toml"


class _Counted(Iterator[Document]):
    """Documents passed through, counting their paragraphs."""

    def __init__(self, documents: Iterable[Document]) -> None:
        self._documents = iter(documents)
        self.paragraphs = 0

    def __next__(self) -> Document:
        document = next(self._documents)
        self.paragraphs += len(document.paragraphs)
        return document

    def check_some(self, sources: Sources) -> None:
        if not self.paragraphs:
            raise NothingToIndexError(
                f"nothing to index in {_named(sources)}: no paragraph of text in a format "
                f"nato-search reads ({', '.join(format_names())}); any file skipped is "
                "named in a warning"
            )


def _named(sources: Sources) -> str:
    if isinstance(sources, (str, os.PathLike)):
        return escape_controls(os.fspath(sources))
    if isinstance(sources, (list, tuple)):
        paths = [os.fspath(s) for s in sources if isinstance(s, (str, os.PathLike))]
        if len(paths) == len(sources) and paths:
            shown = ", ".join(escape_controls(p) for p in paths[:3])
            return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    return "the sources given"


def _build_cluster(
    documents: _Counted,
    sources: Sources,
    path: Path,
    stemmer: str,
    progress: Progress | None,
    synonyms: Iterable[str | os.PathLike[str]],
    vectors: WordVectors | None,
    settings: RankingSettings,
) -> Index:
    """Documents into running shards: every shard must answer before anything is written."""
    require_xapian()
    shards = read_cluster(path)
    engine = shards_engine(shards, path, stemmer, settings)
    engine.check()
    record = _format_record(stemmer, "xapian", len(shards))
    for found in engine.settings():
        if found and found != record:
            raise IndexVersionError(f"the shards of {path} hold an index built with {found}")
    write_batches(engine, documents, progress)
    documents.check_some(sources)  # before the stamp: a cluster of nothing is not stamped
    engine.stamp(record)
    return Index(engine, list(synonyms), vectors)


def open_index(
    path: str | os.PathLike[str] | None = None,
    *,
    synonyms: Iterable[str | os.PathLike[str]] = (),
    vectors: WordVectors | None = None,
    settings: RankingSettings = DEFAULT_SETTINGS,
) -> Index:
    """Open the index at ``path``; with no path, the default index of the bundled seeds.

    ``synonyms`` are files of your own synonym groups, added to the packaged list.
    ``vectors`` (:meth:`WordVectors.from_package`) reorder each search's best paragraphs by
    meaning as well as words. ``settings`` say how it ranks (:class:`RankingSettings`:
    not stored in the index, so any settings open any index).
    """
    if not isinstance(settings, RankingSettings):
        raise TypeError(f"settings must be a RankingSettings, not {type(settings).__name__}")
    if path is None:
        path = default_index.default_index_path(_format_record(DEFAULT_STEMMER))
        if not is_index(path):
            _build_default(path)
    path = Path(path)
    if _is_cluster(path):
        require_xapian()
        shards = read_cluster(path)
        stemmer = next(
            (s["stemmer"] for s in _reachable_records(shards, path) if s), DEFAULT_STEMMER
        )
        return Index(shards_engine(shards, path, stemmer, settings), list(synonyms), vectors)
    finish_interrupted_swap(path)
    meta = read_json(path / META_FILE) if path.is_dir() else {}
    if meta.get("backend", "whoosh") != "whoosh":  # shards: nothing for Whoosh to check
        _check_record(path, meta)
        engine = backend_named(meta["backend"]).open(path, meta, settings, lambda: None)
        return Index(engine, list(synonyms), vectors)
    if path.is_dir():
        os.listdir(path)  # an unreadable folder is a PermissionError naming it, not "no index"
    if not path.is_dir() or not _holds_whoosh_index(path):
        raise IndexNotFoundError(
            f"no index at {path}; build one with `nato-search index SOURCE... --index {path}`"
        )
    _check_record(path, meta)

    def check() -> None:  # again whenever another process rebuilds the index
        _check_record(path, read_json(path / META_FILE))

    try:
        engine = WHOOSH.open(path, meta, settings, check)
    except (IndexVersionError, PermissionError):
        raise
    except Exception as exc:  # a damaged index can fail in any of Whoosh's readers
        raise _damaged(path, exc) from exc
    return Index(engine, list(synonyms), vectors)


def _check_record(path: Path, meta: dict[str, Any]) -> None:
    expected = _format_record(
        meta.get("stemmer", DEFAULT_STEMMER), meta.get("backend", "whoosh"), meta.get("shards", 1)
    )
    if meta != expected:
        raise IndexVersionError(
            f"the index at {path} was built by another version of nato-search ({meta}); "
            f"rebuild it with `nato-search index SOURCE... --index {path} --rebuild`"
        )


def _reachable_records(shards: list[Shard], path: Path) -> list[dict[str, Any]]:
    """Settings recorded in the shards that answer (others are reported when searched)."""
    found: list[dict[str, Any]] = []
    for shard in shards:
        try:
            settings = XapianEngine.read_settings(shard)
        except ShardError:
            continue
        if settings:
            _check_record(path, settings)
        found.append(settings)
    return found


def _holds_whoosh_index(path: Path) -> bool:
    def attempt() -> bool:
        # A commit in another process may replace the table of contents as it is read, or
        # as the folder is listed (a listing can then show none): look again before "no".
        if not windex.exists_in(str(path)):
            raise windex.EmptyIndexError(str(path))
        return True

    try:
        return _retry_replaced(str(path), attempt)
    except windex.EmptyIndexError:
        return False
    except Exception as exc:  # a table of contents that cannot be read
        raise _damaged(path, exc) from exc


def _damaged(path: Path, exc: Exception) -> IndexDamagedError:
    return IndexDamagedError(damage_message(path, exc))


def _build_default(path: Path) -> None:
    """Builds the seeds' index, then removes the ones earlier versions built."""
    build_index(default_index.seeds_path(), path).close()
    default_index.remove_older_defaults(path)
