"""The HTTP API through Starlette's test client: every parameter, every error status,
and document text that holds markup reaching HTML escaped."""

from __future__ import annotations

import asyncio
import html
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import web_fixture

pytest.importorskip("starlette", reason="needs the web extra (pip install '.[test]')")
httpx = pytest.importorskip("httpx2", reason="Starlette's test client needs httpx2")

from starlette.applications import Starlette  # noqa: E402
from starlette.routing import Mount  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

import nato_search  # noqa: E402
from nato_search import cli  # noqa: E402
from nato_search.settings import POOL_SIZE  # noqa: E402
from nato_search.web.app import MAX_LIMIT, create_app  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with web_fixture.build(tmp_path_factory.mktemp("web") / "index") as ix:
        yield ix


@pytest.fixture(scope="module")
def client(index: nato_search.Index):  # type: ignore[no-untyped-def]
    with TestClient(create_app(index)) as test_client:
        yield test_client


def hits(answer: dict) -> list[tuple[str, int]]:  # type: ignore[type-arg]
    return [(hit["doc_id"], hit["paragraph"]) for hit in answer["hits"]]


def test_health(client: TestClient, index: nato_search.Index) -> None:
    answer = client.get("/health")
    assert answer.status_code == 200
    assert answer.json() == {
        "paragraphs": 71,
        "documents": 30,
        "backend": "whoosh",
        "version": nato_search.__version__,
    }


def test_search_is_the_api_s_results_plus_html_and_timing(
    client: TestClient, index: nato_search.Index
) -> None:
    answer = client.get("/search", params={"q": "munitions"}).json()
    expected = index.search("munitions").to_dict()
    took = answer.pop("took_ms")
    assert isinstance(took, float) and 0 <= took < 10_000
    for hit in answer["hits"]:
        assert hit.pop("snippet_html") == hit["snippet"].replace("[", "<mark>").replace(
            "]", "</mark>"
        )
        assert hit.pop("title_html") == html.escape(hit["title"])
    assert answer == expected
    assert hits(answer) == [("003_1bfd15bd7f542d98", 1), ("002_3378df031dd4d962", 1)]
    assert answer["total"] == 2 and answer["suggestion"] is None


def test_title_matches_are_marked(client: TestClient) -> None:
    answer = client.get("/search", params={"q": "convoi 5", "limit": 1}).json()
    assert answer["hits"][0]["title_html"] == "<mark>Convoi</mark> numéro <mark>5</mark>"


def test_limit_and_offset_page_through_one_ranking(client: TestClient) -> None:
    everything = client.get("/search", params={"q": "ravitaillement", "limit": 24}).json()
    assert everything["total"] == 24 and len(everything["hits"]) == 24
    page = client.get("/search", params={"q": "ravitaillement", "limit": 5, "offset": 10}).json()
    assert hits(page) == hits(everything)[10:15]
    assert page["offset"] == 10 and page["total"] == 24
    past = client.get("/search", params={"q": "ravitaillement", "offset": 30}).json()
    assert past["hits"] == [] and past["total"] == 24


def test_filters(client: TestClient) -> None:
    def found(*filters: str) -> set[str]:
        params = [("q", "ravitaillement"), ("limit", str(MAX_LIMIT))]
        answer = client.get("/search", params=params + [("filter", f) for f in filters]).json()
        return {doc_id for doc_id, _ in hits(answer)}

    assert found("source:AFP") == {f"convoi-{n:02d}" for n in range(1, 24, 2)}
    assert found("doc_id:convoi-01", "doc_id:convoi-02") == {"convoi-01", "convoi-02"}
    assert found("tags:lot-0") == {f"convoi-{n:02d}" for n in range(0, 24, 3)}
    assert found("tags:lot-0", "source:AFP") == {f"convoi-{n:02d}" for n in (3, 9, 15, 21)}
    assert found("source = AFP AND tags IN [lot-0, lot-1]") == {
        f"convoi-{n:02d}" for n in range(1, 24, 2) if n % 3 != 2
    }
    assert found("tags:lot-0", "NOT source = AFP") == {f"convoi-{n:02d}" for n in (0, 6, 12, 18)}
    assert found("year:2023") == found("year = 2023") == found("date >= 2023-01-01")
    unknown = client.get("/search", params={"q": "ravitaillement", "filter": "color:red"})
    assert unknown.status_code == 400 and unknown.json()["parameter"] == "filter"
    assert unknown.json()["error"].startswith("filter: unknown field 'color'")
    assert found("doc_id:piège/1") == set()
    slash = client.get("/search", params={"q": "balise", "filter": "doc_id:piège/1"}).json()
    assert hits(slash) == [(web_fixture.HOSTILE_ID, 1)]


