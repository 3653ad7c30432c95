"""The sources manifest (which file holds which ids) and the index never disagree for good:
updates of one index from several processes run one at a time, and an update killed
between its commit and its manifest leaves ids the next update removes. An orphan (a
document whose file is gone but that stays in the index) would be there forever."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import nato_search
from nato_search import update_index

HELPER = Path(__file__).resolve().parent / "_reliability_writer.py"


def write(folder: Path, name: str, title: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(f"{title}\n\n{text}\n", "utf-8")


def indexed(path: Path) -> set[str]:
    with nato_search.open_index(path) as ix:
        return {hit.doc_id for hit in ix.search("rapport", limit=1000, per_document=1)}


def helper(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(HELPER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_updating_two_folders_at_once_leave_no_orphan(tmp_path: Path) -> None:
    """Each process read the manifest, committed, and wrote its own view of it: the
    second write dropped the first's new files, whose documents then outlived them."""
    for trial in range(5):
        root = tmp_path / f"trial{trial}"
        folders = [root / "a", root / "b"]
        for name, folder in zip("ab", folders, strict=True):
            write(folder, f"base-{name}.txt", f"Rapport de base {name}", "Premier rapport.")
        path = root / "ix"
        nato_search.build_index(folders, path).close()
        for name, folder in zip("ab", folders, strict=True):
            write(folder, f"new-{name}.txt", f"Rapport nouveau {name}", "Un rapport ajouté.")
        updates = [helper("update", str(folder), str(path)) for folder in folders]
        assert all(update.wait(60) == 0 for update in updates), [u.stderr.read() for u in updates]
        assert indexed(path) == {"base-a", "base-b", "new-a", "new-b"}
        for name, folder in zip("ab", folders, strict=True):
            (folder / f"new-{name}.txt").unlink()
        updates = [helper("update", str(folder), str(path)) for folder in folders]
        assert all(update.wait(60) == 0 for update in updates)
        assert indexed(path) == {"base-a", "base-b"}, trial
        manifest = json.loads((path / "sources.json").read_text("utf-8"))
        assert sorted(Path(key).name for key in manifest) == ["base-a.txt", "base-b.txt"]


@pytest.mark.parametrize("mode", ["before", "after"])
def test_an_update_killed_around_its_commit_leaves_nothing_the_next_cannot_remove(
    tmp_path: Path, mode: str
) -> None:
    folder = tmp_path / "src"
    write(folder, "base.txt", "Rapport de base", "Premier rapport du dossier.")
    write(folder, "changed.txt", "Rapport ancien", "Une version ancienne du rapport.")
    path = tmp_path / "ix"
    nato_search.build_index(folder, path).close()
    write(folder, "new.txt", "Rapport nouveau", "Un rapport ajouté ensuite.")
    write(folder, "changed.txt", "Rapport changé", "Une version nouvelle du rapport.")
    killed = helper("update-die", mode, str(folder), str(path))
    assert killed.wait(60) == -9, killed.stderr.read()
    expected = {"base", "changed", "new"} if mode == "after" else {"base", "changed"}
    assert indexed(path) == expected
    manifest = json.loads((path / "sources.json").read_text("utf-8"))
    pending = {Path(key).name: state for key, state in manifest.items() if state.get("pending")}
    assert sorted(pending) == ["changed.txt", "new.txt"]  # written ahead of the commit
    assert pending["new.txt"]["docs"] == ["new"]
    (folder / "new.txt").unlink()  # gone before any update finished
    (folder / "changed.txt").unlink()
    assert update_index(folder, path) == {"changed": 0, "unchanged": 1, "removed": 2, "skipped": 0}
    assert indexed(path) == {"base"}
    manifest = json.loads((path / "sources.json").read_text("utf-8"))
    assert [Path(key).name for key in manifest] == ["base.txt"]
    assert not any(state.get("pending") for state in manifest.values())


def test_a_file_an_interrupted_update_was_changing_is_read_again(tmp_path: Path) -> None:
    """The file is as the killed update read it: its size, time and hash match the pending
    entry, yet the commit may not have landed, so the next update indexes it again."""
    folder = tmp_path / "src"
    write(folder, "base.txt", "Rapport de base", "Premier rapport du dossier.")
    path = tmp_path / "ix"
    nato_search.build_index(folder, path).close()
    write(folder, "new.txt", "Rapport nouveau", "Un rapport ajouté ensuite.")
    assert helper("update-die", "before", str(folder), str(path)).wait(60) == -9
    assert indexed(path) == {"base"}
    assert update_index(folder, path) == {"changed": 1, "unchanged": 1, "removed": 0, "skipped": 0}
    assert indexed(path) == {"base", "new"}


def test_updates_wait_for_each_other_then_say_which_lock(tmp_path: Path) -> None:
    from nato_search.durable import SOURCES_LOCK_FILE, write_lock

    folder = tmp_path / "src"
    write(folder, "base.txt", "Rapport de base", "Premier rapport du dossier.")
    path = tmp_path / "ix"
    nato_search.build_index(folder, path).close()
    with write_lock(path, 1, SOURCES_LOCK_FILE):
        with pytest.raises(nato_search.IndexLockedError, match="updated from its sources"):
            update_index(folder, path, timeout=0.2)
    assert update_index(folder, path, timeout=0.2)["unchanged"] == 1


def test_a_file_gone_or_unreadable_since_it_was_listed_counts_as_changed(tmp_path):
    from nato_search.sources import unchanged_state

    file = tmp_path / "note.txt"
    file.write_text("Titre\n\nUn rapport.\n", "utf-8")
    stat = file.stat()
    known = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": "0" * 64}
    assert unchanged_state(file, known) == known
    file.unlink()  # gone between the listing and the check: not a traceback, a changed file
    assert unchanged_state(file, known) is None
    file.mkdir()  # a folder where the file was: it cannot be read
    assert unchanged_state(file, {**known, "size": -1}) is None
