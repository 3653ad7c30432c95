"""benchmarks/app_options.py end to end on the speed benchmark's tiny corpus."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from test_speed_benchmark import REPO_ROOT, write_corpus

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
import app_options  # noqa: E402

SCRIPT = REPO_ROOT / "benchmarks" / "app_options.py"


@pytest.mark.parametrize(
    "extra", [[], ["--backend", "xapian", "--shards", "2"]], ids=["whoosh", "xapian"]
)
def test_every_option_gets_a_row(tmp_path, extra):
    if extra:
        pytest.importorskip("xapian")
    corpus = write_corpus(tmp_path / "tiny.jsonl.gz")
    argv = [sys.executable, str(SCRIPT), "--corpus", str(corpus), "--size", "300"]
    argv += ["--queries", "8", "--index", str(tmp_path / "ix"), *extra]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=True)
    assert "300 paragraphs, 75 documents, 8 keyword queries" in done.stdout
    rows = re.findall(
        r"^\| ([^|]+) \| [\d.]+ \| [\d.]+ \| ([\d.]+) \| ([\d.]+) \|$", done.stdout, re.M
    )
    names = [name for name, *_ in rows]
    assert names == list(app_options.OPTIONS)
    assert rows[2][0] == app_options.REFERENCE and rows[2][2] == "1.00"
    assert rows[0][1] == "1.00"
