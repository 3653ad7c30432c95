"""NatoSearchRetriever: LangChain ``Document``\\ s from ``Index.search``, with its analysis."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import sys

import pytest

pytest.importorskip("langchain_core")

from langchain_core.documents import Document as LangChainDocument  # noqa: E402
from pydantic import ValidationError  # noqa: E402

import nato_search  # noqa: E402
from nato_search.integrations.langchain import NatoSearchRetriever  # noqa: E402

ARTICLES = [
    nato_search.Document(
        id="kyiv",
        title="Livraisons à l'Ukraine",
        date=dt.date(2022, 3, 1),
        paragraphs=[
            "L'OTAN livre des munitions à l'Ukraine.",
            "La Russie proteste contre les livraisons d'armes.",
        ],
        # a key of ours in the document's metadata: it stays there, under "metadata"
        metadata={"source": "AFP", "title": "dépêche 1234"},
    ),
    nato_search.Document(
        id="vilnius",
        title="Sommet de l'OTAN à Vilnius",
        date=dt.date(2023, 7, 11),
        paragraphs=[
            "Le sommet de Vilnius s'ouvre.",
            "Les munitions manquent à l'Ukraine, disent les Alliés, qui promettent des munitions.",
        ],
        metadata={"source": "Reuters"},
    ),
    nato_search.Document(
        id="washington",
        title="Les 75 ans de l'Alliance",
        date=None,
        paragraphs=[
            "Les Alliés promettent des munitions et des missiles.",
            "La défense aérienne de la Pologne est renforcée.",
            "Des munitions pour Kharkiv, et des munitions pour Odessa, munitions enfin.",
        ],
        metadata={"source": "AFP", "tags": ["défense"]},
    ),
]
MUNITIONS = [("washington", 2), ("vilnius", 1), ("kyiv", 0), ("washington", 0)]
"""Index.search's order for "munitions" on ARTICLES: the most repeated first."""


@pytest.fixture(scope="module")
def index_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("langchain") / "ix"
    nato_search.build_index(ARTICLES, path).close()
    return path


@pytest.fixture(scope="module")
def ix(index_path):
    with nato_search.open_index(index_path) as index:
        yield index


def where(docs: list[LangChainDocument]) -> list[tuple[str, int]]:
    return [(d.metadata["id"], d.metadata["paragraph"]) for d in docs]


def test_documents_are_the_paragraphs_in_rank_order_with_their_metadata(ix):
    docs = NatoSearchRetriever(index=ix).invoke("munitions")
    assert where(docs) == MUNITIONS
    assert all(isinstance(d, LangChainDocument) for d in docs)
    hits = ix.search("munitions", 4)
    assert [d.metadata["score"] for d in docs] == [hit.score for hit in hits]
    assert [d.metadata["score"] for d in docs] == sorted(
        (d.metadata["score"] for d in docs), reverse=True
    )
    kyiv = docs[2]
    assert kyiv.page_content == "L'OTAN livre des munitions à l'Ukraine."
    assert kyiv.metadata == {
        "id": "kyiv",
        "title": "Livraisons à l'Ukraine",  # not the document's own "title" key
        "date": "2022-03-01",
        "paragraph": 0,
        "page": None,
        "score": hits[2].score,
        "metadata": {"source": "AFP", "title": "dépêche 1234"},
    }
    washington = docs[0]
    assert washington.page_content == ARTICLES[2].paragraphs[2]
    assert washington.metadata["date"] is None
    assert washington.metadata["metadata"] == {"source": "AFP", "tags": ["défense"]}


def test_k_is_the_number_of_documents(ix):
    assert where(NatoSearchRetriever(index=ix, k=2).invoke("munitions")) == MUNITIONS[:2]
    assert len(NatoSearchRetriever(index=ix, k=10).invoke("munitions")) == 4
    assert len(NatoSearchRetriever(index=ix, k=1).invoke("alliés")) == 1
    with pytest.raises(ValidationError):
        NatoSearchRetriever(index=ix, k=0)


def test_the_filter_is_passed_through(ix):
    afp = NatoSearchRetriever(index=ix, filter={"source": "AFP"}).invoke("munitions")
    assert where(afp) == [("washington", 2), ("kyiv", 0), ("washington", 0)]
    reuters = NatoSearchRetriever(index=ix, filter={"source": ["Reuters"]}).invoke("munitions")
    assert where(reuters) == [("vilnius", 1)]
    assert NatoSearchRetriever(index=ix, filter={"source": "Le Monde"}).invoke("munitions") == []
    by_id = NatoSearchRetriever(index=ix, filter={"doc_id": "kyiv"}).invoke("munitions")
    assert where(by_id) == [("kyiv", 0)]


