import shutil

import pytest
from conftest import SEEDS

import nato_search
from nato_search import default_index, indexing


def test_default_index_is_built_once_in_nato_search_home(tmp_path, monkeypatch):
    monkeypatch.setenv("NATO_SEARCH_HOME", str(tmp_path / "home"))
    with nato_search.open_index() as ix:
        assert len(ix) == 21 and ix.path.startswith(str(tmp_path / "home" / "seeds-"))
    built = sorted(p.name for p in (tmp_path / "home").iterdir())
    stamp = (tmp_path / "home" / built[0] / "nato-search.json").stat().st_mtime_ns
    with nato_search.open_index() as ix:
        assert ix.search("munitions").total == 2
    assert sorted(p.name for p in (tmp_path / "home").iterdir()) == built
    assert (tmp_path / "home" / built[0] / "nato-search.json").stat().st_mtime_ns == stamp


def test_changed_seeds_or_analysis_rebuild_the_default_index(tmp_path, monkeypatch):
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    monkeypatch.setenv("NATO_SEARCH_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(default_index, "seeds_path", lambda: seeds)
    with nato_search.open_index() as ix:
        first = ix.path
        assert ix.search("xylophone").total == 0
    with open(seeds / "000_4212c58b728f3318.txt", "a", encoding="utf-8") as f:
        f.write("\n\nUn paragraphe ajouté qui parle d’un xylophone.\n")
    with nato_search.open_index() as ix:
        assert ix.path != first and ix.search("xylophone").total == 1
    monkeypatch.setattr(
        indexing, "_format_record", lambda stemmer, *rest: {"format": 99, "stemmer": stemmer}
    )
    with nato_search.open_index() as ix:
        assert ix.search("xylophone").total == 1
    assert [p.name for p in (tmp_path / "home").iterdir()] == [ix.path.rsplit("/", 1)[1]]


def test_index_built_by_other_analysis_is_refused_with_a_rebuild_hint(tmp_path, monkeypatch):
    nato_search.build_index(
        [nato_search.Document("a", "T", None, ["La paix."])], tmp_path / "ix"
    ).close()
    monkeypatch.setattr(
        indexing, "_format_record", lambda stemmer, *rest: {"format": 99, "stemmer": stemmer}
    )
    with pytest.raises(
        nato_search.IndexVersionError,
        match=r"rebuild it with `nato-search index SOURCE\.\.\. --index",
    ):
        nato_search.open_index(tmp_path / "ix")


def test_rebuilding_replaces_the_old_index_and_a_failed_build_keeps_it(tmp_path):
    path = tmp_path / "ix"
    nato_search.build_index([nato_search.Document("a", "T", None, ["La paix."])], path).close()
    nato_search.build_index([nato_search.Document("b", "T", None, ["La guerre."])], path).close()
    with nato_search.open_index(path) as ix:
        assert ix.search("paix").total == 0 and ix.search("guerre").total == 1

    def failing():
        yield nato_search.Document("c", "T", None, ["Le xylophone."])
        raise nato_search.CorpusError("boom")

    with pytest.raises(nato_search.CorpusError, match="boom"):
        nato_search.build_index(failing(), path)
    with nato_search.open_index(path) as ix:
        assert ix.search("guerre").total == 1 and ix.search("xylophone").total == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ix"]


def test_build_refuses_to_overwrite_a_folder_that_is_not_an_index(tmp_path):
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "thesis.txt").write_text("à garder", "utf-8")
    with pytest.raises(FileExistsError, match="is not a nato-search index"):
        nato_search.build_index(SEEDS, tmp_path / "precious")
    assert (tmp_path / "precious" / "thesis.txt").read_text("utf-8") == "à garder"


def test_duplicate_document_ids_are_refused(tmp_path):
    docs = [
        nato_search.Document("a", "T", None, ["Un."]),
        nato_search.Document("a", "T", None, ["Deux."]),
    ]
    with pytest.raises(nato_search.CorpusError, match="two documents have the id 'a'"):
        nato_search.build_index(docs, tmp_path / "ix")
