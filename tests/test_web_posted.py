"""POST /search (a JSON body) and POST /multi-search: the same searches as GET /search."""

import pytest

pytest.importorskip("starlette")

from starlette.testclient import TestClient  # noqa: E402

import nato_search  # noqa: E402
from nato_search.web import create_app  # noqa: E402

DOCS = [
    nato_search.Document(
        "a", "Alerte", paragraphs=["Les frégates appareillent."], metadata={"source": "AFP"}
    ),
    nato_search.Document(
        "b", "Brest", paragraphs=["Les frégates rentrent."], metadata={"source": "Reuters"}
    ),
    nato_search.Document(
        "c", "Chars", paragraphs=["Les chars avancent."], metadata={"source": "AFP"}
    ),
]


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    with nato_search.build_index(DOCS, tmp_path_factory.mktemp("ix") / "ix") as ix:
        with TestClient(create_app(ix)) as client:
            yield client


def ids(answer):
    return [hit["doc_id"] for hit in answer["hits"]]


def without_time(answer):
    return {k: v for k, v in answer.items() if k != "took_ms"}


def test_a_posted_search_answers_as_the_same_get(web):
    got = web.get(
        "/search",
        params=[("q", "frégates"), ("filter", "source:AFP"), ("facets", "source"), ("limit", "5")],
    )
    posted = web.post(
        "/search",
        json={"q": "frégates", "filter": {"source": "AFP"}, "facets": ["source"], "limit": 5},
    )
    assert without_time(posted.json()) == without_time(got.json())
    assert ids(posted.json()) == ["a"]
    listed = web.post(
        "/search",
        json={"q": "frégates", "filter": ["source:AFP", "source:Reuters"], "prefix": False},
    )
    assert sorted(ids(listed.json())) == ["a", "b"]


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"q": "x", "limit": 0}, "limit"),
        ({"q": "x", "lmit": 3}, "lmit"),
        ({"q": "x", "limit": [1]}, "limit"),
        ({"q": "x", "facets": [{"a": 1}]}, "facets"),
        ({"q": "x", "sort": [1]}, "sort"),
        (["q"], "body"),
    ],
)
def test_a_bad_posted_field_is_a_400_naming_it(web, body, parameter):
    answer = web.post("/search", json=body)
    assert (answer.status_code, answer.json()["parameter"]) == (400, parameter)


def test_multi_search_answers_each_query_in_order(web):
    queries = [
        {"q": "frégates", "filter": {"source": "Reuters"}},
        {"q": "chars"},
        {"q": "frégates", "limit": 1, "offset": 1},
    ]
    answer = web.post("/multi-search", json={"queries": queries}).json()
    assert [ids(r) for r in answer["results"]] == [
        ["b"],
        ["c"],
        [ids(web.get("/search", params={"q": "frégates"}).json())[1]],
    ]
    assert [r["total"] for r in answer["results"]] == [1, 1, 2]


def test_multi_search_is_bounded_and_names_the_query_at_fault(web):
    too_many = web.post("/multi-search", json={"queries": [{"q": "x"}] * 21})
    assert too_many.json() == {
        "error": "queries: a list of 1 to 20 search objects",
        "parameter": "queries",
    }
    bad = web.post("/multi-search", json={"queries": [{"q": "x"}, {"q": "y", "limit": 500}]})
    assert bad.status_code == 400 and bad.json()["parameter"] == "queries[1].limit"
    assert web.post("/multi-search", json={"queries": [], "x": 1}).status_code == 400
    assert web.post("/multi-search", content=b"{").json()["parameter"] == "body"
