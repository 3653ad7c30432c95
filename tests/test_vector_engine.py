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


def test_arrays_of_an_older_layout_are_rebuilt_by_the_next_write(built, monkeypatch):
    """Format 3 had no words as written: such files are read again from the segments, and
    an empty add saves the new ones."""
    from nato_search.engines.whoosh import arrays_file

    ix, path = built
    expected = [(h.doc_id, h.paragraph, h.score, h.highlights) for h in ix.search("munitions")]
    ix.close()
    (name,) = arrays_files(path)
    segment_id = name.removesuffix(".arrays")
    doc_count = windex.open_dir(str(path)).doc_count_all()
    current = arrays_file.load(path, segment_id, doc_count)
    monkeypatch.setattr(arrays_file, "FORMAT", arrays_file.FORMAT - 1)
    current.forms = None
    arrays_file.save(current, path)
    monkeypatch.undo()
    assert arrays_file.load(path, segment_id, doc_count) is None
    with nato_search.open_index(path) as reopened:
        found = [
            (h.doc_id, h.paragraph, h.score, h.highlights) for h in reopened.search("munitions")
        ]
        assert found == expected
        reopened.add([])
    saved = arrays_file.load(path, segment_id, doc_count)
    assert saved is not None and saved.forms is not None


@pytest.mark.parametrize("kept", [0, 40])
def test_remembered_term_matches_give_the_same_answers(tmp_path, monkeypatch, kept):
    """A commit's collection keeps recent terms' matches within a bound: answered from it
    (or, with a bound of a few postings, forgetting all the time) hits and scores stay."""
    from nato_search.engines.whoosh import bm25 as vector_search

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


def _levenshtein(a: bytes, b: bytes) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row = row, [i]
        for j, y in enumerate(b, 1):
            row.append(min(previous[j - 1] + (x != y), previous[j] + 1, row[j - 1] + 1))
    return row[-1]


def test_typo_candidates_are_exactly_the_terms_within_the_edits():
    """The vectorized edit distance over a vocabulary against a plain one, word by word."""
    import random

    import numpy as np

    from nato_search.engines.whoosh import arrays as segment_arrays
    from nato_search.engines.whoosh.bm25 import _within

    rng = random.Random(11)
    letters = "aeiousrtnlmcdpé"
    vocabulary = sorted(
        {"".join(rng.choices(letters, k=rng.randint(1, 12))).encode() for _ in range(3000)}
    )
    blob, offsets = segment_arrays._term_arrays(vocabulary)
    empty = np.zeros(0, np.int32)
    words = segment_arrays.FieldPostings(
        blob, offsets, np.zeros(len(vocabulary) + 1, np.int64), empty, empty
    )
    checked = 0
    for _ in range(300):
        query = rng.choice(vocabulary).decode()
        for _ in range(rng.randint(0, 3)):
            k = rng.randrange(len(query) + 1)
            query = query[:k] + rng.choice(letters) + query[k + 1 :]
        for max_edits in (1, 2):
            expected = {
                (t.decode(), d)
                for t in vocabulary
                if t[:1] == query.encode()[:1]
                and (d := _levenshtein(query.encode(), t)) <= max_edits
            }
            assert set(_within(words.term_blob, words.term_off, query, max_edits)) == expected, (
                query
            )
            checked += len(expected)
    assert checked > 500
