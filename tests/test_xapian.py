"""The Xapian backend: local shards, live xapian-tcpsrv shards on loopback, bad clusters.

Skipped where the optional extra (xapian-bindings-binary) or Debian's
xapian-tools is missing; .ci/run installs both, so CI runs them.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
from conftest import SEEDS, doc, ids

import nato_search
from nato_search.cli import main
from nato_search.engines.xapian import cluster as xapian_cluster
from nato_search.engines.xapian import engine as xapian_engine
from nato_search.engines.xapian.cluster import shard_of
from nato_search.errors import ClusterConfigError, ShardError

xapian = pytest.importorskip("xapian")
TCPSRV = shutil.which("xapian-tcpsrv")
needs_server = pytest.mark.skipif(TCPSRV is None, reason="xapian-tools is not installed")

QUERIES = [
    "munitions",
    "defense aerienne",
    '"conseil otan ukraine"',
    "Qui a condamné les massacres de Boutcha ?",
    "Kuleba",
    "NATO",
    "munitons",
    "ukraine -russie date:2024",
    "patriot OR (stoltenberg -ukraine)",  # an exclusion inside a group beside OR
    "munitions OR (ukraine -russie)",
]


def where(results):
    return [(hit.doc_id[:3], hit.paragraph) for hit in results]


@pytest.fixture(scope="module")
def whoosh_seeds(tmp_path_factory):
    with nato_search.build_index(SEEDS, tmp_path_factory.mktemp("w") / "ix") as ix:
        yield ix


@pytest.mark.parametrize("shards", [1, 2, 4])
def test_local_shards_answer_like_the_whoosh_index(whoosh_seeds, tmp_path, shards):
    with nato_search.build_index(SEEDS, tmp_path / "ix", backend="xapian", shards=shards) as ix:
        assert len(ix) == len(whoosh_seeds)
        for query in QUERIES:
            expected, got = whoosh_seeds.search(query, limit=10), ix.search(query, limit=10)
            assert got.total == expected.total, query
            assert where(got) == where(expected), query
            assert got[0].highlights == expected[0].highlights, query
            assert got.suggestion == expected.suggestion, query
    with nato_search.open_index(tmp_path / "ix") as reopened:
        assert where(reopened.search("munitions")) == where(whoosh_seeds.search("munitions"))


def test_shards_of_an_older_layout_ask_to_be_rebuilt(tmp_path):
    """Shards written before the ``keys`` terms and value slots would filter and count
    nothing: their index says how to rebuild."""
    nato_search.build_index(SEEDS, tmp_path / "ix", backend="xapian", shards=2).close()
    meta_file = tmp_path / "ix" / "nato-search.json"
    meta = json.loads(meta_file.read_text("utf-8"))
    assert meta["layout"] == xapian_engine.LAYOUT
    del meta["layout"]
    meta_file.write_text(json.dumps(meta), "utf-8")
    with pytest.raises(nato_search.IndexVersionError, match=r"--index .*ix --rebuild"):
        nato_search.open_index(tmp_path / "ix")


def test_documents_go_to_one_shard_by_a_stable_hash():
    assert [shard_of(f"doc-{i}", 4) for i in range(8)] == [
        shard_of(f"doc-{i}", 4) for i in range(8)
    ]
    assert {shard_of(f"doc-{i}", 4) for i in range(100)} == {0, 1, 2, 3}
    assert shard_of("003_1bfd15bd7f542d98", 2) == shard_of("003_1bfd15bd7f542d98", 2)


def test_updates_and_deletes_reach_the_owning_shard(tmp_path):
    docs = [doc(f"d{i}", f"Paragraphe numéro {i} sur les obus.") for i in range(6)]
    with nato_search.build_index(docs, tmp_path / "ix", backend="xapian", shards=3) as ix:
        assert ix.search("obus").total == 6
        ix.update([doc("d4", "Désormais il parle de drones.")])
        assert ids(ix.search("drones")) == [("d4", 0)] and ix.search("obus").total == 5
        assert ix.delete(["d1", "d4", "nope"]) == 2 and len(ix) == 4
        with pytest.raises(ValueError, match="'d0'"):
            ix.add([doc("d0", "Doublon.")])


def test_missing_extra_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(xapian_cluster, "xapian", None)
    with pytest.raises(ImportError, match=r"nato-search\[xapian\]"):
        nato_search.build_index(SEEDS, tmp_path / "ix", backend="xapian")


# --- live shards ------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cluster(tmp_path):
    """Two empty writable shards served by xapian-tcpsrv on loopback, and their cluster file."""
    if TCPSRV is None:
        pytest.skip("xapian-tools is not installed")
    servers, lines = [], []
    for number in range(2):
        folder = tmp_path / f"shard-{number}"
        xapian.WritableDatabase(str(folder), xapian.DB_CREATE_OR_OPEN).close()
        port = free_port()
        servers.append(
            subprocess.Popen(
                [
                    TCPSRV,
                    "--interface",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--writable",
                    str(folder),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
        lines.append(f'[[shards]]\naddress = "127.0.0.1:{port}"\nwritable = true\n')
    config = tmp_path / "cluster.toml"
    config.write_text("\n".join(lines), "utf-8")
    for line in lines:
        wait_for(int(line.split(":")[1].split('"')[0]))
    yield config, servers
    for server in servers:
        stop(server)


def stop(server):
    """The server and the children it forked for each connection, as a crash would."""
    try:
        os.killpg(server.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    server.wait()


@needs_server
def test_live_shards_index_search_update_and_delete_as_one(cluster, whoosh_seeds):
    config, _ = cluster
    with nato_search.build_index(SEEDS, config, backend="xapian") as ix:
        assert len(ix) == len(whoosh_seeds)
        assert where(ix.search("munitions")) == where(whoosh_seeds.search("munitions"))
        ix.update([doc("004_8b2eba1b99747ab6", "Un seul paragraphe sur les frégates.")])
        assert ids(ix.search("frégates")) == [("004_8b2eba1b99747ab6", 0)]
        assert ix.delete(["004_8b2eba1b99747ab6"]) == 1
        assert ix.search("frégates").total == 0
    with nato_search.open_index(config) as again:
        assert where(again.search("Boutcha")) == [("001", 1)]


@needs_server
def test_a_shard_that_is_down_is_named_or_skipped_on_request(cluster):
    config, servers = cluster
    nato_search.build_index(SEEDS, config, backend="xapian").close()
    stop(servers[1])
    with pytest.raises(ShardError, match="127.0.0.1:"):
        with nato_search.open_index(config) as ix:
            ix.search("ukraine")
    with nato_search.open_index(config) as ix:
        results = ix.search("ukraine", allow_partial=True)
        assert results.partial and 0 < results.total < 19


@needs_server
def test_a_shard_that_stops_mid_session_is_named(cluster):
    config, servers = cluster
    down = read_cluster_addresses(config)[0]
    with nato_search.build_index(SEEDS, config, backend="xapian") as ix:
        assert ix.search("ukraine").total == 19
        assert not ix.search("ukraine", allow_partial=True).partial
        stop(servers[0])
        with pytest.raises(ShardError, match=f"shard {down} "):
            ix.search("otan")
        results = ix.search("otan", allow_partial=True)
        assert results.partial and 0 < results.total < 21


@needs_server
def test_a_partial_session_goes_on_without_a_shard_that_stops(cluster):
    config, servers = cluster
    down = read_cluster_addresses(config)[1]
    with nato_search.build_index(SEEDS, config, backend="xapian") as ix:
        assert ix.search("ukraine").total == 19
        before = ix.search("otan", allow_partial=True)
        assert not before.partial and before.total == 21
        stop(servers[1])
        after = ix.search("otan", allow_partial=True)
        assert after.partial and 0 < after.total < 21
        with pytest.raises(ShardError, match=f"shard {down} "):
            ix.search("otan")


def read_cluster_addresses(config):
    return [
        line.split('"')[1] for line in config.read_text("utf-8").splitlines() if "address" in line
    ]


def wait_for(port):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port}")


@needs_server
def test_serve_shard_serves_one_shard_of_a_local_index(tmp_path, capsys):
    with nato_search.build_index(SEEDS, tmp_path / "ix", backend="xapian", shards=2) as local:
        everything = len(local)
    assert main(["serve-shard", str(tmp_path), "--port", "8100"]) == 1
    assert "not a Xapian shard folder" in capsys.readouterr().err
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nato_search",
            "serve-shard",
            str(tmp_path / "ix" / "shard-000"),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(port)
        config = tmp_path / "one.toml"
        config.write_text(f'[[shards]]\naddress = "127.0.0.1:{port}"\nwritable = false\n', "utf-8")
        with nato_search.open_index(config) as ix:
            assert 0 < len(ix) < everything
            with pytest.raises(ShardError, match="read-only"):
                ix.add([doc("new", "Un texte.")])
    finally:
        stop(server)


@pytest.mark.parametrize(
    "text, message",
    [
        ('[[shards]]\naddress = "no-such-host.invalid:8100"\n', "unknown host"),
        ('[[shards]]\naddress = "127.0.0.1:99999"\n', "bad port"),
        (
            '[[shards]]\naddress = "127.0.0.1:8101"\n[[shards]]\naddress = "127.0.0.1:8101"\n',
            "twice",
        ),
        ("shards = 3\n", "one or more"),
        ("[[shards]\n", "cluster file"),
    ],
)
def test_a_bad_cluster_file_is_refused_before_any_write(tmp_path, text, message):
    config = tmp_path / "cluster.toml"
    config.write_text(text, "utf-8")
    with pytest.raises(ClusterConfigError, match=message):
        nato_search.build_index(SEEDS, config, backend="xapian")


def test_a_shard_nobody_serves_is_named_before_any_write(tmp_path):
    port = free_port()
    config = tmp_path / "cluster.toml"
    config.write_text(f'[[shards]]\naddress = "127.0.0.1:{port}"\n', "utf-8")
    with pytest.raises(ShardError, match=f"127.0.0.1:{port}"):
        nato_search.build_index(SEEDS, config, backend="xapian")


def test_nato_search_index_updates_local_shards_with_the_files_that_changed(tmp_path, capsys):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "one.txt").write_text(
        "Les batteries Patriot arrivent en Ukraine cette semaine.\n", "utf-8"
    )
    index = str(tmp_path / "ix")
    assert (
        main(["index", str(folder), "--index", index, "--backend", "xapian", "--shards", "2"]) == 0
    )
    (folder / "two.txt").write_text(
        "Des frégates patrouillent en mer Noire depuis lundi.\n", "utf-8"
    )
    assert main(["index", str(folder), "--index", index]) == 0
    assert "1 files changed, 1 unchanged, 0 removed; 2 paragraphs" in capsys.readouterr().out
    with nato_search.open_index(index) as ix:
        assert ids(ix.search("frégates")) == [("two", 0)] and len(ix) == 2
