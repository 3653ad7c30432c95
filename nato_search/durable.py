"""Files that survive a power loss, in the order SQLite and Lucene use: write to a new
name, fsync it, rename it into place, fsync the folder. Without the first fsync a renamed
file can come back empty; without the last the rename itself can be lost."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

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