def test_sort(client: TestClient) -> None:
    def dates(sort: str | None) -> list[str]:
        params = {"q": "ravitaillement", "limit": 24} | ({"sort": sort} if sort else {})
        return [hit["date"] for hit in client.get("/search", params=params).json()["hits"]]

    assert dates("date") == sorted(dates(None))
    assert dates("-date") == sorted(dates(None), reverse=True)
    assert dates("-date")[0] == "2023-05-10" and dates("date")[0] == "2021-03-01"
    assert dates("relevance") == dates(None)


def test_sort_by_fields_recency_and_placeholder_as_the_library(
    client: TestClient, index: nato_search.Index
) -> None:
    def same(params: dict[str, str], **options: object) -> dict:  # type: ignore[type-arg]
        answer = client.get("/search", params=params | {"limit": "50"}).json()
        library = index.search(params.get("q"), 50, **options)  # type: ignore[arg-type]
        assert hits(answer) == [(h.doc_id, h.paragraph) for h in library]
        assert answer["total"] == library.total
        return answer

    by_source = same({"q": "ravitaillement", "sort": "source,-date"}, sort=["source", "-date"])
    sources = [hit["metadata"]["source"] for hit in by_source["hits"]]
    assert sources == ["AFP"] * 12 + ["Reuters"] * 12
    assert same({"q": "convoi", "recency": "30"}, recency=30)["hits"][0]["date"] == "2023-05-10"
    listed = same({"q": "", "sort": "-date", "per_document": "1"}, sort="-date", per_document=1)
    assert listed["total"] == 30 and listed["hits"][0]["date"] == "2024-08-28"
    posted = client.post("/search", json={"sort": ["-date"], "per_document": 1, "limit": 50})
    assert hits(posted.json()) == hits(listed)
    unknown = client.get("/search", params={"q": "x", "sort": "colour"})
    assert unknown.status_code == 400 and unknown.json()["parameter"] == "sort"
    assert unknown.json()["error"].startswith("sort: unknown field 'colour'; known fields:")


def test_one_hit_per_document(client: TestClient) -> None:
    params = {"q": "ravitaillement OR camions", "limit": MAX_LIMIT}
    assert client.get("/search", params=params).json()["total"] == 48
    answer = client.get("/search", params=params | {"per_document": 1}).json()
    assert answer["total"] == 24
    assert sorted(doc_id for doc_id, _ in hits(answer)) == [f"convoi-{n:02d}" for n in range(24)]


def test_facets(client: TestClient) -> None:
    params = {"q": "ravitaillement", "limit": 1, "facets": "year,source"}
    facets = client.get("/search", params=params).json()["facets"]
    assert facets == {"year": {"2021": 14, "2023": 10}, "source": {"AFP": 12, "Reuters": 12}}
    assert list(facets["year"]) == ["2021", "2023"]  # most frequent first, kept in the JSON
    repeated = [("q", "ravitaillement"), ("facets", "year"), ("facets", "tags")]
    facets = client.get("/search", params=repeated).json()["facets"]
    assert facets["tags"] == {"convoi": 24, "lot-0": 8, "lot-1": 8, "lot-2": 8}


