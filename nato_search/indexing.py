"""Building and opening indexes on disk, including the default index of the bundled seeds."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from whoosh import index as windex

from nato_search import durable
from nato_search.engines.fields import FORMAT_VERSION, META_FILE, SOURCES_FILE
from nato_search.engines.whoosh.engine import WhooshEngine, _retry_replaced
from nato_search.engines.whoosh.parallel_build import write_segments
from nato_search.engines.whoosh.schema import make_schema
from nato_search.engines.whoosh.writer import SOURCES_LOCK_FILE, Progress, write_lock
from nato_search.engines.xapian.cluster import Shard, local_shards, read_cluster, require_xapian
from nato_search.engines.xapian.engine import LAYOUT, XapianEngine
from nato_search.errors import (
    CorpusError,
    IndexDamagedError,
    IndexNotFoundError,
    IndexVersionError,
    ShardError,
    damage_message,
)
from nato_search.index import Index
from nato_search.readers.corpus import (
    Document,
    Sources,
    read_bytes,
    read_documents,
    read_file,
    source_items,
)
from nato_search.settings import LOCK_TIMEOUT, RankingSettings
from nato_search.text.analyzer import (
    DEFAULT_STEMMER,
    analyzer_settings,
    french_analyzer,
    names_analyzer,
)
from nato_search.vectors import WordVectors

BACKENDS = ("whoosh", "xapian")
DEFAULT_SETTINGS = RankingSettings()
BATCH = 500
"""Documents written to Xapian shards per commit."""


def _format_record(stemmer: str, backend: str = "whoosh", shards: int = 1) -> dict[str, Any]:
    settings = {
        "format": FORMAT_VERSION,
        **analyzer_settings(stemmer),
        "backend": backend,
        "shards": shards,
    }
    if backend == "xapian":
        settings["layout"] = LAYOUT
    return settings


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
    workers: int | None = None,
    vectors: WordVectors | None = None,
    settings: RankingSettings = DEFAULT_SETTINGS,
) -> Index:
    """Index every paragraph of ``sources`` (files, folders or Documents) into ``path``.
    ``clean=False`` takes text pages as written (see :func:`~nato_search.read_documents`).

    The new index is written beside ``path`` and swapped in only when complete,
    so a failure leaves any previous index there untouched. With
    ``backend="xapian"``, ``path`` is a folder of ``shards`` local Xapian shards,
    or a cluster file (``.toml``) naming ``xapian-tcpsrv`` shards, whose
    documents are then added or replaced in place.

    ``workers`` processes write the Whoosh index, each a segment of it (default: one
    per core, for builds of 4,000 paragraphs or more; ``workers=1``: this process only).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if not isinstance(shards, int) or shards < 1:
        raise ValueError(f"shards must be a positive whole number, not {shards!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive whole number, not {workers!r}")
    path = Path(path)
    if backend == "xapian" and _is_cluster(path):
        return _build_cluster(sources, path, stemmer, progress, synonyms, clean, vectors, settings)
    _finish_interrupted_swap(path)
    if path.exists() and not _is_replaceable(path):
        raise FileExistsError(
            f"{path} exists and is not a nato-search index; choose another path or remove it"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_builds(path)
    with _building_folder(path) as building:
        manifest: dict[str, dict[str, Any]] = {}
        documents = _recorded(sources, manifest, clean)
        if backend == "xapian":
            engine = _xapian(local_shards(building, shards), building, stemmer, settings)
            _write_batches(engine, documents, progress)
            engine.stamp(_format_record(stemmer, backend, shards))
        else:
            windex.create_in(str(building), make_schema(french_analyzer(stemmer)))
            write_segments(building, documents, workers=workers, progress=progress)
        _write_json(building / SOURCES_FILE, manifest)
        _write_json(building / META_FILE, _format_record(stemmer, backend, shards))
        _swap_in(building, path)
        durable.sync_folder(path.parent)  # the swap itself
    return open_index(path, synonyms=synonyms, vectors=vectors, settings=settings)


def update_index(
    sources: Sources,
    path: str | os.PathLike[str],
    *,
    progress: Progress | None = None,
    clean: bool = True,
    timeout: float = LOCK_TIMEOUT,
) -> dict[str, int]:
    """Brings an index up to date with ``sources``: re-indexes the files that changed
    (size, modification time, then content hash), adds new ones, and removes the
    documents of files that disappeared from the given folders, all in one commit.

    A file that claims a document id another indexed file holds is a
    :class:`CorpusError` naming both, and nothing changes.
    Returns counts: ``changed``, ``unchanged``, ``removed`` files. Give the ``clean``
    the index was built with. Updates of one index run one at a time: another waits up
    to ``timeout`` seconds, then raises :class:`IndexLockedError`.

    The manifest of indexed files (``sources.json``) is written ahead of the commit with
    each file being changed or removed marked pending and holding its old and new ids, and
    again after it: an update killed at any point leaves ids the next update removes.
    """
    path = Path(path)
    if not isinstance(sources, (str, os.PathLike)):
        sources = list(sources)  # read twice below: by _source_files, then by _covered
    with open_index(path) as ix, write_lock(path, timeout, SOURCES_LOCK_FILE):
        manifest = _read_json(path / SOURCES_FILE)
        current: dict[str, dict[str, Any]] = {}
        changed: list[Document] = []
        reread: set[str] = set()
        claims: dict[str, str] = {}  # id -> the changed file that holds it now
        stale: set[str] = set()  # ids whose files changed or went: removed in the same commit
        for file, doc_id in _source_files(sources):
            key = str(file.resolve())
            state = _unchanged(file, manifest.get(key))
            if state is None:
                state, documents = _read_recorded(file, doc_id, clean)
                for document in documents:
                    if claims.setdefault(document.id, key) != key:
                        raise _id_taken(document.id, key, claims[document.id])
                stale.update(manifest.get(key, {}).get("docs", []))
                changed.extend(documents)
                reread.add(key)
            current[key] = state
        covered = _covered(sources)
        gone = {k for k in manifest if k not in current and any(_under(k, c) for c in covered)}
        for key in gone:
            stale.update(manifest[key]["docs"])
        for key, state in manifest.items():
            if key in gone or key in current and current[key]["docs"] is not state["docs"]:
                continue  # that file's old ids are being removed or rewritten
            for doc_id in state["docs"]:
                if doc_id in claims and claims[doc_id] != key:
                    raise _id_taken(doc_id, claims[doc_id], key)
        if reread or gone:
            pending = {**manifest}
            for key in reread:
                both = [*manifest.get(key, {}).get("docs", []), *current[key]["docs"]]
                pending[key] = {**current[key], "docs": list(dict.fromkeys(both)), "pending": True}
            for key in gone:
                pending[key] = {**manifest[key], "pending": True}
            _write_json(path / SOURCES_FILE, pending)
            ix.replace(changed, delete=sorted(stale - {d.id for d in changed}))
        if progress:
            progress(len(changed), sum(len(d.paragraphs) for d in changed))
        kept = {k: v for k, v in manifest.items() if k not in gone}
        _write_json(path / SOURCES_FILE, {**kept, **current})
    unchanged = len(current) - len(reread)
    return {"changed": len(reread), "unchanged": unchanged, "removed": len(gone)}


def _id_taken(doc_id: str, new: str, holder: str) -> CorpusError:
    return CorpusError(
        f"{new}: document id {doc_id!r} is already held by {holder}; "
        "rename one of them (nothing was changed)"
    )


def _xapian(
    shards: list[Shard], path: Path, stemmer: str, settings: RankingSettings
) -> XapianEngine:
    return XapianEngine(shards, str(path), french_analyzer(stemmer), names_analyzer(), settings)


def _write_batches(
    engine: XapianEngine, documents: Iterable[Document], progress: Progress | None
) -> None:
    """Streams documents into the shards, one commit per BATCH documents."""
    seen: set[str] = set()
    batch: list[Document] = []
    paragraphs = 0

    def flush() -> None:
        engine.write(batch, replace=True, timeout=LOCK_TIMEOUT)
        batch.clear()
        if progress:
            progress(len(seen), paragraphs)

    for document in documents:
        if document.id in seen:
            raise CorpusError(f"two documents have the id {document.id!r}")
        seen.add(document.id)
        batch.append(document)
        paragraphs += len(document.paragraphs)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()


def _is_cluster(path: Path) -> bool:
    return path.suffix.lower() == ".toml"


def _build_cluster(
    sources: Sources,
    path: Path,
    stemmer: str,
    progress: Progress | None,
    synonyms: Iterable[str | os.PathLike[str]],
    clean: bool,
    vectors: WordVectors | None,
    settings: RankingSettings,
) -> Index:
    """Documents into running shards: every shard must answer before anything is written."""
    require_xapian()
    shards = read_cluster(path)
    engine = _xapian(shards, path, stemmer, settings)
    engine.check()
    record = _format_record(stemmer, "xapian", len(shards))
    for found in engine.settings():
        if found and found != record:
            raise IndexVersionError(f"the shards of {path} hold an index built with {found}")
    _write_batches(engine, read_documents(sources, clean=clean), progress)
    engine.stamp(record)
    return Index(engine, list(synonyms), vectors)


def _recorded(
    sources: Sources, manifest: dict[str, dict[str, Any]], clean: bool
) -> Iterator[Document]:
    """The documents of ``sources``, noting in ``manifest`` which file held which ids."""
    for item in source_items(sources):
        if isinstance(item, Document):
            yield item
            continue
        state, documents = _read_recorded(*item, clean=clean)
        manifest[str(item[0].resolve())] = state
        yield from documents


def _read_recorded(
    file: Path, doc_id: str | None = None, clean: bool = True
) -> tuple[dict[str, Any], list[Document]]:
    """A file's documents and its recorded state, both from one read: the hash recorded
    is the hash of the content indexed, even if the file is rewritten meanwhile."""
    stat = file.stat()  # before reading: a write after this changes the mtime we record
    data = read_bytes(file)
    documents = list(read_file(file, doc_id, data=data, clean=clean))
    state = {
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "sha256": hashlib.sha256(data).hexdigest(),
        "docs": [d.id for d in documents],
    }
    return state, documents


def _unchanged(file: Path, known: dict[str, Any] | None) -> dict[str, Any] | None:
    """``known``, refreshed, if ``file`` still holds what it recorded; else None (also for
    a file an interrupted update was changing)."""
    if known is None or known.get("pending"):
        return None
    stat = file.stat()
    if (known["size"], known["mtime_ns"]) == (stat.st_size, stat.st_mtime_ns):
        return known
    digest = hashlib.sha256(read_bytes(file)).hexdigest()
    if digest != known["sha256"]:
        return None
    return {**known, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _source_files(sources: Sources) -> Iterator[tuple[Path, str | None]]:
    """Each source file with the document id its folder gives it, as a build reads them."""
    for item in source_items(sources):
        if isinstance(item, Document):
            raise TypeError(
                "update_index reads files and folders; use Index.update() for Documents"
            )
        yield item


def _covered(sources: Sources) -> list[str]:
    paths = [sources] if isinstance(sources, (str, os.PathLike)) else sources
    # Documents were refused by _source_files before this runs.
    return [str(Path(p).resolve()) for p in paths if not isinstance(p, Document)]


def _under(file: str, folder: str) -> bool:
    return file == folder or file.startswith(folder.rstrip(os.sep) + os.sep)


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Whole or not at all, also after a crash or a power loss."""
    durable.write_file(path, json.dumps(data, ensure_ascii=False).encode("utf-8"))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text("utf-8"))
        return data
    except (OSError, ValueError):
        return {}


def _is_replaceable(path: Path) -> bool:
    """An empty folder, or one that nato-search built: only those are ever replaced."""
    return path.is_dir() and (_is_ours(path) or not any(path.iterdir()))


def _is_ours(path: Path) -> bool:
    """A folder whose metadata file is one nato-search wrote (any version)."""
    meta = _read_json(path / META_FILE)
    return {"format", "analyzer", "stemmer", "backend"} <= meta.keys()


_BUILDING_LOCK = ".building.lock"
"""Held by the process building a folder; a folder whose lock is free was abandoned."""


@contextlib.contextmanager
def _building_folder(path: Path) -> Iterator[Path]:
    """A new folder beside ``path`` to build in, removed unless it was swapped in.

    Made with ``mkdir`` so that it follows the umask like any folder the user
    creates; named ``.NAME.*.building`` only once its lock is held, so that
    :func:`_remove_abandoned_builds` never takes a live build for a dead one.
    """
    token = secrets.token_hex(6)
    new = path.with_name(f".{path.name}.{token}.new")
    os.mkdir(new, 0o777)
    lock = os.open(new / _BUILDING_LOCK, os.O_CREAT | os.O_WRONLY, 0o666)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        building = path.with_name(f".{path.name}.{token}.building")
        os.replace(new, building)
        try:
            yield building
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path / _BUILDING_LOCK)  # swapped in: the index keeps no lock file
            shutil.rmtree(building, ignore_errors=True)
            shutil.rmtree(new, ignore_errors=True)
    finally:
        os.close(lock)


def _remove_abandoned_builds(path: Path) -> None:
    """Folders of builds that were killed: nobody holds their lock any more."""
    for folder in path.parent.glob(f".{glob_escape(path.name)}.*.building"):
        try:
            lock = os.open(folder / _BUILDING_LOCK, os.O_CREAT | os.O_WRONLY, 0o666)
        except OSError:
            continue
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a live build
        finally:
            os.close(lock)
        shutil.rmtree(folder, ignore_errors=True)


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def _finish_interrupted_swap(path: Path) -> None:
    """Where folders cannot be exchanged in one step (see :func:`_exchange`), a build
    killed between its two renames leaves no folder at ``path``: put the new index there
    if it was complete (its metadata is written last), else the old one."""
    if path.exists():
        return
    complete = [
        p
        for p in path.parent.glob(f".{glob_escape(path.name)}.*.building")
        if (p / META_FILE).exists()
    ]
    previous = sorted(path.parent.glob(f".{glob_escape(path.name)}.*.old"))
    if complete:
        os.replace(max(complete, key=lambda p: (p / META_FILE).stat().st_mtime), path)
    elif previous:
        os.replace(previous.pop(), path)
    for leftover in previous:
        shutil.rmtree(leftover, ignore_errors=True)


SWAP_WAIT = 300.0
"""Seconds a finished rebuild waits for an update from sources to end before swapping in."""


def _swap_in(building: Path, path: Path) -> None:
    """Puts the finished build at ``path`` in one step, under the old index's write lock,
    so that a reader sees the old index or the new one and a writer waits for the swap.
    The old index ends up at ``building``, removed by the caller."""
    while True:
        if not path.exists():
            if _rename_no_replace(building, path):
                return
            continue  # another build got there first: replace it like any index
        # An update from sources running now finishes first: its manifest is the old index's.
        with write_lock(path, SWAP_WAIT, SOURCES_LOCK_FILE), write_lock(path, LOCK_TIMEOUT):
            if _exchange(building, path):
                return
            old = path.with_name(f".{path.name}.{os.getpid()}.old")
            os.replace(path, old)
            os.replace(building, path)
            shutil.rmtree(old, ignore_errors=True)
            return


_RENAME_NOREPLACE, _RENAME_EXCHANGE = 1, 2
_renameat2: Callable[..., int] | None
try:
    _renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
except (AttributeError, OSError):  # not Linux, or a C library without it
    _renameat2 = None


def _rename2(source: Path, target: Path, flags: int) -> bool:
    """Linux's renameat2; False where the system or file system does not support ``flags``."""
    if _renameat2 is None:
        return False
    at_cwd = -100
    if _renameat2(at_cwd, os.fsencode(source), at_cwd, os.fsencode(target), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(target))


def _exchange(a: Path, b: Path) -> bool:
    return _rename2(a, b, _RENAME_EXCHANGE)


def _rename_no_replace(source: Path, target: Path) -> bool:
    """Renames ``source`` to ``target`` unless ``target`` exists (then False)."""
    try:
        if _rename2(source, target, _RENAME_NOREPLACE):
            return True
    except FileExistsError:
        return False
    if target.exists():
        return False
    os.replace(source, target)
    return True


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
        path = default_index_path()
        if not (path / META_FILE).exists():
            _build_default(path)
    path = Path(path)
    if _is_cluster(path):
        require_xapian()
        shards = read_cluster(path)
        stemmer = next(
            (s["stemmer"] for s in _reachable_records(shards, path) if s), DEFAULT_STEMMER
        )
        return Index(_xapian(shards, path, stemmer, settings), list(synonyms), vectors)
    _finish_interrupted_swap(path)
    meta = _read_json(path / META_FILE) if path.is_dir() else {}
    if meta.get("backend") == "xapian":
        _check_record(path, meta)
        require_xapian()
        shards_engine = _xapian(local_shards(path, meta["shards"]), path, meta["stemmer"], settings)
        return Index(shards_engine, list(synonyms), vectors)
    if path.is_dir():
        os.listdir(path)  # an unreadable folder is a PermissionError naming it, not "no index"
    if not path.is_dir() or not _holds_whoosh_index(path):
        raise IndexNotFoundError(
            f"no index at {path}; build one with `nato-search index SOURCE... --index {path}`"
        )
    _check_record(path, meta)

    def check() -> None:  # again whenever another process rebuilds the index
        _check_record(path, _read_json(path / META_FILE))

    try:
        engine = WhooshEngine(str(path), validate=check, settings=settings)
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
    try:  # a commit in another process may replace the table of contents as it is read
        return bool(_retry_replaced(str(path), lambda: windex.exists_in(str(path))))
    except Exception as exc:  # a table of contents that cannot be read
        raise _damaged(path, exc) from exc


def _damaged(path: Path, exc: Exception) -> IndexDamagedError:
    return IndexDamagedError(damage_message(path, exc))


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
    digest = hashlib.sha256(json.dumps(_format_record(DEFAULT_STEMMER)).encode())
    for seed in sorted(seeds_path().glob("*.txt")):
        digest.update(seed.name.encode() + b"\0" + seed.read_bytes())
    return home() / f"seeds-{digest.hexdigest()[:16]}"


_DEFAULT_NAME = re.compile(r"seeds-[0-9a-f]{16}")


def _build_default(path: Path) -> None:
    """Builds the seeds' index, then removes the ones earlier versions built: only
    folders with the default index's name that nato-search marked as its own."""
    build_index(seeds_path(), path).close()
    for stale in path.parent.glob("seeds-*"):
        if stale != path and _DEFAULT_NAME.fullmatch(stale.name) and _is_ours(stale):
            shutil.rmtree(stale, ignore_errors=True)
