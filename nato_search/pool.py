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

T = TypeVar("T")

POOL_SIZE = 4
"""Readers per open index. Searches are CPU-bound under the GIL, so more would only cost files."""


class Pool(Generic[T]):
    """Lends readers; waits when all ``size`` are lent, never opens more."""

    def __init__(
        self,
        open_reader: Callable[[], T],
        close_reader: Callable[[T], None],
        is_current: Callable[[T], bool] = lambda reader: True,
        size: int = POOL_SIZE,
    ):
        if size < 1:
            raise ValueError(f"a pool needs at least one reader, not {size!r}")
        self._open = open_reader
        self._close = close_reader
        self._is_current = is_current
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

    def _take(self) -> T:
        with self._changed:
            while True:
                if self._closed:
                    raise ValueError("the index is closed")
                stale = [r for r in self._idle if not self._is_current(r)]
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
        with self._changed:
            self._lent -= 1
            if self._closed or not self._is_current(reader):
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