def test_prefix(client: TestClient) -> None:
    def answer(prefix: str) -> dict:  # type: ignore[type-arg]
        return client.get("/search", params={"q": "ravi", "prefix": prefix}).json()

    assert answer("false")["total"] == 0
    completed = answer("true")
    assert completed["total"] == 24
    assert "<mark>ravitaillement</mark>" in completed["hits"][0]["snippet_html"]
    assert answer("1")["total"] == answer("on")["total"] == 24


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("q=x&limit=0", "limit"),
        ("q=x&sort=-date,,year", "sort"),
        ("q=x&sort=date,-date", "sort"),
        ("q=x&recency=0", "recency"),
        ("q=x&recency=soon", "recency"),
        (f"q=x&limit={MAX_LIMIT + 1}", "limit"),
        ("q=x&limit=ten", "limit"),
        ("q=x&offset=-1", "offset"),
        ("q=x&offset=10001", "offset"),
        ("q=x&offset=1.5", "offset"),
        ("q=x&filter=source", "filter"),
        ("q=x&filter=:AFP", "filter"),
        ("q=x&sort=title", "sort"),
        ("q=x&per_document=0", "per_document"),
        ("q=x&facets=year,,doc_id", "facets"),
        ("q=x&facets=a=b", "facets"),
        ("q=x&filter=", "filter"),
        ("q=x&filter=pages%20%3E%3D", "filter"),
        ("q=x&filter=source%20%3E%20AFP", "filter"),
        ("q=x&facets=colour", "facets"),
        ("q=x&filter=month:2020-01", "filter"),
        ("q=x&filter=a%3Db:c", "filter"),
        ("q=x&prefix=maybe", "prefix"),
        ("q=x&limt=3", "limt"),
        ("q=x&q=y", "q"),
        ("q=x&limit=3&limit=4", "limit"),
        ("q=x&limit=%EF%BC%91", "limit"),
        ("q=x&limit=1_0", "limit"),
        ("q=x&offset=99999999999999999999", "offset"),
        ("q=ukraine+date:2024-02-30", "q"),
        ("q=ukraine+date:2024..2023", "q"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(client: TestClient, query: str, parameter: str) -> None:
    answer = client.get(f"/search?{query}")
    assert answer.status_code == 400
    body = answer.json()
    assert body["parameter"] == parameter
    assert body["error"].startswith(f"{parameter}: ")


def test_the_date_error_says_what_is_wrong(client: TestClient) -> None:
    body = client.get("/search", params={"q": "ukraine date:2024-02-30"}).json()
    assert body["error"] == "q: date:2024-02-30: February 2024 has no day 30"


def test_document_as_json(client: TestClient) -> None:
    answer = client.get("/documents/convoi-03")
    assert answer.status_code == 200
    assert answer.json() == {
        "id": "convoi-03",
        "title": "Convoi numéro 3",
        "date": "2021-03-04",
        "metadata": {"source": "AFP", "tags": ["convoi", "lot-0"]},
        "paragraphs": [
            "Le convoi de ravitaillement 3 a livré des vivres à Kharkiv.",
            "Les camions sont repartis vides vers la frontière.",
        ],
        "pages": None,
    }
    slash = client.get("/documents/pi%C3%A8ge%2F1").json()
    assert slash["id"] == web_fixture.HOSTILE_ID and slash["title"] == web_fixture.HOSTILE_TITLE


def test_unknown_document_is_a_404(client: TestClient) -> None:
    answer = client.get("/documents/nope")
    assert answer.status_code == 404 and answer.json() == {"error": "no document 'nope'"}
    page = client.get("/documents/<nope>", headers=HTML)
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert "&#x27;&lt;nope&gt;&#x27;" in page.text and "<nope>" not in page.text


def test_document_page_marks_and_points_at_the_matched_paragraph(client: TestClient) -> None:
    page = client.get(
        "/documents/convoi-03", params={"q": "ravitaillement", "paragraph": 0}, headers=HTML
    )
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert (
        '<p id="p-0" class="matched current" tabindex="-1" aria-current="true">'
        "Le convoi de <mark>ravitaillement</mark> 3 a livré des vivres à Kharkiv.</p>"
    ) in page.text
    assert '<p id="p-1">Les camions sont repartis vides vers la frontière.</p>' in page.text
    assert '<a id="back" href="/?q=ravitaillement">' in page.text
    assert "<dt>tags</dt><dd>convoi, lot-0</dd>" in page.text
    typing = client.get(
        "/documents/003_1bfd15bd7f542d98",
        params={"q": "muni", "prefix": "true", "paragraph": 1},
        headers=HTML,
    ).text
    assert "les <mark>munitions</mark> dont" in typing
    bad = client.get("/documents/convoi-03", params={"paragraph": "-1"}, headers=HTML)
    assert bad.status_code == 400 and bad.json()["parameter"] == "paragraph"
    plain = client.get("/documents/convoi-03", headers=HTML).text
    assert "<mark>" not in plain and "current" not in plain


def test_hostile_text_is_escaped_in_every_html(client: TestClient) -> None:
    found = client.get("/search", params={"q": "piégé balise"}).json()["hits"][0]
    assert found["title_html"] == html.escape(web_fixture.HOSTILE_TITLE)
    assert "<script" not in found["snippet_html"] and "<img" not in found["snippet_html"]
    assert html.unescape(re.sub("</?mark>", "", found["snippet_html"])) in web_fixture.HOSTILE_TEXT
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in found["snippet_html"]
    page = client.get(
        "/documents/pi%C3%A8ge%2F1",
        params={"q": "piégé balise", "paragraph": 1},
        headers=HTML,
    ).text
    body = page.split("<body>", 1)[1]
    assert re.findall(r"<(\w+)", body) == [
        "nav", "a", "main", "article", "h1", "p", "dl", "dt", "dd", "dt", "dd", "p", "p", "mark",
        "mark",
    ]  # fmt: skip
    assert "<dd>javascript:alert(1)</dd>" in page  # text, never a link
    assert html.escape(web_fixture.HOSTILE_TITLE) in page
    assert "<dd>&lt;i&gt;source&lt;/i&gt;</dd>" in page


def test_pages_refuse_inline_scripts(client: TestClient) -> None:
    for url, headers in [("/", {}), ("/documents/convoi-03", HTML)]:
        answer = client.get(url, headers=headers)
        assert answer.headers["content-security-policy"].startswith("default-src 'self'")
        assert answer.headers["x-content-type-options"] == "nosniff"


def test_page_and_static_files(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and '<base href="/">' in page.text
    assert 'aria-live="polite"' in page.text and '<label for="q">' in page.text
    for name, kind in [("search.js", "text/javascript"), ("search.css", "text/css")]:
        answer = client.get(f"/static/{name}")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(kind)
    static = ROOT / "nato_search" / "web" / "static"
    for shipped in sorted(static.iterdir()):  # nothing from another site: works offline
        assert not re.search(r"https?:|[\"'(]//", shipped.read_text(encoding="utf-8")), shipped


def test_unknown_route_is_a_json_404(client: TestClient) -> None:
    answer = client.get("/nope")
    assert answer.status_code == 404 and answer.json() == {"error": "Not Found"}


def test_mounted_inside_another_app(index: nato_search.Index) -> None:
    parent = Starlette(routes=[Mount("/find", create_app(index))])
    with TestClient(parent) as mounted:
        assert mounted.get("/find/search", params={"q": "munitions"}).json()["total"] == 2
        assert '<base href="/find/">' in mounted.get("/find/").text
        page = mounted.get("/find/documents/convoi-03", params={"q": "convoi"}, headers=HTML)
        assert '<link rel="stylesheet" href="/find/static/search.css">' in page.text
        assert '<a id="back" href="/find/?q=convoi">' in page.text
        assert mounted.get("/find/static/search.css").status_code == 200


def test_a_missing_index_is_a_503_until_it_is_built(tmp_path: Path) -> None:
    path = tmp_path / "later"
    with TestClient(create_app(path)) as later:
        for url in ("/health", "/search?q=munitions", "/documents/convoi-03"):
            answer = later.get(url)
            assert answer.status_code == 503
            assert answer.json()["error"] == (
                "no index has been built here yet; it is served once it is"
            )
        nato_search.build_index(web_fixture.SEEDS, path).close()
        assert later.get("/search", params={"q": "munitions"}).json()["total"] == 2


def test_an_index_closed_by_its_owner_is_a_503(tmp_path: Path) -> None:
    ix = nato_search.build_index(web_fixture.SEEDS, tmp_path / "ix")
    with TestClient(create_app(ix)) as client:
        assert client.get("/search", params={"q": "munitions"}).status_code == 200
        ix.close()
        for url in ("/health", "/search?q=munitions", "/documents/convoi-03"):
            answer = client.get(url)
            assert answer.status_code == 503, url
            assert answer.json()["error"] == (
                "the index has been closed by the application serving it"
            )


def test_a_misconfigured_app_answers_500_without_a_traceback() -> None:
    with TestClient(create_app(42), raise_server_exceptions=False) as broken:  # type: ignore[arg-type]
        answer = broken.get("/health")
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal error (TypeError); see the server's log"}


def test_searches_run_on_a_bounded_pool_of_threads(index: nato_search.Index) -> None:
    app = create_app(index)
    loop_thread: list[threading.Thread] = []
    before = set(threading.enumerate())

    async def burst() -> list[int]:
        loop_thread.append(threading.current_thread())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as requests:
            answers = await asyncio.gather(
                *(requests.get("/search", params={"q": f"convoi {n}"}) for n in range(24))
            )
        return [answer.status_code for answer in answers]

    assert asyncio.run(burst()) == [200] * 24
    new = set(threading.enumerate()) - before
    searchers = [t for t in new if t.name.startswith("nato-search-web")]
    assert 1 <= len(searchers) <= POOL_SIZE and loop_thread[0] not in searchers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_runs_workers_that_answer(index: nato_search.Index, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NATO_SEARCH_HOME": str(tmp_path)}
    command = [sys.executable, "-m", "nato_search", "serve", "--http", f"127.0.0.1:{port}"]
    log_file = tmp_path / "serve.log"
    started = re.compile(r"Started server process \[\d+\]")
    with log_file.open("w") as log:
        server = subprocess.Popen(
            [*command, "--index", index.path, "--workers", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            text=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/search?q=munitions"
        with urllib.request.urlopen(url, timeout=10) as r:
            assert b'"total":2' in r.read()
        # one worker may answer before the other has started: wait for both to say so
        while len(started.findall(log_file.read_text())) < 2:
            assert server.poll() is None and time.monotonic() < deadline, log_file.read_text()
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=15)
    assert len(started.findall(log_file.read_text())) == 2


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--http", "0"], 2, "expected [HOST:]PORT with a port 1-65535, got '0'"),
        (["--http", "host:"], 2, "expected [HOST:]PORT with a port 1-65535, got 'host:'"),
        (["--http", "8000", "--workers", "0"], 2, "expected a positive whole number"),
        (["--http", "8000", "--header-timeout", "0"], 2, "expected seconds, above 0"),
        (["--http", "8000", "--allowed-host", "evil*"], 2, "allowed host 'evil*': a host name"),
        (["--http", "8000", "--header-timeout", "nan"], 2, "expected seconds, above 0"),
        (["--http", "8000", "--index", "{tmp}/none"], 1, "no index at {tmp}/none"),
        (["--http", "8000", "--title", " "], 2, "title is a name of 1 to 200 characters"),
        (["--http", "8000", "--facet", "sourc"], 2, "facets: unknown name 'sourc'"),
        (["--http", "8000", "--per-document", "0"], 2, "expected a positive whole number"),
        (["--http", "8000", "--per-document", "2", "--all-paragraphs"], 2, "not allowed with"),
    ],
)
def test_serve_refuses_bad_options(
    args: list[str],
    code: int,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = [arg.format(tmp=tmp_path) for arg in args]
    try:
        result = cli.main(["serve", *args])
    except SystemExit as exit_:
        result = exit_.code  # argparse's usage errors
    assert result == code
    assert message.format(tmp=tmp_path) in capsys.readouterr().err


@pytest.mark.parametrize(
    ("value", "address"),
    [("8000", ("127.0.0.1", 8000)), ("0.0.0.0:80", ("0.0.0.0", 80)), ("[::1]:9", ("::1", 9))],
)
def test_serve_address(value: str, address: tuple[str, int]) -> None:
    assert cli._address(value) == address


def test_the_docs_fastapi_example_serves_the_app(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("fastapi", reason="the HTTP docs page's example mounts the app in FastAPI")
    page = (ROOT / "docs" / "http.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    example = next(block for block in blocks if "FastAPI()" in block)
    nato_search.build_index(web_fixture.SEEDS, tmp_path / "my-index").close()
    monkeypatch.chdir(tmp_path)
    names: dict[str, object] = {}
    exec(example, names)
    with TestClient(names["app"]) as app:  # type: ignore[arg-type]
        assert app.get("/").json() == {"search": "/search/"}
        assert app.get("/search/search", params={"q": "munitions"}).json()["total"] == 2
        assert '<base href="/search/">' in app.get("/search/").text
    names["index"].close()  # type: ignore[attr-defined]


def test_xapian_shards_are_served_too(tmp_path: Path) -> None:
    pytest.importorskip("xapian", reason="needs the xapian extra")
    path = tmp_path / "shards"
    nato_search.build_index(web_fixture.SEEDS, path, backend="xapian", shards=2).close()
    with TestClient(create_app(path)) as shards:
        health = shards.get("/health").json()
        assert health["backend"] == "xapian" and health["paragraphs"] == 21
        answer = shards.get("/search", params={"q": "munitions"}).json()
        assert {hit["doc_id"] for hit in answer["hits"]} == {
            "003_1bfd15bd7f542d98",
            "002_3378df031dd4d962",
        }
        assert "<mark>munitions</mark>" in answer["hits"][0]["snippet_html"]


def test_word_vectors_reorder_unless_the_request_says_vectors_false(tmp_path: Path) -> None:
    from nato_search.vectors import WordVectors

    tiny = WordVectors.from_words({"décédé": [1.0, 0.0], "mort": [0.8, 0.6]})
    documents = [
        nato_search.Document("visite", "A", None, ["Le général visite Paris."]),
        nato_search.Document("mort", "B", None, ["Le général est mort à Sainte-Hélène."]),
    ]
    nato_search.build_index(documents, tmp_path / "ix").close()
    with TestClient(create_app(tmp_path / "ix", vectors=tiny)) as client:
        meant = client.get("/search", params={"q": "général décédé"}).json()
        plain = client.get("/search", params={"q": "général décédé", "vectors": "false"}).json()
        bad = client.get("/search", params={"q": "général", "vectors": "maybe"})
    assert [h["doc_id"] for h in meant["hits"]] == ["mort", "visite"]
    assert [h["doc_id"] for h in plain["hits"]] == ["visite", "mort"]
    assert bad.status_code == 400 and bad.json()["parameter"] == "vectors"
