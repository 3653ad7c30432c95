"""The NumPy engine beside Whoosh: its files follow Whoosh's segments, and Whoosh stays the
one source of truth (stock Whoosh-Reloaded opens and searches the folder)."""

from pathlib import Path

import pytest
from conftest import SEEDS, doc
from whoosh import index as windex
from whoosh import query as wq
from whoosh.qparser import QueryParser

import nato_search


def arrays_files(path: Path) -> list[str]:
    return sorted(p.name for p in path.glob("*.arrays"))


def segment_files(path: Path) -> list[str]:
    return sorted(p.name.removesuffix(".seg") + ".arrays" for p in path.glob("*.seg"))


@pytest.fixture
def built(tmp_path):
    with nato_search.build_index(SEEDS, tmp_path / "ix") as ix:
        yield ix, tmp_path / "ix"


def test_stock_whoosh_opens_the_index_and_finds_a_phrase(built):
    _, path = built
    stock = windex.open_dir(str(path))
    with stock.searcher() as searcher:
        parsed = QueryParser("text", stock.schema).parse('"défense aérienne"')
        found = {(hit["doc_id"][:3], hit["paragraph"]) for hit in searcher.search(parsed)}
        assert found == {("003", 2)}
        phrase = wq.Phrase("text", ["defens", "aerien"])
        assert {h["paragraph"] for h in searcher.search(phrase)} == {2}


def test_every_segment_has_its_arrays_and_no_other_arrays_remain(built):
    ix, path = built
    assert arrays_files(path) == segment_files(path) != []
    ix.add([doc("n1", "Des munitions nouvelles arrivent.")])
    ix.add([doc("n2", "D'autres munitions encore.")])
    assert arrays_files(path) == segment_files(path)
    assert len(segment_files(path)) >= 2
    stock = windex.open_dir(str(path))
    stock.writer().commit(optimize=True)  # stock Whoosh merges every segment into one
    assert len(segment_files(path)) == 1
    assert arrays_files(path) == []  # Whoosh removed the dead segments' arrays with them
    assert ix.search("munitions", fuzzy=False).total == 4  # read into memory for now
    ix.add([doc("n3", "Un dernier texte.")])  # our next commit saves them
    assert arrays_files(path) == segment_files(path)


def test_an_index_without_arrays_still_answers_and_the_next_write_saves_them(built):
    """An index built by an older version, or by stock Whoosh with our schema."""
    ix, path = built
    expected = [(h.doc_id, h.paragraph, h.score) for h in ix.search("munitions")]
    ix.close()
    for name in arrays_files(path):
        (path / name).unlink()
    with nato_search.open_index(path) as reopened:
        assert [(h.doc_id, h.paragraph, h.score) for h in reopened.search("munitions")] == expected
        assert arrays_files(path) == []  # read into memory: readers never write
        reopened.delete("nobody")
        assert arrays_files(path) == segment_files(path)


@pytest.mark.parametrize("kept", [0, 40])
def test_remembered_term_matches_give_the_same_answers(tmp_path, monkeypatch, kept):
    """A commit's collection keeps recent terms' matches within a bound: answered from it
    (or, with a bound of a few postings, forgetting all the time) hits and scores stay."""
    from nato_search import vector_search

    queries = ["OTAN Ukraine", "munitions obus", "défense aérienne OTAN", "Ukraine", "sommet"]
    with nato_search.build_index(SEEDS, tmp_path / "ix") as ix:
        expected = [[(h.doc_id, h.paragraph, h.score) for h in ix.search(q)] for q in queries]
    monkeypatch.setattr(vector_search, "TERMS_KEPT", kept)
    with nato_search.open_index(tmp_path / "ix") as ix:
        for _ in range(3):
            for query, hits in zip(queries, expected, strict=True):
                assert [(h.doc_id, h.paragraph, h.score) for h in ix.search(query)] == hits
        with ix._snapshot() as snapshot:
            remembered = snapshot.collection._matches
            assert remembered.total <= kept or len(remembered.items) == 1  # one past the bound
            assert len(remembered.items) >= 2 if kept else len(remembered.items) <= 1