def test_search_kwargs_are_passed_through_and_checked(ix):
    one_each = NatoSearchRetriever(index=ix, search_kwargs={"per_document": 1})
    assert where(one_each.invoke("munitions")) == [("washington", 2), ("vilnius", 1), ("kyiv", 0)]
    by_date = NatoSearchRetriever(index=ix, search_kwargs={"sort": "-date"}).invoke("munitions")
    assert where(by_date)[:2] == [("vilnius", 1), ("kyiv", 0)]  # undated last
    typing = NatoSearchRetriever(index=ix, search_kwargs={"prefix": True}).invoke("muni")
    assert where(typing) == MUNITIONS
    assert NatoSearchRetriever(index=ix, search_kwargs={"fuzzy": False}).invoke("munitons") == []
    with pytest.raises(ValidationError, match="unknown Index.search option.*limt"):
        NatoSearchRetriever(index=ix, search_kwargs={"limt": 3})
    with pytest.raises(ValidationError, match="limit as k"):
        NatoSearchRetriever(index=ix, search_kwargs={"limit": 3})
    with pytest.raises(ValidationError, match="filter as filter"):
        NatoSearchRetriever(index=ix, search_kwargs={"filter": {"source": "AFP"}})
    with pytest.raises(ValueError, match="sort: unknown field .pages"):  # the index checks
        NatoSearchRetriever(index=ix, search_kwargs={"sort": "pages"}).invoke("munitions")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("munition", MUNITIONS),  # singular finds the plural
        ("MUNITIONS", MUNITIONS),
        ("l'alliance", [("washington", 0), ("washington", 1), ("washington", 2)]),  # title word
        ("defense aerienne", [("washington", 1)]),  # unaccented finds accented
        ("munitons", MUNITIONS),  # a typo
    ],
)
def test_french_analysis_comes_with_the_index(ix, query, expected):
    docs = NatoSearchRetriever(index=ix).invoke(query)
    assert sorted(where(docs)) == sorted(expected)


def test_the_elided_form_ranks_the_paragraph_that_says_it_first(ix):
    docs = NatoSearchRetriever(index=ix, k=1).invoke("les alliés de l'Alliance")
    assert docs[0].metadata["id"] == "washington"


def test_ainvoke_gives_what_invoke_gives(ix):
    retriever = NatoSearchRetriever(index=ix, filter={"source": "AFP"})

    async def both() -> list[list[LangChainDocument]]:
        return list(
            await asyncio.gather(retriever.ainvoke("munitions"), retriever.ainvoke("russie"))
        )

    munitions, russie = asyncio.run(both())
    assert munitions == retriever.invoke("munitions")
    assert where(russie) == [("kyiv", 1)]


def test_a_retriever_from_a_path_opens_the_index_and_closes_it(index_path):
    with NatoSearchRetriever(index=str(index_path), k=2) as retriever:
        assert isinstance(retriever.index, nato_search.Index)
        assert where(retriever.invoke("munitions")) == MUNITIONS[:2]
    with pytest.raises(nato_search.IndexClosedError):
        retriever.invoke("munitions")
    with NatoSearchRetriever(index=index_path) as retriever:  # a Path
        assert where(retriever.invoke("munitions")) == MUNITIONS


def test_a_missing_index_is_the_index_error(tmp_path):
    with pytest.raises(nato_search.IndexNotFoundError):
        NatoSearchRetriever(index=tmp_path / "nothing")


def test_the_index_must_be_an_index_or_a_path():
    with pytest.raises(ValidationError, match="index"):
        NatoSearchRetriever(index=42)


def test_without_langchain_core_the_error_says_which_extra(monkeypatch):
    for name in [n for n in sys.modules if n.partition(".")[0] == "langchain_core"]:
        monkeypatch.setitem(sys.modules, name, None)  # None: imports of it fail
    monkeypatch.delitem(sys.modules, "nato_search.integrations.langchain")
    with pytest.raises(ImportError, match=r"pip install 'nato-search\[langchain\]'"):
        importlib.import_module("nato_search.integrations.langchain")
