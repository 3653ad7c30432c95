"""/openapi.json: a valid OpenAPI 3.1 document naming every route and parameter."""

import pytest

pytest.importorskip("starlette")
validator = pytest.importorskip("openapi_spec_validator")

from starlette.applications import Starlette  # noqa: E402
from starlette.routing import Mount, Route  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

import nato_search  # noqa: E402
from nato_search.web import app as web_app  # noqa: E402
from nato_search.web import create_app  # noqa: E402

DOCS = [nato_search.Document("a", "Alerte", paragraphs=["Les frégates appareillent."])]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    with nato_search.build_index(DOCS, tmp_path_factory.mktemp("ix") / "ix") as ix:
        yield ix


def parameters(operation):
    return {p["name"] for p in operation["parameters"] if p["in"] == "query"}


def test_the_document_is_valid_and_names_every_route_and_parameter(index):
    app = create_app(index)
    with TestClient(app) as web:
        spec = web.get("/openapi.json").json()
    validator.validate(spec)
    routes = {
        r.path.replace("{doc_id:path}", "{doc_id}") for r in app.routes if isinstance(r, Route)
    }
    assert set(spec["paths"]) == routes - {"/", "/openapi.json"}
    assert parameters(spec["paths"]["/search"]["get"]) == set(web_app.SEARCH_PARAMETERS)
    document = spec["paths"]["/documents/{doc_id}"]["get"]
    assert parameters(document) == set(web_app.DOCUMENT_PARAMETERS)
    limit = next(p for p in spec["paths"]["/search"]["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == web_app.MAX_LIMIT
    assert spec["servers"] == [{"url": "/"}] and "securitySchemes" not in spec["components"]


def test_a_mounted_app_describes_itself_under_its_mount_point_and_its_keys(index):
    key = "api-key-0123456789abcdef"
    parent = Starlette(routes=[Mount("/recherche", create_app(index, api_key=key))])
    with TestClient(parent) as web:
        answer = web.get("/recherche/openapi.json")  # open, even under a key
    assert answer.status_code == 200
    spec = answer.json()
    validator.validate(spec)
    assert spec["servers"] == [{"url": "/recherche"}]
    assert spec["components"]["securitySchemes"] == {"bearer": {"type": "http", "scheme": "bearer"}}
    assert spec["paths"]["/search"]["get"]["security"] == [{"bearer": []}]
    assert "security" not in spec["paths"]["/health"]["get"]
    app = create_app(index, api_key=key)  # writes exist: described, every method
    routes = {
        (r.path.replace("{doc_id:path}", "{doc_id}"), m.lower())
        for r in app.routes
        if isinstance(r, Route)
        for m in r.methods - {"HEAD"}
    }
    described = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert described == routes - {("/", "get"), ("/openapi.json", "get")}


def test_the_multi_search_bound_is_the_apps(index):
    with TestClient(create_app(index)) as web:
        spec = web.get("/openapi.json").json()
    many = spec["paths"]["/multi-search"]["post"]["requestBody"]["content"]["application/json"]
    assert many["schema"]["properties"]["queries"]["maxItems"] == web_app.MAX_QUERIES
    assert set(spec["components"]["schemas"]["Search"]["properties"]) == set(
        web_app.SEARCH_PARAMETERS
    )
