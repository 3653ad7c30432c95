"""Commits that survive a power loss: every file a commit lists is synced before the table
of contents that lists it is renamed into place, that file before its rename, and its
folder after. A power cut cannot be staged in a test; the order of the real system calls
can be recorded, and it is what makes the guarantee."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import doc

import nato_search
from nato_search import update_index


class Recorder:
    """The paths given to os.fsync and os.rename/os.replace, in order (calls go through)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.events: list[tuple[str, str]] = []
        fsync, rename, replace = os.fsync, os.rename, os.replace

        def traced_fsync(fd: int) -> None:
            self.events.append(("sync", os.readlink(f"/proc/self/fd/{fd}")))
            fsync(fd)

        def traced(name: str, call):  # type: ignore[no-untyped-def]
            def run(source, target, **kwargs):  # type: ignore[no-untyped-def]
                call(source, target, **kwargs)
                self.events.append((name, str(Path(source).resolve())))
                self.events.append((f"{name}d", str(Path(target).resolve())))

            return run

        monkeypatch.setattr(os, "fsync", traced_fsync)
        monkeypatch.setattr(os, "rename", traced("rename", rename))
        monkeypatch.setattr(os, "replace", traced("replace", replace))

    def synced(self, path: Path) -> list[int]:
        return [n for n, (kind, p) in enumerate(self.events) if kind == "sync" and p == str(path)]

    def renamed_to(self, path: Path) -> int:
        """When ``path`` was last renamed into place."""
        return max(
            n for n, (kind, p) in enumerate(self.events) if kind.endswith("d") and p == str(path)
        )


def toc(folder: Path) -> Path:
    return max(folder.glob("_MAIN_*.toc"), key=lambda p: int(p.stem.rpartition("_")[2]))


def check_commit(events: Recorder, folder: Path, before: set[str]) -> None:
    """The latest commit in ``folder``: its new segment files, then its table of contents
    (before its rename), then the folder (after it) were synced."""
    table = toc(folder)
    renamed = events.renamed_to(table)
    source = events.events[renamed - 1][1]  # the temporary name it was written under
    new = [p for p in folder.glob("MAIN_*.seg") if p.name not in before]
    assert new, "a commit with no new segment"
    for segment in new:
        assert any(n < renamed for n in events.synced(segment)), segment.name
    assert any(n < renamed for n in events.synced(Path(source))), "the toc before its rename"
    assert any(n > renamed for n in events.synced(folder)), "the folder after the rename"


def test_an_add_syncs_its_segment_then_its_table_of_contents_then_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ix = nato_search.build_index([doc("a", "Les batteries Patriot arrivent.")], tmp_path / "ix")
    folder = Path(ix.path).resolve()
    before = {p.name for p in folder.iterdir()}
    events = Recorder(monkeypatch)
    ix.add([doc("b", "La défense aérienne tient.")])
    check_commit(events, folder, before)
    ix.close()


def test_a_delete_syncs_its_table_of_contents_then_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ix = nato_search.build_index([doc("a", "Patriot."), doc("b", "Défense.")], tmp_path / "ix")
    folder = Path(ix.path).resolve()
    events = Recorder(monkeypatch)
    ix.delete("a")
    renamed = events.renamed_to(toc(folder))
    assert any(n < renamed for n in events.synced(Path(events.events[renamed - 1][1])))
    assert any(n > renamed for n in events.synced(folder))
    ix.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_build_syncs_every_file_it_leaves_then_the_swap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """With workers, the segments other processes wrote are synced by the one committing."""
    documents = [doc(f"d{n}", f"Paragraphe {n} sur la défense.") for n in range(400)]
    events = Recorder(monkeypatch)
    ix = nato_search.build_index(documents, tmp_path / "ix", workers=workers)
    folder = Path(ix.path).resolve()
    swapped = max(n for n, (kind, p) in enumerate(events.events) if p == str(tmp_path))
    synced = {Path(p).name for kind, p in events.events[:swapped] if kind == "sync"}
    assert events.events[swapped][0] == "sync", "the parent folder after the swap"
    kept = {p.name for p in folder.iterdir()}
    assert {name for name in kept if name.endswith(".seg")} <= synced
    assert {"nato-search.json", "sources.json"} & kept <= synced | {
        Path(p).name for kind, p in events.events if kind.endswith("d")
    }
    assert len(list(ix.search("défense", limit=1000))) == 400
    ix.close()


def test_the_sources_manifest_is_synced_before_and_after_its_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = tmp_path / "src"
    sources.mkdir()
    (sources / "a.txt").write_text("Titre\n\nLes batteries Patriot arrivent.\n", "utf-8")
    nato_search.build_index([sources], tmp_path / "ix").close()
    (sources / "b.txt").write_text("Titre\n\nLa défense aérienne tient.\n", "utf-8")
    events = Recorder(monkeypatch)
    update_index([sources], tmp_path / "ix")
    manifest = (tmp_path / "ix").resolve() / "sources.json"
    renames = [n for n, (kind, p) in enumerate(events.events) if p == str(manifest)]
    assert len(renames) == 2  # ahead of the commit, then after it
    for renamed in renames:
        assert any(n < renamed for n in events.synced(Path(events.events[renamed - 1][1])))
        assert any(n > renamed for n in events.synced(manifest.parent))


def test_the_durability_benchmark_reports_what_fsync_costs(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "durability.py"
    out = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, str(script), "--seeds", "--adds", "3", "--where", str(tmp_path)]
        + ["--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text("utf-8"))
    assert report["paragraphs"] == 21 and report["add"]["count"] == 3
    for kind in ("build", "add", "delete"):
        assert report[kind]["fsync_calls"] >= 3, kind  # segment(s), toc, folder
        assert 0 < report[kind]["share"] < 1, kind
    assert not list(tmp_path.glob(".durability-*"))  # its index is removed
