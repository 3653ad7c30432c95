"""Ranking settings: one frozen object per open index, checked, never a module global."""

import dataclasses
import math

import pytest
from backends import built
from conftest import doc

import nato_search
from nato_search import RankingSettings

DOCS = [
    doc("a", "Le pont de Crimée est fermé. La construction a coûté cher."),
    doc("b", "La construction du pont est finie."),
    doc("c", "Un pont. " * 6 + "La construction continue."),
]


def test_settings_are_frozen_and_compare_by_value():
    settings = RankingSettings(coarse_weight=0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.coarse_weight = 1.0  # type: ignore[misc]
    assert settings == RankingSettings(coarse_weight=0.0) != RankingSettings()
    assert dataclasses.replace(settings, bm25_k1=1.2).bm25_k1 == 1.2


@pytest.mark.parametrize(
    ("change", "error", "named"),
    [
        ({"bm25_k1": -0.1}, ValueError, "bm25_k1"),
        ({"bm25_k1": float("inf")}, ValueError, "bm25_k1"),
        ({"bm25_b": 1.5}, ValueError, "bm25_b"),
        ({"coarse_weight": "0.5"}, ValueError, "coarse_weight"),
        ({"proximity_boost": True}, ValueError, "proximity_boost"),
        ({"near_candidates": 0}, ValueError, "near_candidates"),
        ({"prefix_completions": 2.5}, ValueError, "prefix_completions"),
        ({"max_corrections": True}, ValueError, "max_corrections"),
        ({"all_words_first": 1}, TypeError, "all_words_first"),
        ({"idf": "bm25+"}, ValueError, "idf"),
        ({"vector_floor": 2.0}, ValueError, "vector_floor"),
    ],
)
def test_a_bad_setting_is_an_error_naming_it(change, error, named):
    with pytest.raises(error, match=named):
        RankingSettings(**change)


def test_open_index_refuses_what_is_not_settings(tmp_path):
    nato_search.build_index(DOCS, tmp_path / "ix").close()
    with pytest.raises(TypeError, match="RankingSettings"):
        nato_search.open_index(tmp_path / "ix", settings={"bm25_k1": 1.2})  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", ["whoosh", "xapian"])
def test_two_indexes_in_one_process_rank_by_their_own_settings(tmp_path, backend):
    k1 = RankingSettings(bm25_k1=2.0, coarse_weight=0.0)
    with (
        built(DOCS, tmp_path / "plain", backend) as plain,
        built(DOCS, tmp_path / "k1", backend, settings=k1) as other,
    ):
        assert plain.settings == RankingSettings() and other.settings is k1
        for _ in range(2):  # interleaved: neither changes the other
            first = [(h.doc_id, round(h.score, 6)) for h in plain.search("pont construction")]
            second = [(h.doc_id, round(h.score, 6)) for h in other.search("pont construction")]
            assert {d for d, _ in first} == {d for d, _ in second} == {"a", "b", "c"}
            assert first != second
    reopened = nato_search.open_index(tmp_path / "plain", settings=k1)
    with reopened, nato_search.open_index(tmp_path / "k1") as defaults:
        assert [h.score for h in reopened.search("pont construction")] == pytest.approx(
            [s for _, s in second], abs=1e-6
        )
        assert [h.score for h in defaults.search("pont construction")] == pytest.approx(
            [s for _, s in first], abs=1e-6
        )


def test_whooshs_idf_is_a_setting(tmp_path):
    whoosh_idf = RankingSettings(idf="whoosh", coarse_weight=0.0, proximity_boost=0.0)
    plain = RankingSettings(coarse_weight=0.0, proximity_boost=0.0)
    with (
        nato_search.build_index(DOCS, tmp_path / "a", settings=plain) as a,
        nato_search.build_index(DOCS, tmp_path / "b", settings=whoosh_idf) as b,
    ):
        # "crimee" is in one paragraph of three: Robertson–Spärck Jones gives
        # log(1 + 2.5 / 1.5), Whoosh 1 + log(3 / 2); one term, so the ratio of the scores.
        ratio = b.search("Crimée")[0].score / a.search("Crimée")[0].score
        assert ratio == pytest.approx((1 + math.log(3 / 2)) / math.log(1 + 2.5 / 1.5))
