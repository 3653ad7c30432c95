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
    for name in ("NATO_SEARCH_API_KEY", "NATO_SEARCH_SEARCH_KEY"):  # serve sets them: undone after
        monkeypatch.setenv(name, "")  # (delenv of an unset name would record nothing to undo)
    (tmp_path / "key").write_text("court\n", "utf-8")
    args = ["serve", "--http", "1", "--api-key-file", str(tmp_path / "key")]
    assert main(args) == 2
    assert "NATO_SEARCH_API_KEY: a key is at least 16" in capsys.readouterr().err
    monkeypatch.setenv("NATO_SEARCH_API_KEY", "")
    assert main(["serve", "--http", "1", "--cors-origin", "example.org"]) == 2
    assert "CORS origin 'example.org'" in capsys.readouterr().err


@pytest.fixture
def writable(tmp_path):
    with nato_search.build_index(DOCS, tmp_path / "ix") as ix:
        with TestClient(create_app(ix, api_key=API, search_key=SEARCH)) as web:
            yield web


def test_writes_exist_only_with_an_api_key(index):
    with client(index, search_key=SEARCH) as web:
        answer = web.put("/documents/b", json={"paragraphs": ["x"]}, headers=bearer(SEARCH))
        assert answer.status_code == 405
    with client(index) as web:
        assert web.delete("/documents/a").status_code == 405


def test_a_write_needs_the_api_key_and_is_seen_by_the_next_search(writable):
    doc = {
        "title": "Brest",
        "date": "2024-06-13",
        "paragraphs": ["Les corvettes patrouillent."],
        "source": "AFP",
    }
    refused = writable.put("/documents/b", json=doc, headers=bearer(SEARCH))
    assert (refused.status_code, refused.json()) == (
        403,
        {"error": "the search key reads; writing needs the API key"},
    )
    assert writable.put("/documents/b", json=doc).status_code == 401
    written = writable.put("/documents/b", json=doc, headers=bearer(API))
    assert written.json() == {"documents": 1, "paragraphs": 1}
    [hit] = writable.get("/search", params={"q": "corvettes"}, headers=bearer(SEARCH)).json()[
        "hits"
    ]
    assert (hit["doc_id"], hit["date"], hit["metadata"]) == ("b", "2024-06-13", {"source": "AFP"})
    # PUT replaces the whole document
    writable.put("/documents/b", json={"text": "Les sous-marins plongent."}, headers=bearer(API))
    assert (
        writable.get("/search", params={"q": "corvettes"}, headers=bearer(API)).json()["total"] == 0
    )
    gone = writable.delete("/documents/b", headers=bearer(API))
    assert gone.json() == {"deleted": "b", "paragraphs": 1}
    assert writable.delete("/documents/b", headers=bearer(API)).status_code == 404
    assert (
        writable.get("/search", params={"q": "sous-marins"}, headers=bearer(API)).json()["total"]
        == 0
    )


def test_a_batch_in_one_commit_as_json_or_json_lines(writable):
    batch = [{"id": "c1", "text": "Les drones volent."}, {"id": "a", "text": "Les chars avancent."}]
    answer = writable.post("/documents", json=batch, headers=bearer(API))
    assert answer.json() == {"documents": 2, "paragraphs": 2}

    def search(q):
        answer = writable.get("/search", params={"q": q}, headers=bearer(API))
        return [h["doc_id"] for h in answer.json()["hits"]]

    assert (search("drones"), search("chars"), search("frégates")) == (["c1"], ["a"], [])
    lines = b'{"id": "l1", "text": "Les radars veillent."}\n{"id": "l2", "text": "Les radars dorment."}\n'
    headers = bearer(API) | {"Content-Type": "application/x-ndjson"}
    assert writable.post("/documents", content=lines, headers=headers).json()["documents"] == 2
    assert sorted(search("radars")) == ["l1", "l2"]


@pytest.mark.parametrize(
    ("body", "kind", "message"),
    [
        (
            b'[{"id": "x", "text": "a"},\n {"id": null, "text": "b"}]',
            "application/json",
            "body:2: 'id' must be a string",
        ),
        (
            b'{"id": "x"}\n{"id": "y", "text": 3}\n',
            "application/x-ndjson",
            "body:1: expected 'text'",
        ),
        (b"[]", "application/json", "no document in it"),
        (b"[{", "application/json", "body:1:"),
    ],
)
def test_a_malformed_batch_is_a_400_naming_the_line_and_changes_nothing(
    writable, body, kind, message
):
    answer = writable.post("/documents", content=body, headers=bearer(API) | {"Content-Type": kind})
    assert answer.status_code == 400 and answer.json()["parameter"] == "body"
    assert message in answer.json()["error"]
    assert (
        writable.get("/search", params={"q": "frégates"}, headers=bearer(API)).json()["total"] == 1
    )


def test_a_body_too_large_or_not_an_object_is_refused(writable, monkeypatch):
    from nato_search.web import app as web_app

    monkeypatch.setattr(web_app, "MAX_BODY_BYTES", 100)
    big = writable.post("/documents", content=b"[" + b" " * 200 + b"]", headers=bearer(API))
    assert (big.status_code, big.json()["error"]) == (400, "body: at most 100 bytes")
    wrong = writable.put("/documents/z", json=["x"], headers=bearer(API))
    assert wrong.status_code == 400 and "a JSON object" in wrong.json()["error"]
    other = writable.put("/documents/z", json={"id": "y", "text": "t"}, headers=bearer(API))
    assert other.json()["error"] == "body: 'id' is 'y', not the path's 'z'"
