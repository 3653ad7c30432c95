"""Keys and CORS: who may call the HTTP app."""

import pytest

pytest.importorskip("starlette")

from starlette.applications import Starlette  # noqa: E402
from starlette.routing import Mount  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

import nato_search  # noqa: E402
from nato_search.cli import main  # noqa: E402
from nato_search.web import create_app  # noqa: E402

API = "api-key-0123456789abcdef"
SEARCH = "search-key-0123456789abc"
DOCS = [nato_search.Document("a", "Alerte", paragraphs=["Les frégates appareillent."])]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    with nato_search.build_index(DOCS, tmp_path_factory.mktemp("ix") / "ix") as ix:
        yield ix


def client(index, **options):
    return TestClient(create_app(index, **options))


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def test_without_keys_everything_is_open(index):
    with client(index) as web:
        assert web.get("/search", params={"q": "frégates"}).status_code == 200


@pytest.mark.parametrize("key", [API, SEARCH])
def test_reads_need_a_key_when_one_is_set(index, key):
    with client(index, api_key=API, search_key=SEARCH) as web:
        answer = web.get("/search", params={"q": "frégates"})
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == 'Bearer realm="nato-search"'
        assert answer.json() == {"error": "this server needs a key: send Authorization: Bearer KEY"}
        wrong = web.get("/search", params={"q": "frégates"}, headers=bearer(key[:-1] + "!"))
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"].endswith('error="invalid_token"')
        assert web.get("/documents/a", headers={"Authorization": key}).status_code == 401
        found = web.get("/search", params={"q": "frégates"}, headers=bearer(key))
        assert [h["doc_id"] for h in found.json()["hits"]] == ["a"]
        assert web.get("/documents/a", headers=bearer(key)).json()["id"] == "a"


def test_the_probe_and_the_page_stay_open(index):
    with client(index, search_key=SEARCH) as web:
        health = web.get("/health")
        assert health.status_code == 200 and health.json()["paragraphs"] == 1
        assert web.get("/").status_code == 200
        assert web.get("/static/search.js").status_code == 200
        assert web.get("/documents/a").status_code == 401


def test_keys_hold_in_a_mounted_app(index):
    parent = Starlette(routes=[Mount("/recherche", create_app(index, api_key=API))])
    with TestClient(parent) as web:
        assert web.get("/recherche/search", params={"q": "frégates"}).status_code == 401
        assert web.get("/recherche/health").status_code == 200
        answer = web.get("/recherche/search", params={"q": "frégates"}, headers=bearer(API))
        assert answer.status_code == 200


def test_short_or_spaced_keys_are_refused(index):
    with pytest.raises(ValueError, match="api_key: a key is at least 16 printable characters"):
        create_app(index, api_key="court")
    with pytest.raises(ValueError, match="search_key: a key holds no spaces"):
        create_app(index, search_key="une clé avec des espaces")


def test_cors_allows_only_the_origins_named(index):
    origin = "https://app.example.org"
    with client(index) as web:
        answer = web.get("/search", params={"q": "frégates"}, headers={"Origin": origin})
        assert "access-control-allow-origin" not in answer.headers
    with client(index, cors_origins=[origin], search_key=SEARCH) as web:
        preflight = web.options(
            "/search",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "Authorization",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == origin
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        # A 401 carries the CORS headers too, so that the browser app can read why.
        refused = web.get("/search", params={"q": "x"}, headers={"Origin": origin})
        assert refused.status_code == 401
        assert refused.headers["access-control-allow-origin"] == origin
        other = web.options(
            "/search",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert other.status_code == 400
        assert "access-control-allow-origin" not in other.headers
    with pytest.raises(ValueError, match="CORS origin 'app.example.org': a scheme and host"):
        create_app(index, cors_origins=["app.example.org"])


def test_serve_refuses_a_bad_key_or_origin_before_serving(tmp_path, capsys, monkeypatch):
    (tmp_path / "key").write_text("court\n", "utf-8")
    args = ["serve", "--http", "1", "--api-key-file", str(tmp_path / "key")]
    assert main(args) == 2
    assert "NATO_SEARCH_API_KEY: a key is at least 16" in capsys.readouterr().err
    monkeypatch.delenv("NATO_SEARCH_API_KEY", raising=False)
    assert main(["serve", "--http", "1", "--cors-origin", "example.org"]) == 2
    assert "CORS origin 'example.org'" in capsys.readouterr().err
