"""Building a new Whoosh index on several cores: worker processes each write a segment.

The parent reads the documents and hands them out in batches, in turn, to
``workers - 1`` processes (``python -c`` running :func:`main`) and itself;
each writes one segment of the new index with a :class:`SegmentBuilder`,
with its arrays (a worker sends its segment back). A worker that still has
two batches in hand (starting up, or slower on a busy machine) passes its
turn to the parent, so which segment holds a paragraph depends on timing; the
index holds the same postings either way. The parent lists the segments in
one table of contents: one commit. A small build (under :data:`PARALLEL_FROM` paragraphs,
unless ``workers`` was given) runs in the calling process, as does
``workers=1``.

Nothing outlives a failed build: a worker that fails reports its error and
ends; the parent kills every worker on any error, Ctrl-C included, and waits
for them; a worker whose parent dies is killed by the kernel (Linux's
``PR_SET_PDEATHSIG``) or, elsewhere, ends when it reads the end of its pipe.
Workers write only inside the folder being built, which the caller removes
when the build fails.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import gc
import itertools
import os
import pickle
import select
import shutil
import signal
import subprocess
import sys
import traceback
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from whoosh.codec.base import Segment
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, clean_files

from nato_search.engines.base import Progress
from nato_search.engines.whoosh.segment_builder import SegmentBuilder
from nato_search.engines.whoosh.writer import DurableStorage, unique_documents, write_documents
from nato_search.readers.corpus import Document

PARALLEL_FROM = 4000
"""Paragraphs from which a build with the default ``workers`` starts worker processes:
below that, starting them costs more than they save."""
BATCH = 500
"""Paragraphs handed to a worker at a time."""
_PIPE_SIZE = 1 << 20
_INDEX_NAME = "MAIN"
_PACKAGE = __name__.partition(".")[0]
_WORKER_CODE = (
    # The library without its top __init__, which imports all of it (the facade, the
    # web app...): a third of a worker's start. One BLAS thread: a worker does no algebra.
    "import os, sys, types; os.environ.setdefault('OPENBLAS_NUM_THREADS', '1'); "
    f"package = types.ModuleType({_PACKAGE!r}); "
    f"package.__path__ = [{str(Path(__file__).resolve().parents[2])!r}]; "
    f"sys.modules[{_PACKAGE!r}] = package; "
    f"from {__name__} import main; main()"
)


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def write_segments(
    folder: Path,
    documents: Iterable[Document],
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> None:
    """Writes ``documents`` into the empty Whoosh index at ``folder`` in one commit."""
    storage = DurableStorage(str(folder))
    schema = storage.open_index(_INDEX_NAME).schema
    stream = unique_documents(documents, progress)
    count = default_workers() if workers is None else workers
    ahead: list[Document] = []
    paragraphs = 0
    if count > 1 and workers is None:
        for document in stream:  # read ahead: is the build big enough for workers?
            ahead.append(document)
            paragraphs += len(document.paragraphs)
            if paragraphs >= PARALLEL_FROM:
                break
        else:
            count = 1
    builder = SegmentBuilder(storage, schema, _INDEX_NAME)  # this process's own segment
    try:
        with _without_cycle_collection():
            if count == 1:
                write_documents(builder, itertools.chain(ahead, stream))
                segments = [builder.finish(folder)]
            else:
                with _Workers(folder, count - 1) as pool:
                    # Batches in turn to each worker and this process; this process also writes
                    # the batches of a worker that has two in hand (still starting, or slower).
                    for number, batch in enumerate(_batches(ahead, stream, count)):
                        if number % count == count - 1 or not pool.take(batch):
                            write_documents(builder, batch)
                    pool.end_input()
                    own = builder.finish(folder)  # while the workers write theirs
                    segments = [*pool.results(), own]
    except BaseException:
        builder.cancel()
        raise
    segments = [s for s in segments if s is not None]
    storage.sync_segments(segments)  # the workers' segments too
    TOC(schema, segments, 1).write(storage, _INDEX_NAME)
    clean_files(storage, _INDEX_NAME, 1, segments)  # the empty index's table of contents
    shutil.rmtree(folder / f"{_INDEX_NAME}.tmp", ignore_errors=True)


@contextlib.contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector off while documents are written: it would walk the
    millions of objects of a build again and again (a tenth of its time); the postings
    hold no cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _batches(
    ahead: list[Document], stream: Iterator[Document], workers: int
) -> Iterator[list[Document]]:
    """Batches of about BATCH paragraphs; smaller when the whole source is small, so
    that every worker gets a share."""
    known = sum(len(d.paragraphs) for d in ahead)
    for document in stream if known < BATCH * workers else ():
        ahead.append(document)
        known += len(document.paragraphs)
        if known >= BATCH * workers:
            break
    size = BATCH if known >= BATCH * workers else max(1, -(-known // workers))
    batch: list[Document] = []
    held = 0
    for document in itertools.chain(ahead, stream):
        batch.append(document)
        held += len(document.paragraphs)
        if held >= size:
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


class WorkerError(RuntimeError):
    """A build worker process ended without finishing its segment."""


class _Worker:
    def __init__(self, folder: Path):
        worker_reads, parent_writes = _pipe()
        parent_reads, worker_writes = _pipe()
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _WORKER_CODE,
                    str(folder),
                    str(os.getpid()),
                    str(worker_reads),
                    str(worker_writes),
                ],
                pass_fds=(worker_reads, worker_writes),
                stdin=subprocess.DEVNULL,
            )
        except BaseException:
            os.close(parent_writes)
            os.close(parent_reads)
            raise
        finally:
            os.close(worker_reads)
            os.close(worker_writes)
        self.input: BinaryIO = os.fdopen(parent_writes, "wb")
        # unbuffered, so that select() tells whether a reply is waiting
        self.output: BinaryIO = os.fdopen(parent_reads, "rb", buffering=0)
        self.in_hand = 0
        """Batches sent that the worker has not finished yet."""

    def send(self, message: Any) -> None:
        try:
            pickle.dump(message, self.input, pickle.HIGHEST_PROTOCOL)
            self.input.flush()
        except BrokenPipeError:
            raise self.failure() from None
        self.in_hand += message is not None

    def busy(self) -> bool:
        """Whether the worker still has two batches in hand (one it writes, one waiting)."""
        while self.in_hand and select.select([self.output], [], [], 0)[0]:
            self._reply()  # each reply is one small write: readable means all there
        return self.in_hand >= 2

    def _reply(self) -> Any:
        try:
            kind, value = pickle.load(self.output)
        except (EOFError, pickle.UnpicklingError):
            raise self.failure() from None
        if kind == "error":
            raise value
        if kind == "batch":
            self.in_hand -= 1
        return value

    def result(self) -> Segment | None:
        while self.in_hand:
            self._reply()
        segment: Segment | None = self._reply()
        return segment

    def failure(self) -> BaseException:
        """What the worker said before it ended, else how it ended."""
        with contextlib.suppress(Exception):
            kind, value = pickle.load(self.output)
            if kind == "error" and isinstance(value, BaseException):
                return value
        code = self.process.wait()
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        return WorkerError(f"a build worker process (pid {self.process.pid}) {how}")

    def close(self) -> None:
        for stream in (self.input, self.output):
            with contextlib.suppress(OSError):
                stream.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class _Workers:
    """``count`` worker processes, each writing one segment; all killed on leaving."""

    def __init__(self, folder: Path, count: int):
        self.workers: list[_Worker] = []
        self._next = 0
        try:
            for _ in range(count):
                self.workers.append(_Worker(folder))
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def take(self, batch: list[Document]) -> bool:
        """Hands ``batch`` to the next worker in turn; False (the caller writes it) when that
        worker has two in hand already: a worker still starting, or slower."""
        worker = self.workers[self._next]
        self._next = (self._next + 1) % len(self.workers)
        if worker.busy():
            return False
        worker.send(batch)
        return True

    def end_input(self) -> None:
        """No more batches: each worker writes its segment."""
        for worker in self.workers:
            worker.send(None)

    def results(self) -> list[Segment]:
        """The workers' segments, once written."""
        segments = [worker.result() for worker in self.workers]
        return [s for s in segments if s is not None]

    def close(self) -> None:
        for worker in self.workers:
            worker.close()


