"""Index folders that are never half there: a build writes a new folder beside the index and
swaps it in whole (one atomic exchange where the system has it, else two renames that a
later open finishes), and abandoned builds are removed by the next."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from nato_search.durable import SOURCES_LOCK_FILE, read_json, write_lock
from nato_search.engines.fields import META_FILE
from nato_search.settings import LOCK_TIMEOUT


def is_replaceable(path: Path) -> bool:
    """An empty folder, or one that nato-search built: only those are ever replaced."""
    return path.is_dir() and (is_ours(path) or not any(path.iterdir()))


def is_ours(path: Path) -> bool:
    """A folder whose metadata file is one nato-search wrote (any version)."""
    meta = read_json(path / META_FILE)
    return {"format", "analyzer", "stemmer", "backend"} <= meta.keys()


_BUILDING_LOCK = ".building.lock"
"""Held by the process building a folder; a folder whose lock is free was abandoned."""


@contextlib.contextmanager
def building_folder(path: Path) -> Iterator[Path]:
    """A new folder beside ``path`` to build in, removed unless it was swapped in.

    Made with ``mkdir`` so that it follows the umask like any folder the user
    creates; named ``.NAME.*.building`` only once its lock is held, so that
    :func:`remove_abandoned_builds` never takes a live build for a dead one.
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


def remove_abandoned_builds(path: Path) -> None:
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


def finish_interrupted_swap(path: Path) -> None:
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


def swap_in(building: Path, path: Path) -> None:
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
