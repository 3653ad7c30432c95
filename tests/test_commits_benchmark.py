"""benchmarks/commits.py end to end on the bundled seeds: many small commits, then the
grown index against a fresh build of the same documents."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "commits.py"


def test_small_commits_keep_segments_bounded_and_answers_equal(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    argv = [sys.executable, str(SCRIPT), "--seeds", "--commits", "60", "--per-commit", "3"]
    argv += ["--every", "20", "--queries", "10", "--json", str(out)]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["documents"] == 5 + 60 * 3  # each update replaced a document, added none
    assert [t["commits"] for t in report["trace"]] == [20, 40, 60]
    assert max(t["segments"] for t in report["trace"]) <= 12  # merged as they come, not 60
    assert report["segments"]["fresh"] == 1
    assert report["same_top10"] == "10/10"
    assert "grown / fresh p50" in run.stdout