def _pipe() -> tuple[int, int]:
    read, write = os.pipe()
    with contextlib.suppress(AttributeError, OSError):  # a bigger buffer: fewer waits
        fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
    return read, write


# --- the worker process ------------------------------------------------------------


def _die_with_parent(parent: int) -> None:
    """Asks the kernel to kill this process when its parent dies (Linux)."""
    with contextlib.suppress(AttributeError, OSError):
        set_death_signal = 1  # PR_SET_PDEATHSIG
        ctypes.CDLL(None, use_errno=True).prctl(set_death_signal, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before that took effect
        os._exit(1)


def _serve(folder: str, input_fd: int, output_fd: int) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; Ctrl-C reaches it too
    gc.disable()  # as in the parent (_without_cycle_collection)
    with os.fdopen(input_fd, "rb") as messages, os.fdopen(output_fd, "wb") as replies:
        storage = FileStorage(folder)
        builder: SegmentBuilder | None = None
        try:
            builder = SegmentBuilder(storage, storage.open_index(_INDEX_NAME).schema, _INDEX_NAME)
            while (batch := pickle.load(messages)) is not None:
                write_documents(builder, batch)
                pickle.dump(("batch", None), replies, pickle.HIGHEST_PROTOCOL)
                replies.flush()
            reply: tuple[str, Any] = ("done", builder.finish(folder))
        except EOFError:  # the parent went away
            if builder is not None:
                builder.cancel()
            return 1
        except Exception as exc:
            if builder is not None:
                builder.cancel()
            reply = ("error", _picklable(exc))
        pickle.dump(reply, replies, pickle.HIGHEST_PROTOCOL)
    return 0


def _picklable(exc: Exception) -> Exception:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return WorkerError("".join(traceback.format_exception(exc)))
    return exc


def main() -> None:
    """A worker process: ``FOLDER PARENT_PID INPUT_FD OUTPUT_FD``."""
    folder, parent, input_fd, output_fd = sys.argv[1:]
    _die_with_parent(int(parent))
    sys.exit(_serve(folder, int(input_fd), int(output_fd)))
