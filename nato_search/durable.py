"""Files that survive a power loss, and the locks of an index folder; below everything.

Files are written in the order SQLite and Lucene use: write to a new name, fsync it,
rename it into place, fsync the folder. Without the first fsync a renamed file can come
back empty; without the last the rename itself can be lost."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from nato_search.errors import IndexLockedError
from nato_search.settings import LOCK_TIMEOUT

__all__ = ["replacing", "sync_file", "sync_folder", "write_file"]


def sync_file(path: str | os.PathLike[str]) -> None:
    """Waits until what was written to ``path`` is on the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_folder(folder: str | os.PathLike[str]) -> None:
    """Waits until the names made, renamed or removed in ``folder`` are on the disk (a
    no-op where a file system cannot sync folders)."""
    with contextlib.suppress(OSError):
        sync_file(folder)


@contextlib.contextmanager
def replacing(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A new file to write that takes ``path``'s place, whole, once the block ends without
    an error (else it is removed). Its hidden name (a dot first) is one Whoosh's clean-up
    skips."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(6)}.tmp")
    try:
        with open(temporary, "xb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    sync_folder(path.parent)


def write_file(path: str | os.PathLike[str], data: bytes) -> None:
    """``data`` at ``path``, whole or not at all, also after a crash or power loss."""
    with replacing(path) as file:
        file.write(data)


LOCK_FILE = "MAIN_WRITELOCK"
"""Whoosh's own lock file, so stock Whoosh writers and ours exclude each other."""


SOURCES_LOCK_FILE = "sources.lock"
"""Held from reading the sources manifest to writing it again (``update_index``)."""


@contextlib.contextmanager
def write_lock(
    path: str | os.PathLike[str], timeout: float = LOCK_TIMEOUT, lock_file: str = LOCK_FILE
) -> Iterator[None]:
    """The write lock of the index folder at ``path``, held while that folder is still there
    (``lock_file``: another lock of the folder, such as :data:`SOURCES_LOCK_FILE`).

    A rebuild swaps a new folder in while it holds the old folder's lock; a
    writer that was waiting then holds the lock of a folder that is no longer
    the index, so it lets go and takes the new folder's. The lock is an
    ``flock``, released by the kernel when its file closes, so every exit
    path (and a killed process) releases it.
    """
    name = os.path.join(path, lock_file)
    doing = "updated from its sources" if lock_file == SOURCES_LOCK_FILE else "written"
    deadline = time.monotonic() + timeout
    while True:
        fd = os.open(name, os.O_CREAT | os.O_WRONLY, 0o666)
        try:
            while not _try_lock(fd):
                if time.monotonic() >= deadline:
                    raise IndexLockedError(
                        f"the index at {path} is being {doing} by another process; waited "
                        f"{timeout:g} s. Try again when it is done (a writer that was killed "
                        "releases the lock with it)."
                    )
                time.sleep(0.02)
            if _same_file(fd, name):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the folder was swapped while we waited: lock the new one
    try:
        yield
    finally:
        os.close(fd)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _same_file(fd: int, name: str) -> bool:
    try:
        found = os.stat(name)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (found.st_dev, found.st_ino)


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Whole or not at all, also after a crash or a power loss."""
    write_file(path, json.dumps(data, ensure_ascii=False).encode("utf-8"))


def read_json(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text("utf-8"))
        return data
    except (OSError, ValueError):
        return {}
