"""The search page's options (``create_app(title=, facets=, per_document=, placeholder=)``
and ``serve``'s flags): what the page is given, checked and escaped; and the ``lead`` a
hit that matched by its title alone carries. The page itself is tested in Chromium
(``test_web_browser.py``)."""

from __future__ import annotations

import html
import json
import re

import pytest

pytest.importorskip("starlette", reason="needs the web extra (pip install '.[web]')")

import web_fixture  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

import nato_search  # noqa: E402
from nato_search.errors import OptionError  # noqa: E402
from nato_search.web.app import PAGE_VARIABLE, app_from_environment, create_app  # noqa: E402

HTML = {"accept": "text/html"}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with web_fixture.build(tmp_path_factory.mktemp("page") / "index") as ix:
        yield ix


def config(page: str) -> dict:  # type: ignore[type-arg]
    found = re.search(r'<body data-config="([^"]*)">', page)
    assert found, page
    return json.loads(html.unescape(found[1]))


def test_the_page_is_given_its_options(index: nato_search.Index) -> None:
    app = create_app(index, title="Revue", facets=["source", "year"], per_document=None)
    with TestClient(app) as client:
        page = client.get("/", headers=HTML).text
    assert "<title>Revue</title>" in page and "<h1>Revue</h1>" in page
    assert config(page) == {
        "title": "Revue",
        "facets": ["source", "year"],
        "per_document": None,
        "placeholder": True,
    }


def test_the_defaults_are_one_hit_per_document_the_year_and_the_newest_first(
    index: nato_search.Index,
) -> None:
    with TestClient(create_app(index)) as client:
        page = client.get("/").text
    assert config(page) == {
        "title": "nato-search",
        "facets": ["year"],
        "per_document": 1,
        "placeholder": True,
    }


def test_a_title_is_escaped(index: nato_search.Index) -> None:
    title = "<script>alert('x')</script> & co"
    with TestClient(create_app(index, title=title)) as client:
        page = client.get("/").text
    assert "<script>alert" not in page
    assert "<h1>&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co</h1>" in page
    assert config(page)["title"] == title


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"title": ""}, "title is a name of 1 to 200 characters"),
        ({"title": "x" * 201}, "title is a name of 1 to 200 characters"),
        ({"facets": "source"}, "facets is a list of names"),
        ({"facets": ["source", ""]}, "facets is a list of names"),
        ({"per_document": 0}, "per_document is None or 1 or more"),
        ({"per_document": True}, "per_document is None or 1 or more"),
        ({"placeholder": "yes"}, "placeholder is True or False"),
    ],
)
def test_bad_page_options_are_refused(index: nato_search.Index, options, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=re.escape(message)):
        create_app(index, **options)


def test_a_facet_no_document_has_is_refused_when_the_index_is_open(
    index: nato_search.Index,
) -> None:
    with pytest.raises(OptionError, match="facets: unknown name 'sourc'; known names: .*source"):
        create_app(index, facets=["year", "sourc"])


def test_app_from_environment_reads_the_page_options(
    index: nato_search.Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NATO_SEARCH_INDEX", index.path)
    options = {"title": "Veille", "facets": ["tags"], "per_document": 2, "placeholder": False}
    monkeypatch.setenv(PAGE_VARIABLE, json.dumps(options))
    with TestClient(app_from_environment()) as client:
        assert config(client.get("/").text) == options


def test_a_hit_matched_by_its_title_alone_carries_its_documents_lead(
    index: nato_search.Index,
) -> None:
    with TestClient(create_app(index)) as client:
        by_title = client.get("/search", params={"q": "numéro", "per_document": 1}).json()
        by_text = client.get("/search", params={"q": "camions", "per_document": 1}).json()
    hit = by_title["hits"][0]
    assert hit["paragraph"] == 1 and hit["highlights"] == [] and hit["title_highlights"]
    number = hit["doc_id"].removeprefix("convoi-").lstrip("0") or "0"
    assert hit["lead"] == {
        "paragraph": 0,
        "snippet_html": f"Le convoi de ravitaillement {number} a livré des vivres à Kharkiv.",
    }
    assert all("lead" not in hit for hit in by_text["hits"])  # they matched in their text


def test_a_page_without_facets(index: nato_search.Index) -> None:
    with TestClient(create_app(index, facets=[], placeholder=False)) as client:
        found = config(client.get("/").text)
    assert found["facets"] == [] and found["placeholder"] is False
