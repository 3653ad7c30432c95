"""Every error a user of the library catches, in one place (all exported by ``nato_search``).

Each message says what is wrong and what to do; none carries a traceback from inside.
"""

from __future__ import annotations

import os


class IndexLockedError(RuntimeError):
    """Another writer holds the index's lock (it is released when that writer ends or dies)."""


class IndexClosedError(ValueError):
    """The :class:`Index` was closed; open it again to search or write."""


class IndexDamagedError(RuntimeError):
    """The index's files cannot be read (truncated, overwritten); it must be rebuilt."""


class OptionError(ValueError):
    """A search option that cannot be used; ``option`` names it (``limit``, ``filter``…)."""

    def __init__(self, option: str, message: str):
        super().__init__(message)
        self.option = option


def damage_message(path: str | os.PathLike[str], exc: BaseException) -> str:
    return (
        f"the index at {path} is damaged ({type(exc).__name__}: {exc}); "
        f"rebuild it with `nato-search index SOURCE... --index {path} --rebuild`"
    )


class IndexNotFoundError(FileNotFoundError):
    """No index at the given path."""


class IndexVersionError(RuntimeError):
    """The index was built by other analysis or another format; it must be rebuilt."""


class ShardError(RuntimeError):
    """A shard could not be reached or answered badly; the message names it."""


class ClusterConfigError(ValueError):
    """A cluster file that cannot be used; nothing was written."""


class CorpusError(ValueError):
    """A source file that cannot be read as documents; the message names the file."""


class NothingToIndexError(CorpusError):
    """Sources that give no paragraph: an empty folder, or none of its files readable.
    The CLI exits 2 on it, as on a usage error: the command was given nothing to do."""


class CorpusWarning(UserWarning):
    """A file or link under a source left out, and why: a format no reader takes, a
    damaged or encrypted file, a symbolic link to a folder."""


class VectorsUnavailableError(RuntimeError):
    """The word vectors package is not installed (or not in a layout this version reads)."""
