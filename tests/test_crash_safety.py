"""Reliability: a writer killed at any moment leaves a working index with all or none of its batch.

A second process (``_reliability_writer.py``) adds or builds and is killed with SIGKILL:
no ``finally``, no ``cancel()``, no cleanup. Whoosh writes a commit's segment files
first and its table of contents last, and ``build_index`` writes beside the path,
so a reader opening the index afterwards sees the state before or after, never between.
"""

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _reliability_writer import NEW_WORD, paragraphs
from conftest import doc
from whoosh import index as windex

import nato_search
from nato_search.engines.whoosh import arrays_file, whoosh_private

HELPER = Path(__file__).resolve().parent / "_reliability_writer.py"
ADDED = 3000
"""Paragraphs the writer process adds in one ``ix.add`` call."""
KILLS = 4
BUILT = 1500
"""Paragraphs of the generated folder that a killed ``build_index`` was reading."""


ORIGINAL = [
    doc("a", "Les batteries Patriot arrivent en Pologne.", "Le sommet de Vilnius se prépare."),
    doc("b", "La défense aérienne ukrainienne tient bon.", "Des batteries Patriot sont promises."),
    doc("c", "Les munitions manquent sur le front."),
]
OLD_COUNT = 5


def hits(ix, query):
    return sorted((h.doc_id, h.paragraph) for h in ix.search(query, fuzzy=False))


def assert_original(ix):
    assert hits(ix, "patriot") == [("a", 0), ("b", 1)]
    assert hits(ix, "munitions") == [("c", 0)]
    assert_arrays_match(ix.path)


def assert_arrays_match(path):
    """Every arrays file beside a live segment holds exactly what a fresh read of that
    segment gives (a missing one is allowed: it is read into memory, saved by the next
    write), and none is left for a segment that is gone."""
    reader = windex.open_dir(str(path)).reader()
    try:
        live = set()
        for leaf, _ in reader.leaf_readers():
            segment = leaf.segment()
            live.add(arrays_file.file_name(segment.segment_id()))
            saved = arrays_file.load(path, segment.segment_id(), segment.doc_count_all())
            if saved is None:
                continue
            fresh = whoosh_private.build(leaf)
            for name in ("length", "day"):
                assert np.array_equal(getattr(saved, name), getattr(fresh, name)), name
            for field in ("words", "names"):
                a, b = getattr(saved, field), getattr(fresh, field)
                for part in ("term_blob", "term_off", "post_off", "docs", "tf", "pos_term", "pos"):
                    x, y = getattr(a, part), getattr(b, part)
                    assert (x is None and y is None) or np.array_equal(x, y), (field, part)
    finally:
        reader.close()
    assert {p.name for p in Path(path).glob("*.arrays")} <= live


