"""The HTTP app facing the open web: Host checks (DNS rebinding), headers that keep answers
out of caches and frames, 503s that do not show the server's folders, and a server that
drops clients too slow to send a request."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import web_fixture

pytest.importorskip("starlette", reason="needs the web extra (pip install '.[test]')")
pytest.importorskip("httpx2", reason="Starlette's test client needs httpx2")

from starlette.testclient import TestClient  # noqa: E402

import nato_search  # noqa: E402
from nato_search.web.app import create_app  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HTML = {"accept": "text/html"}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[nato_search.Index]:
    with web_fixture.build(tmp_path_factory.mktemp("web") / "index") as ix:
        yield ix


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("localhost", 200),
        ("localhost:8000", 200),
        ("[::1]:8000", 200),
        ("search.example.org", 200),
        ("eu.search.example.org", 200),  # *.search.example.org
        ("attacker.example", 400),  # a rebinding page's own name
        ("localhost.attacker.example", 400),
        ("127.0.0.2", 400),
        ("", 400),
        ("localhost:80:80", 400),
    ],
)
def test_only_the_allowed_host_names_are_answered(
    index: nato_search.Index, host: str, status: int
) -> None:
    allowed = ["localhost", "[::1]", "search.example.org", "*.search.example.org"]
    with TestClient(create_app(index, allowed_hosts=allowed)) as client:
        for url in ("/", "/search?q=munitions", "/health", "/documents/convoi-03"):
            assert client.get(url, headers={"host": host}).status_code == status, url


def test_without_allowed_hosts_every_host_is_answered(index: nato_search.Index) -> None:
    with TestClient(create_app(index)) as client:
        assert client.get("/health", headers={"host": "anything.example"}).status_code == 200


def test_allowed_hosts_is_a_list_not_a_string(index: nato_search.Index) -> None:
    with pytest.raises(TypeError, match="a list of host names"):
        create_app(index, allowed_hosts="localhost")


@pytest.mark.parametrize("pattern", ["foo*", "*example.org", "a*.b", "", "a,b", "*."])
def test_a_host_pattern_starlette_would_refuse_is_a_clear_error(
    index: nato_search.Index, pattern: str
) -> None:
    with pytest.raises(ValueError, match=f"allowed host {re.escape(repr(pattern))}"):
        create_app(index, allowed_hosts=[pattern])


def test_json_answers_are_neither_sniffed_nor_cached(index: nato_search.Index) -> None:
    with TestClient(create_app(index)) as client:
        for url, status in [
            ("/search?q=munitions", 200),
            ("/health", 200),
            ("/documents/convoi-03", 200),
            ("/documents/none", 404),
            ("/search?q=munitions&limit=0", 400),
            ("/nowhere", 404),
        ]:
            answer = client.get(url)
            assert answer.status_code == status, url
            assert answer.headers["content-type"] == "application/json", url
            assert answer.headers["x-content-type-options"] == "nosniff", url
            assert answer.headers["cache-control"] == "no-store", url


def test_a_document_s_answers_vary_with_accept(index: nato_search.Index) -> None:
    """One URL answers HTML to a browser and JSON to fetch(): a cache that ignored
    ``Accept`` would hand one to the other."""
    with TestClient(create_app(index)) as client:
        for doc_id in ("convoi-03", "none"):
            for headers in ({}, HTML):
                answer = client.get(f"/documents/{doc_id}", headers=headers)
                assert answer.headers["vary"] == "Accept", (doc_id, headers)


def test_pages_may_not_be_framed_by_another_site(index: nato_search.Index) -> None:
    with TestClient(create_app(index)) as client:
        for url in ("/", "/documents/convoi-03", "/documents/none"):
            answer = client.get(url, headers=HTML)
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], url
            assert answer.headers["x-frame-options"] == "DENY", url


def test_health_does_not_show_where_the_index_lies(index: nato_search.Index) -> None:
    with TestClient(create_app(index)) as client:
        answer = client.get("/health")
    assert answer.status_code == 200 and Path(index.path).parent.name not in answer.text


def test_a_503_logs_its_detail_once_and_answers_without_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "private-folder" / "index"
    with TestClient(create_app(path)) as client, caplog.at_level(logging.WARNING):
        answers = [client.get("/search", params={"q": "munitions"}) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [503] * 3
    assert all("private-folder" not in answer.text for answer in answers)
    logged = [record.getMessage() for record in caplog.records if "unavailable" in record.message]
    assert len(logged) == 1 and str(path) in logged[0]


# --- the server: `nato-search serve --http` ---------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(index: nato_search.Index, tmp_path: Path) -> Iterator[int]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NATO_SEARCH_HOME": str(tmp_path)}
    command = [sys.executable, "-m", "nato_search", "serve", "--http", f"127.0.0.1:{port}"]
    options = ["--index", str(index.path), "--header-timeout", "1", "--allowed-host", "x.test"]
    process = subprocess.Popen(
        [*command, *options], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while get(port, "/health", "localhost")[0] != 200:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=15)


def get(port: int, url: str, host: str) -> tuple[int, bytes]:
    """The status and body of one GET with this ``Host`` header (0 if nothing answers)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            request = f"GET {url} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
            connection.sendall(request.encode())
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
    except OSError:
        return 0, b""
    head, _, body = answer.partition(b"\r\n\r\n")
    return (int(head.split()[1]) if head else 0), body


