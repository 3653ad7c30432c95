"""Live updates: add, update, delete on an open index, and incremental re-indexing of files."""

import os

import pytest
from conftest import doc, ids
from whoosh import index as windex

import nato_search
from nato_search import CorpusError, IndexLockedError, update_index
from nato_search.cli import main


def test_added_documents_are_found_at_once(ix):
    assert ix.add([doc("c", "Des obus de 155 mm.", "Les Patriot encore.")]) == 2
    assert len(ix) == 4
    assert ids(ix.search("patriot")) == [("a", 0), ("c", 1)]


def test_adding_an_id_already_indexed_is_refused_and_changes_nothing(ix):
    with pytest.raises(ValueError, match="'a'.*use update"):
        ix.add([doc("z", "Nouveau."), doc("a", "Doublon Patriot.")])
    assert len(ix) == 2 and ix.search("nouveau").total == 0


def test_a_deleted_id_can_be_added_again(tmp_path, backend):
    from backends import built

    with built([doc("a", "Les Patriot."), doc("b", "Les obus.")], tmp_path / "ix", backend) as ix:
        ix.update([doc("b", "Les obus encore.")])  # a second segment: a is not merged away
        assert ix.delete(["a"]) == 1
        assert ix.add([doc("a", "Les drones.")]) == 1
        assert ids(ix.search("drones")) == [("a", 0)] and ix.search("patriot").total == 0
        with pytest.raises(ValueError, match="'a'.*use update"):
            ix.add([doc("a", "Encore.")])


def test_update_replaces_every_paragraph_of_a_document(ix):
    assert ix.update([doc("a", "Les obus arrivent.", "Et les drones.")]) == 2
    assert ix.search("patriot").total == 0
    assert ids(ix.search("obus drones")) == [("a", 0), ("a", 1)]
    assert len(ix) == 3


def test_update_of_a_new_id_adds_it(ix):
    ix.update([doc("n", "Un texte neuf.")])
    assert ids(ix.search("neuf")) == [("n", 0)]


def test_delete_removes_documents_and_counts_paragraphs(ix):
    assert ix.delete(["a", "unknown"]) == 1
    assert ix.delete("b") == 1
    assert len(ix) == 0 and ix.search("défense").total == 0


def test_a_bad_source_is_reported_before_anything_is_written(ix, tmp_path):
    (tmp_path / "good.txt").write_text("Un paragraphe tout à fait lisible ici.\n", "utf-8")
    (tmp_path / "bad.txt").write_bytes("Défense aérienne".encode("latin-1"))
    with pytest.raises(CorpusError, match="bad.txt"):
        ix.add([tmp_path / "good.txt", tmp_path / "bad.txt"])
    assert len(ix) == 2 and ix.search("lisible").total == 0


def test_a_writer_that_holds_the_lock_makes_others_wait_then_fail_clearly(ix):
    holder = windex.open_dir(ix.path).writer()  # stock Whoosh's writer takes the same lock
    try:
        with pytest.raises(IndexLockedError, match=f"{ix.path}.*waited 0.2 s"):
            ix.add([doc("c", "Bloqué.")], timeout=0.2)
    finally:
        holder.cancel()
    assert ix.add([doc("c", "Débloqué.")]) == 1


# --- incremental re-indexing of files --------------------------------------------


@pytest.fixture
def folder(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "one.txt").write_text(
        "Les batteries Patriot arrivent en Ukraine cette semaine.\n", "utf-8"
    )
    (folder / "two.txt").write_text(
        "La défense aérienne ukrainienne tient bon face aux drones.\n", "utf-8"
    )
    return folder


def test_unchanged_files_are_not_read_again(folder, tmp_path):
    nato_search.build_index(folder, tmp_path / "ix").close()
    assert update_index(folder, tmp_path / "ix") == {
        "changed": 0,
        "unchanged": 2,
        "removed": 0,
        "skipped": 0,
    }
    os.utime(folder / "one.txt", ns=(1, 1))  # touched, same content: the hash says unchanged
    assert update_index(folder, tmp_path / "ix") == {
        "changed": 0,
        "unchanged": 2,
        "removed": 0,
        "skipped": 0,
    }


def test_a_changed_file_replaces_its_paragraphs_and_a_new_one_is_added(folder, tmp_path):
    nato_search.build_index(folder, tmp_path / "ix").close()
    (folder / "one.txt").write_text(
        "Les obus de 155 mm arrivent en Ukraine cette semaine.\n", "utf-8"
    )
    (folder / "three.txt").write_text(
        "Le sommet de Vilnius a eu lieu en juillet dernier.\n", "utf-8"
    )
    assert update_index(folder, tmp_path / "ix") == {
        "changed": 2,
        "unchanged": 1,
        "removed": 0,
        "skipped": 0,
    }
    with nato_search.open_index(tmp_path / "ix") as ix:
        assert ix.search("patriot").total == 0
        assert ids(ix.search("obus")) == [("one", 0)]
        assert ids(ix.search("vilnius")) == [("three", 0)]
        assert len(ix) == 3


def test_a_file_that_disappeared_takes_its_paragraphs_with_it(folder, tmp_path):
    nato_search.build_index(folder, tmp_path / "ix").close()
    (folder / "two.txt").unlink()
    assert update_index(folder, tmp_path / "ix") == {
        "changed": 0,
        "unchanged": 1,
        "removed": 1,
        "skipped": 0,
    }
    with nato_search.open_index(tmp_path / "ix") as ix:
        assert len(ix) == 1 and ix.search("drones").total == 0


def test_files_outside_the_given_sources_are_left_alone(folder, tmp_path):
    other = tmp_path / "other.txt"
    other.write_text("Un autre texte sur la mer Noire et ses ports.\n", "utf-8")
    nato_search.build_index([folder, other], tmp_path / "ix").close()
    assert update_index(folder, tmp_path / "ix") == {
        "changed": 0,
        "unchanged": 2,
        "removed": 0,
        "skipped": 0,
    }
    with nato_search.open_index(tmp_path / "ix") as ix:
        assert ids(ix.search("mer noire")) == [("other", 0)]


def test_the_cli_updates_an_existing_index_and_rebuilds_on_request(folder, tmp_path, capsys):
    index = str(tmp_path / "ix")
    assert main(["index", str(folder), "--index", index]) == 0
    assert capsys.readouterr().out == f"indexed 2 paragraphs from 2 files (2 text) into {index}\n"
    (folder / "two.txt").unlink()
    assert main(["index", str(folder), "--index", index]) == 0
    assert capsys.readouterr().out == (
        f"updated {index}: 0 files changed, 1 unchanged, 1 removed; 1 paragraphs\n"
    )
    assert main(["index", str(folder), "--index", index, "--rebuild"]) == 0
    assert capsys.readouterr().out == f"indexed 1 paragraphs from 1 file (1 text) into {index}\n"


def test_a_changed_file_in_a_subfolder_keeps_its_document_id(tmp_path):
    """A build names a nested file's document by its path in the folder (``sub/one``);
    re-reading the changed file must give it the same id, not a new ``one``."""
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "one.txt").write_text("Les batteries Patriot arrivent.\n", "utf-8")
    nato_search.build_index(folder, tmp_path / "ix").close()
    (folder / "sub" / "one.txt").write_text("Les batteries SAMP/T arrivent.\n", "utf-8")
    assert update_index(folder, tmp_path / "ix")["changed"] == 1
    with nato_search.open_index(tmp_path / "ix") as ix:
        assert len(ix) == 1
        assert [h.doc_id for h in ix.search("samp", fuzzy=False)] == ["sub/one"]
