"""benchmarks/http_load.py end to end on the bundled seeds (seconds; no ../shared corpus)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("uvicorn", reason="needs the web extra (pip install '.[test]')")

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "http_load.py"


def test_every_row_serves_without_errors_and_reports_its_process() -> None:
    argv = [sys.executable, str(SCRIPT), "--seeds", "--seconds", "1", "--warm", "0.3"]
    argv += ["--clients", "4", "--workers", "1", "--json"]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)
    assert report["paragraphs"] == 21 and report["clients"] == 4
    rows = {row["server"]: row for row in report["rows"]}
    assert list(rows) == [
        "direct",
        "serve --http, 1 worker",
        "serve --http, 1 worker: POST /search",
        "serve --http, 1 worker: POST /multi-search, 3 queries",
        "serve --http, 1 worker: write mix, 1 in 10 a PUT",
        "stdlib, pool of 4 threads",
    ]
    mix = rows["serve --http, 1 worker: write mix, 1 in 10 a PUT"]
    assert mix["per_s_by_kind"]["write"] > 0 and mix["per_s_by_kind"]["search"] > 0
    assert rows["serve --http, 1 worker"]["per_s_by_kind"].keys() == {"search"}
    multi = rows["serve --http, 1 worker: POST /multi-search, 3 queries"]
    assert (
        multi["bytes_per_answer"] > rows["serve --http, 1 worker: POST /search"]["bytes_per_answer"]
    )
    for row in rows.values():
        assert row["requests"] > 0 and row["errors"] == 0
        assert 0 < row["p50_ms"] <= row["p99_ms"]
        for moment in ("start", "end"):
            assert row[moment]["open_files"] > 0 and row[moment]["rss_mib"] > 10
    assert rows["serve --http, 1 worker"]["start"]["processes"] == 1
    # every one-search row answers the same JSON body (the app's), so only the server differs
    sizes = {
        row["bytes_per_answer"]
        for name, row in rows.items()
        if "multi-search" not in name and "write" not in name
    }
    assert max(sizes) - min(sizes) < 0.2 * max(sizes)