def test_serve_answers_loopback_names_and_those_it_is_told(server: int) -> None:
    for host in ("localhost", f"127.0.0.1:{server}", f"[::1]:{server}", "x.test"):
        assert get(server, "/search?q=munitions", host)[0] == 200, host
    status, body = get(server, "/search?q=munitions", "attacker.example")
    assert status == 400 and b"munitions" not in body


def test_serve_drops_connections_too_slow_to_send_a_request(server: int) -> None:
    """Slowloris: each socket sends a header line now and then, never the blank line
    ending the head. With a 1 s deadline every one is closed, and others are served."""
    slow = []
    for _ in range(60):
        connection = socket.create_connection(("127.0.0.1", server), timeout=10)
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n")
        slow.append(connection)
    idle = socket.create_connection(("127.0.0.1", server), timeout=10)  # sends nothing at all
    started = time.monotonic()
    try:
        for _ in range(4):  # 2 s of dribbling
            time.sleep(0.5)
            for connection in slow:
                try:
                    connection.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    pass
        assert get(server, "/health", "localhost")[0] == 200
        assert all(closed_by_server(connection) for connection in [*slow, idle])
        assert time.monotonic() - started < 8
    finally:
        for connection in [*slow, idle]:
            connection.close()


def dribble(connection: socket.socket, seconds: float) -> None:
    """Header lines every 0.4 s (each within uvicorn's keep-alive), the head never ended."""
    for _ in range(int(seconds / 0.4)):
        try:
            connection.sendall(b"X-Slow: 1\r\n")
        except OSError:
            return  # closed already
        time.sleep(0.4)


def read_answer(connection: socket.socket) -> bytes:
    """One whole answer on a kept-alive connection: its head, then content-length bytes."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += connection.recv(65536)
    head, _, body = answer.partition(b"\r\n\r\n")
    length = int(
        next(line for line in head.split(b"\r\n") if line.startswith(b"content-length:"))[15:]
    )
    while len(body) < length:
        body += connection.recv(65536)
    return head


def closed_by_server(connection: socket.socket) -> bool:
    try:
        return connection.recv(1024) == b""
    except ConnectionResetError:
        return True


def test_serve_drops_a_kept_alive_connection_dribbling_its_next_request(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server), timeout=10) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert read_answer(connection).startswith(b"HTTP/1.1 200")
        connection.sendall(b"GET /health HTTP/1.1\r\n")
        dribble(connection, 2.0)
        assert closed_by_server(connection)


def test_the_deadline_starts_again_after_each_answer(server: int) -> None:
    """The deadline is on each request's head: a kept-alive client that asks again within
    it is served however long the connection has lived."""
    with socket.create_connection(("127.0.0.1", server), timeout=10) as connection:
        for _ in range(4):
            connection.sendall(b"GET /search?q=munitions HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert read_answer(connection).startswith(b"HTTP/1.1 200")
            time.sleep(0.6)  # under the deadline each time, over it in total
