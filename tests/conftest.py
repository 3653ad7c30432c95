from pathlib import Path

import pytest

import nato_search

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def seeds_index(tmp_path_factory):
    """An index of the bundled seeds, built once for the whole run."""
    with nato_search.build_index(SEEDS, tmp_path_factory.mktemp("seeds") / "index") as ix:
        yield ix


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    """Keep each test's default index out of the user's cache."""
    monkeypatch.setenv("NATO_SEARCH_HOME", str(tmp_path / "home"))
