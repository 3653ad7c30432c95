"""The same tests on every backend: the Whoosh index, local Xapian shards, and Xapian shards
served by xapian-tcpsrv (skipped where the extra or the server is missing)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import nato_search

BACKENDS = ["whoosh", "xapian", "served"]
"""``xapian``: two local shards; ``served``: the same, each served by its own xapian-tcpsrv."""


@contextmanager
def built(
    documents, folder: Path, backend: str, settings: nato_search.RankingSettings | None = None
) -> Iterator[nato_search.Index]:
    """An index of ``documents`` on ``backend``, open for the block (its servers too)."""
    options = {} if settings is None else {"settings": settings}
    if backend == "whoosh":
        with nato_search.build_index(documents, folder, **options) as ix:
            yield ix
        return
    pytest.importorskip("xapian")
    if backend == "xapian":
        with nato_search.build_index(
            documents, folder, backend="xapian", shards=2, **options
        ) as ix:
            yield ix
        return
    server = shutil.which("xapian-tcpsrv")
    if server is None:
        pytest.skip("xapian-tcpsrv (Debian's xapian-tools) is not installed")
    nato_search.build_index(documents, folder, backend="xapian", shards=2).close()
    servers, lines = [], []
    try:
        for shard in sorted(folder.glob("shard-*")):
            port = free_port()
            command = [server, "--interface", "127.0.0.1", "--port", str(port), "--writable"]
            servers.append(
                subprocess.Popen(
                    [*command, str(shard)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
            wait_for(port)
            lines.append(f'[[shards]]\naddress = "127.0.0.1:{port}"\n')
        config = folder.with_name(folder.name + ".toml")
        config.write_text("\n".join(lines), "utf-8")
        with nato_search.open_index(config, **options) as ix:
            yield ix
    finally:
        for process in servers:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port}")
