from pathlib import Path

import pytest
from backends import BACKENDS

import nato_search

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


def doc(doc_id, *paragraphs, title="Titre"):
    """A Document for small fixtures."""
    return nato_search.Document(id=doc_id, title=title, date=None, paragraphs=list(paragraphs))


def ids(results):
    """(doc_id, paragraph) of each hit, sorted."""
    return sorted((hit.doc_id, hit.paragraph) for hit in results)


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Each backend in turn (tests/backends.py builds an index on it)."""
    return request.param


@pytest.fixture
def ix(tmp_path):
    """A two-document index: "a" about Patriot batteries, "b" about air defence."""
    with nato_search.build_index(
        [doc("a", "Les batteries Patriot arrivent."), doc("b", "La défense aérienne tient.")],
        tmp_path / "ix",
    ) as index:
        yield index


@pytest.fixture(scope="session")
def seeds_index(tmp_path_factory):
    """An index of the bundled seeds, built once for the whole run."""
    with nato_search.build_index(SEEDS, tmp_path_factory.mktemp("seeds") / "index") as ix:
        yield ix


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    """Keep each test's default index out of the user's cache."""
    monkeypatch.setenv("NATO_SEARCH_HOME", str(tmp_path / "home"))
