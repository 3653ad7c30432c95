"""A bounded pool of reader objects shared by any number of threads.

An index opened once in a web back end serves thousands of short-lived
threads. Readers (Whoosh searchers, Xapian databases) are not safe to use
from two threads at once, and each holds open files, so one per thread grows
without bound. The pool lends each search one reader at a time, keeps at
most ``size`` of them, and drops the ones a newer commit has made stale.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from nato_search.settings import POOL_SIZE

T = TypeVar("T")

_UNKNOWN = object()
"""The version when it cannot be read: equal to no reader's."""


class Pool(Generic[T]):
    """Lends readers; waits when all ``size`` are lent, never opens more."""

    def __init__(
        self,
        open_reader: Callable[[], T],
        close_reader: Callable[[T], None],
        version: Callable[[], object] = lambda: None,
        version_of: Callable[[T], object] = lambda reader: None,
        size: int = POOL_SIZE,
    ):
        """``version()`` names the latest commit (it may read the disk, so it is asked
        once per lease and return, outside the lock); ``version_of(reader)`` the commit a
        reader sees. A reader of another version is closed instead of lent again."""
        if size < 1:
            raise ValueError(f"a pool needs at least one reader, not {size!r}")
        self._open = open_reader
        self._close = close_reader
        self._version = version
        self._version_of = version_of
        self.size = size
        self._idle: list[T] = []
        self._lent = 0
        self._closed = False
        self._changed = threading.Condition()

    @property
    def open_readers(self) -> int:
        """Readers lent or idle: never more than ``size``."""
        with self._changed:
            return self._lent + len(self._idle)

    @contextmanager
    def lease(self) -> Iterator[T]:
        reader = self._take()
        try:
            yield reader
        finally:
            self._give_back(reader)

    def _latest(self) -> object:
        try:
            return self._version()
        except OSError:  # the index is being replaced: no reader is known to be current
            return _UNKNOWN

    def _take(self) -> T:
        latest = self._latest()
        with self._changed:
            while True:
                if self._closed:
                    raise ValueError("the index is closed")
                stale = [r for r in self._idle if self._version_of(r) != latest]
                for reader in stale:  # all of them: each holds the files of an old commit
                    self._idle.remove(reader)
                    self._close(reader)
                if self._idle:
                    self._lent += 1
                    return self._idle.pop()
                if self._lent < self.size:
                    self._lent += 1  # reserve the place, then open outside the lock
                    break
                self._changed.wait()
        try:
            return self._open()
        except BaseException:
            with self._changed:
                self._lent -= 1
                self._changed.notify()
            raise

    def _give_back(self, reader: T) -> None:
        latest = self._latest()
        with self._changed:
            self._lent -= 1
            if self._closed or self._version_of(reader) != latest:
                self._close(reader)
            else:
                self._idle.append(reader)
            self._changed.notify()

    def close(self) -> None:
        """Closes idle readers now and lent ones when they come back."""
        with self._changed:
            self._closed = True
            idle, self._idle = self._idle, []
            self._changed.notify_all()
        for reader in idle:
            self._close(reader)
