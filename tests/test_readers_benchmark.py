"""benchmarks/readers.py on three articles from the seeds, one read per format."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from nato_search.readers.formats import format_named

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "benchmarks" / "readers.py"
TINY = ["--files", "3", "--repeat", "1", "--corpus", "seeds"]
GENERATORS = {"pdf": "fpdf", "docx": "docx", "odt": "odf"}
"""The library each format's files are written with (the others need none)."""


def load_benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("readers_benchmark", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["readers_benchmark"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


bench = load_benchmark()


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "readers.json"
    bench.main([*TINY, "--json", str(out)])
    return json.loads(out.read_text())


def test_every_format_gets_a_row(results: dict[str, Any]) -> None:
    assert results["articles"] == 3
    assert results["paragraphs"] > 3
    assert "seeds" in results["source"]
    assert [row["format"] for row in results["rows"]] == bench.FORMATS


@pytest.mark.parametrize("name", bench.FORMATS)
def test_each_available_format_reads_every_article(results: dict[str, Any], name: str) -> None:
    if name in GENERATORS:
        pytest.importorskip(GENERATORS[name])
    try:
        importlib.import_module(format_named(name).module)
    except ImportError as exc:
        pytest.skip(f"no {name} reader here ({exc.name})")
    row = next(row for row in results["rows"] if row["format"] == name)
    assert row["status"] == "ok"
    assert row["files"] == (1 if name in bench.ONE_FILE else 3)
    assert row["documents"] == 3
    assert row["paragraphs"] >= 3
    assert row["seconds"] > 0 and row["paragraphs_per_s"] > 0 and row["mb_per_s"] > 0


def test_a_format_without_its_reader_is_not_available(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "nato_search.readers.pdf", None)  # import fails
    rows = bench.main([*TINY, "--formats", "text,pdf"])
    assert [(row.format, row.status) for row in rows] == [
        ("text", "ok"),
        ("pdf", "not available: no reader (nato_search.readers.pdf)"),
    ]
    assert rows[0].documents == 3
    table = capsys.readouterr().out
    assert "| pdf | not available: no reader (nato_search.readers.pdf) |" in table
    assert "| text | 3 |" in table