class Writer:
    """The helper in a session of its own, output to files (a killed process's children
    could hold a pipe open forever)."""

    def __init__(self, tmp_path, command, *args):
        self.out = tmp_path / f"{command}-{time.monotonic_ns()}.out"
        self.err = self.out.with_suffix(".err")
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.process = subprocess.Popen(
                [sys.executable, str(HELPER), command, *map(str, args)],
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        self.pid = self.process.pid

    def wait(self, timeout=60):
        """Exit code and stdout; on a timeout, the whole session is killed and the test fails."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_session()
            pytest.fail(f"the writer process did not end within {timeout} s: {self.output()!r}")
        return code, self.output()

    def output(self):
        return self.out.read_text()

    def kill_after(self, delay):
        """SIGKILL the writer (not its children) ``delay`` s after it started; True if it was
        still running then."""
        try:
            self.process.wait(timeout=delay)
            return False
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            return True

    def survivors(self):
        """Live processes (zombies aside) left in the writer's session."""
        alive = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == self.pid and fields[0] != "Z":  # session id, state
                alive.append(int(stat.parent.name))
        return alive

    def kill_session(self):
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(params=[None, 2], ids=["default-workers", "2-workers"])
def build_workers(request, monkeypatch):
    """Builds by the helper process: with build_index's default, then on 2 worker processes
    (whatever the size of the build)."""
    if request.param:
        monkeypatch.setenv("NATO_TEST_WORKERS", str(request.param))
    return request.param


@pytest.fixture
def writers(tmp_path):
    """Starts helper processes; whatever they left running is killed at the end."""
    started = []

    def start(command, *args):
        started.append(Writer(tmp_path, command, *args))
        return started[-1]

    yield start
    for writer in started:
        writer.kill_session()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    path = tmp_path_factory.mktemp("pristine") / "ix"
    nato_search.build_index(ORIGINAL, path).close()
    return path


def copy_of(pristine, tmp_path, name):
    path = tmp_path / name
    shutil.copytree(pristine, path)
    return path


def test_a_writer_killed_at_random_moments_leaves_all_or_nothing(pristine, tmp_path, writers):
    # One full run, to know how long the writer takes and what "all" looks like.
    path = copy_of(pristine, tmp_path, "full")
    started = time.monotonic()
    assert writers("add", path, ADDED).wait() == (0, "adding\ndone\n")
    duration = time.monotonic() - started
    with nato_search.open_index(path) as ix:
        assert len(ix) == OLD_COUNT + ADDED
        assert ix.search(NEW_WORD, fuzzy=False).total == ADDED
        assert_original(ix)

    rng = random.Random(20240613)
    # One kill in each slice of the run, so they spread from start-up to commit.
    delays = [duration * (i + rng.random()) / KILLS for i in range(KILLS)]
    outcomes = []
    for i, delay in enumerate(delays):
        path = copy_of(pristine, tmp_path, f"killed{i}")
        killed = writers("add", path, ADDED).kill_after(delay)
        with nato_search.open_index(path) as ix:
            count = len(ix)
            outcomes.append((round(delay, 2), killed, count))
            assert count in (OLD_COUNT, OLD_COUNT + ADDED), outcomes
            assert ix.search(NEW_WORD, fuzzy=False).total == count - OLD_COUNT, outcomes
            assert_original(ix)
            # The dead writer's lock went with it: the next writer gets in at once.
            assert ix.add([doc("after", "Une reprise après la panne.")], timeout=1) == 1
            assert len(ix) == count + 1 and hits(ix, "reprise") == [("after", 0)]
            assert_arrays_match(path)
            assert sorted(p.name for p in Path(path).glob("*.arrays")) == sorted(
                p.name.removesuffix(".seg") + ".arrays" for p in Path(path).glob("*.seg")
            )  # the next write saved what the killed one had not
        with nato_search.open_index(path) as reopened:
            assert len(reopened) == count + 1
    assert any(killed and count == OLD_COUNT for _, killed, count in outcomes), outcomes


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A folder of 30 files, 50 paragraphs each, all holding ``NEW_WORD``."""
    folder = tmp_path_factory.mktemp("generated")
    texts = paragraphs(BUILT)
    for n in range(0, BUILT, 50):
        (folder / f"rapport{n:04d}.txt").write_text("\n\n".join(texts[n : n + 50]) + "\n", "utf-8")
    return folder


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_build_killed_midway_leaves_the_old_index_in_place(
    build_workers, pristine, generated, tmp_path, writers
):
    path = copy_of(pristine, tmp_path / "site", "ix")
    builder = writers("build-midway", generated, path)
    deadline = time.monotonic() + 60
    while builder.output() != "half\n" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert builder.kill_after(0)  # half the documents in, half to go
    builder.kill_session()  # any worker processes it had
    with nato_search.open_index(path) as ix:
        assert len(ix) == OLD_COUNT and ix.search(NEW_WORD, fuzzy=False).total == 0
        assert_original(ix)
    # The dead build's half-written folder stays beside the index until the next build,
    # which removes it (nobody holds its lock any more).
    assert [name.endswith(".building") for name in leftovers(path.parent)] == [True]
    with nato_search.build_index(generated, path) as ix:
        assert len(ix) == BUILT
    assert leftovers(path.parent) == []


def test_a_killed_build_leaves_no_process_behind(build_workers, pristine, tmp_path, writers):
    """Whoever kills a build (OOM killer, ``kill -9``) kills one process: any helper
    processes it started must notice and end, not wait forever for work. The build is
    killed while it waits for a slow source, so any helpers are idle then."""
    path = copy_of(pristine, tmp_path / "site", "ix")
    builder = writers("build-slow-source", path)
    deadline = time.monotonic() + 20
    while builder.output() != "waiting\n" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert builder.output() == "waiting\n"
    time.sleep(0.5)  # let any helper process take up the work handed out so far
    assert builder.kill_after(0)
    deadline = time.monotonic() + 3
    while builder.survivors() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert builder.survivors() == []
    with nato_search.open_index(path) as ix:
        assert len(ix) == OLD_COUNT
        assert_original(ix)


@pytest.mark.parametrize("mode", ["exchange", "two-renames"])
def test_a_build_killed_in_its_swap_still_leaves_an_index_at_the_path(
    build_workers, pristine, tmp_path, writers, mode
):
    """``build_index`` swaps the new folder in with one exchange (or, where the system
    cannot, moves the old index aside, then the new one in): a crash at any point of the
    swap must not leave the path empty (old or new contents are both acceptable), and
    the next build removes what the dead one left."""
    path = copy_of(pristine, tmp_path / "site", "ix")
    sources = tmp_path / "new.txt"
    sources.write_text(f"Un tout nouveau paragraphe avec le mot {NEW_WORD} dedans.\n", "utf-8")
    outcome = writers("build-die-in-swap", mode, sources, path).wait()
    assert outcome == (-signal.SIGKILL, "building\n")
    with nato_search.open_index(path) as ix:
        assert len(ix) in (OLD_COUNT, 1)
        if len(ix) == OLD_COUNT:
            assert_original(ix)
        else:
            assert ix.search(NEW_WORD, fuzzy=False).total == 1
    with nato_search.build_index(sources, path) as ix:
        assert len(ix) == 1
    assert leftovers(path.parent) == []


def test_a_build_that_fails_on_a_bad_file_leaves_the_old_index_and_no_temporary_folder(
    build_workers, pristine, generated, tmp_path, writers
):
    path = copy_of(pristine, tmp_path / "site", "ix")
    bad = tmp_path / "bad"
    shutil.copytree(generated, bad)
    latin = bad / "zz_latin.txt"  # read last, after every good file was written
    latin.write_bytes("Défense aérienne renforcée à l'est de l'Europe.\n".encode("latin-1"))
    code, out = writers("build", bad, path).wait(timeout=20)
    assert code == 0 and out.startswith(f"building\nerror: {latin}: not UTF-8 text"), out
    assert sorted(os.listdir(path.parent)) == ["ix"]  # no .building nor .old folder
    with nato_search.open_index(path) as ix:
        assert len(ix) == OLD_COUNT and ix.search(NEW_WORD, fuzzy=False).total == 0
        assert_original(ix)


def test_a_build_whose_source_raises_returns_the_error_and_leaves_nothing_behind(
    build_workers, pristine, tmp_path, writers
):
    """The error reaches the caller, whose process can then exit: no helper process of
    the failed build is left waiting for work (which would hang the caller at exit)."""
    path = copy_of(pristine, tmp_path / "site", "ix")
    builder = writers("build-failing-source", path)
    assert builder.wait(timeout=10) == (0, "building\nerror: the source broke\n")
    assert builder.survivors() == []
    assert sorted(os.listdir(path.parent)) == ["ix"]
    with nato_search.open_index(path) as ix:
        assert len(ix) == OLD_COUNT
        assert_original(ix)


# --- commits that fail -------------------------------------------------------------------


def test_a_commit_that_fails_releases_the_lock_and_changes_nothing(pristine, tmp_path, monkeypatch):
    """A commit can fail (disk full while writing the table of contents): the error reaches
    the caller, the index is as before, and this process can write again at once, even
    while the caller keeps the error (a logger, an error tracker, ``sys.exc_info()``)."""
    from whoosh.writing import SegmentWriter

    path = copy_of(pristine, tmp_path, "ix")

    def disk_full(self, segments):
        raise OSError(28, "No space left on device")

    with nato_search.open_index(path) as ix:
        with monkeypatch.context() as patched:
            patched.setattr(SegmentWriter, "_commit_toc", disk_full)
            with pytest.raises(OSError, match="No space left") as caught:
                ix.add([doc("lost", "Un paragraphe perdu.")])
        assert len(ix) == OLD_COUNT and ix.search("perdu", fuzzy=False).total == 0
        assert ix.add([doc("kept", "Un paragraphe gardé.")], timeout=0.5) == 1
        del caught
        assert hits(ix, "garde") == [("kept", 0)]
    with nato_search.open_index(path) as ix:
        assert len(ix) == OLD_COUNT + 1
        assert_original(ix)


def test_writers_that_seeded_random_alike_both_commit(pristine, tmp_path):
    """Whoosh names each new segment with the global ``random`` module. Two writers that
    seeded it alike (two runs of a script that calls ``random.seed(0)``, two tests under
    hypothesis) must still write segments of different names."""
    path = copy_of(pristine, tmp_path, "ix")
    state = random.getstate()
    try:
        with nato_search.open_index(path) as ix:
            for n in range(2):
                random.seed(0)
                assert (
                    ix.add([doc(f"seeded{n}", f"Le lot numéro {n} est livré.")], timeout=0.5) == 1
                )
    finally:
        random.setstate(state)
    with nato_search.open_index(path) as ix:
        assert len(ix) == OLD_COUNT + 2
        assert hits(ix, "livre") == [("seeded0", 0), ("seeded1", 0)]
        assert_original(ix)
