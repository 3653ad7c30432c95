"""The soak benchmark, end to end on the bundled seeds (a few seconds; no ../shared corpus)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

import nato_search

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "benchmarks" / "soak.py"
_spec = importlib.util.spec_from_file_location("soak", SCRIPT)
assert _spec and _spec.loader
soak = importlib.util.module_from_spec(_spec)
sys.modules["soak"] = soak
_spec.loader.exec_module(soak)

MODES = {
    "app": [],
    "pool": ["--server", "pool"],
    "thread-per-request": ["--server", "thread-per-request"],
}


@pytest.fixture(scope="module", params=list(MODES))
def run(request: pytest.FixtureRequest) -> dict:
    """One short soak on the seeds, per server mode: exit code, stderr and the JSON report."""
    argv = [sys.executable, str(SCRIPT), "--seeds", "--seconds", "3", "--clients", "4"]
    argv += ["--rebuild-every", "2", "--json", *MODES[request.param]]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=180)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        report = None
    return {"mode": request.param, "code": proc.returncode, "stderr": proc.stderr, "report": report}


def test_the_report_has_its_fields_and_the_run_did_work(run: dict) -> None:
    report = run["report"]
    assert report is not None, run["stderr"][-3000:]
    assert run["code"] in (0, 1), run["stderr"][-3000:]  # 1: a failed verdict, not a crash
    assert {
        "requests",
        "errors",
        "error_messages",
        "p50_ms",
        "p99_ms",
        "requests_per_s",
        "start",
        "end",
        "max",
        "writer",
        "failures",
        "ok",
    } <= report.keys()
    assert report["server"] == run["mode"] and report["clients"] == 4
    assert report["requests"] > 0 and report["requests_per_s"] > 0
    assert 0 < report["p50_ms"] <= report["p99_ms"]
    for moment in ("start", "end", "max"):
        assert report[moment]["open_files"] > 0 and report[moment]["rss_mib"] > 0
    writer = report["writer"]
    assert {"rounds", "updates", "rebuilds", "errors", "error_messages"} <= writer.keys()
    assert writer["rounds"] >= 1 and writer["exitcode"] == 0
    api = report["api_writer"]
    assert api["updates"] >= 1 and api["exitcode"] == 0
    assert report["differences"] == []  # the index equals a fresh build of its sources
    if run["mode"] == "app":  # every kind of request of the app's mix was made
        kinds = {"search", "filter", "facets", "prefix", "page", "document", "document-html"}
        assert set(report["requests_by_kind"]) == kinds
    assert report["ok"] == (run["code"] == 0) == (not report["failures"])
    # The Markdown table goes to stderr when the JSON takes stdout.
    assert "| requests served |" in run["stderr"] and "| errors |" in run["stderr"]


def _clean(run: dict) -> None:
    report = run["report"]
    assert report is not None, run["stderr"][-3000:]
    assert report["errors"] == 0, report["error_messages"]
    assert report["writer"]["errors"] == 0, report["writer"]["error_messages"]
    # The margin, plus what each segment the writer added (and no merge took back yet) holds
    # open: one file per pooled searcher and one for its arrays.
    extra = max(0, report["end"]["segments"] - report["start"]["segments"])
    assert report["open_files_allowed"] == report["fd_margin"] + (soak.POOL_SIZE + 1) * extra
    assert report["open_files_growth"] <= report["open_files_allowed"], (
        report["start"],
        report["end"],
    )
    assert run["code"] == 0, report["failures"]


def test_no_errors_and_flat_open_files(run: dict) -> None:
    _clean(run)


def test_the_comparison_with_a_fresh_build_finds_what_differs(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    for page in sorted((REPO_ROOT / "seeds").glob("*.txt"))[:2]:
        (sources / page.name).write_bytes(page.read_bytes())
    index = tmp_path / "index"
    nato_search.build_index(sources, index).close()
    queries = ["otan", "munitions ukraine"]
    assert soak.compare_with_fresh(index, sources, queries, tmp_path / "fresh1") == []
    with nato_search.open_index(index) as ix:
        ix.add([nato_search.Document("extra", "Otan", None, ["L'Otan et les munitions."])])
    differences = soak.compare_with_fresh(index, sources, queries, tmp_path / "fresh2")
    with nato_search.open_index(tmp_path / "fresh1") as fresh:
        paragraphs = len(fresh)
    assert differences == [
        f"{paragraphs + 1} paragraphs in 3 documents, not {paragraphs} in 2",
        "query 'otan'",
        "query 'munitions ukraine'",
    ]


def test_a_missing_corpus_is_a_skip(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "corpus.jsonl.gz"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--corpus", str(missing), "--seconds", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "skip" in proc.stdout and str(missing) in proc.stdout


def test_sources_are_split_into_files_and_a_rewrite_changes_one_paragraph(tmp_path: Path) -> None:
    paragraphs = [
        soak.Paragraph(f"d{n // 3}", n % 3, f"Titre {n // 3}", "2020-07-02", f"Paragraphe {n}.")
        for n in range(30)
    ]
    assert soak.write_sources(paragraphs, tmp_path, files=4) == 10
    files = sorted(tmp_path.iterdir())
    assert len(files) == 4 and all(f.suffix == ".jsonl" for f in files)
    docs = list(nato_search.read_documents(tmp_path))
    assert sorted(d.id for d in docs) == sorted(f"d{n}" for n in range(10))
    assert sum(len(d.paragraphs) for d in docs) == 30

    first = files[0]
    original = first.read_text(encoding="utf-8")
    before = list(nato_search.read_documents(first))
    soak.mutate(first, original, 7)
    after = list(nato_search.read_documents(first))
    assert [d.id for d in after] == [d.id for d in before]
    changed = [
        (i, j)
        for i, (a, b) in enumerate(zip(before, after, strict=True))
        for j, (p, q) in enumerate(zip(a.paragraphs, b.paragraphs, strict=True))
        if p != q
    ]
    assert changed == [(0, 0)] and "Révision 7" in after[0].paragraphs[0]

    page = tmp_path / "page.txt"
    text = (REPO_ROOT / "seeds" / "000_4212c58b728f3318.txt").read_text(encoding="utf-8")
    soak.mutate(page, text, 3)
    assert "Révision 3" in next(nato_search.read_documents(page)).paragraphs[-1]
