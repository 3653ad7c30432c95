"""Reliability: many searching threads beside a writer, and writers in two processes.

The write lock is Whoosh's ``WRITELOCK`` file held with ``fcntl.flock``: a second
writer waits up to its timeout, then gets ``IndexLockedError``; a writer that
dies (even by SIGKILL) has its lock released by the operating system.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import doc

import nato_search
from nato_search import IndexLockedError

HELPER = Path(__file__).resolve().parent / "_reliability_writer.py"

K = 3
"""Paragraphs per committed batch."""
SHARED = "zebulon"
WRITE_SECONDS = 2.5
READERS = 8


def batch_word(n):
    return f"lot{n}w"


def batch(n):
    return doc(
        f"batch{n}",
        *(f"Le lot {batch_word(n)} numéro {i} contient {SHARED} et des obus." for i in range(K)),
    )


def exact(index, query):
    return index.search(query, limit=1, fuzzy=False, synonyms=False, names=False).total


# --- threads in one process ------------------------------------------------------


def test_searches_in_eight_threads_see_whole_batches_while_another_thread_commits(ix):
    """Every search sees a committed state: whole batches only, never fewer than before,
    never more than the writer has committed; afterwards every batch is found once."""
    assert len(ix) == 2 and exact(ix, SHARED) == 0  # this thread's searcher predates the writes
    committed = 0  # batches whose add() has returned
    done = threading.Event()
    errors: list[str] = []
    seen: list[list[int]] = [[] for _ in range(READERS)]
    final: list[int | None] = [None] * READERS

    def writer():
        nonlocal committed
        try:
            deadline = time.monotonic() + WRITE_SECONDS
            n = 0
            while time.monotonic() < deadline:
                assert ix.add([batch(n)]) == K
                n += 1
                committed = n
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(f"writer: {exc!r}")
        finally:
            done.set()

    def reader(r):
        try:
            while not done.is_set():
                before = committed
                total = exact(ix, SHARED)
                after = committed
                if total % K:
                    errors.append(f"reader {r}: {total} paragraphs, not whole batches of {K}")
                if seen[r] and total < seen[r][-1]:
                    errors.append(f"reader {r}: went back from {seen[r][-1]} to {total}")
                # add() returns after its commit, so at most one batch more than counted.
                if not K * before <= total <= K * (after + 1):
                    errors.append(f"reader {r}: {total} with {before}..{after} batches committed")
                seen[r].append(total)
            final[r] = exact(ix, SHARED)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(f"reader {r}: {exc!r}")

    threads = [threading.Thread(target=reader, args=(r,)) for r in range(READERS)]
    threads.append(threading.Thread(target=writer))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    assert errors[:5] == []
    batches = committed
    assert batches >= 5, "the writer committed too few batches for the test to mean anything"
    assert all(len(s) >= 5 for s in seen), [len(s) for s in seen]
    assert final == [K * batches] * READERS
    # This thread's searcher was opened before the writes: refreshed, it must count exactly.
    assert len(ix) == 2 + K * batches
    assert exact(ix, SHARED) == K * batches
    assert [exact(ix, batch_word(n)) for n in range(batches)] == [K] * batches
    with nato_search.open_index(ix.path) as fresh:
        assert len(fresh) == 2 + K * batches


def test_a_long_lived_index_counts_exactly_after_many_commits_deletes_and_updates(ix):
    """One thread, many commits: Whoosh merges segments every few commits, and the
    refreshed searcher must neither count merged segments twice nor miss deletions."""
    assert len(ix) == 2
    for n in range(12):
        ix.add([batch(n)])
        assert (len(ix), exact(ix, SHARED)) == (2 + K * (n + 1), K * (n + 1)), f"after batch {n}"
    assert ix.delete("a") == 1
    assert (len(ix), exact(ix, "patriot")) == (1 + K * 12, 0)
    ix.update([doc("batch0", "Remplacé.")])
    assert (len(ix), exact(ix, SHARED), exact(ix, batch_word(0))) == (2 + K * 11, K * 11, 0)


# --- two processes ------------------------------------------------------------------


def start_holder(path, seconds):
    """A second process holding the index's writer for ``seconds``, once it said "locked"."""
    process = subprocess.Popen(
        [sys.executable, str(HELPER), "hold", str(path), str(seconds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    if line != "locked\n":
        process.kill()
        pytest.fail(f"the holder did not lock: {line!r} {process.stderr.read()}")
    return process


def stop(process):
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)
    process.stdout.close()
    process.stderr.close()


def test_a_writer_in_another_process_makes_add_fail_after_its_timeout_naming_the_index(ix):
    holder = start_holder(ix.path, 30)
    try:
        started = time.monotonic()
        with pytest.raises(IndexLockedError) as caught:
            ix.add([doc("c", "Bloqué par un autre processus.")], timeout=0.5)
        elapsed = time.monotonic() - started
    finally:
        stop(holder)
    assert ix.path in str(caught.value) and "waited 0.5 s" in str(caught.value)
    assert 0.4 <= elapsed < 3
    assert len(ix) == 2 and exact(ix, "bloque") == 0


def test_a_second_writer_waits_for_the_first_process_to_finish(ix):
    holder = start_holder(ix.path, 1.0)
    try:
        started = time.monotonic()
        assert ix.add([doc("c", "Écrit après l’attente.")], timeout=5) == 1
        elapsed = time.monotonic() - started
        assert holder.wait(timeout=10) == 0
        assert holder.stdout.read() == "released\n"
    finally:
        stop(holder)
    assert 0.5 <= elapsed < 5
    assert len(ix) == 3 and exact(ix, "attente") == 1


def test_the_lock_of_a_killed_writer_is_released_at_once(ix):
    """The lock is an ``fcntl.flock`` on ``MAIN_WRITELOCK``: the kernel drops it when the
    holder's process dies, so no stale lock file can block the next writer."""
    holder = start_holder(ix.path, 60)
    os.kill(holder.pid, signal.SIGKILL)
    assert holder.wait(timeout=10) == -signal.SIGKILL
    stop(holder)
    started = time.monotonic()
    assert ix.add([doc("c", "Après la mort du verrou.")], timeout=0.5) == 1
    assert time.monotonic() - started < 2
    assert len(ix) == 3 and exact(ix, "verrou") == 1
