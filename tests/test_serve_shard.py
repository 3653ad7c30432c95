"""``nato-search serve-shard`` stops, with its xapian-tcpsrv, when a service manager says so."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
from conftest import SEEDS

import nato_search

pytest.importorskip("xapian")
pytestmark = pytest.mark.skipif(
    shutil.which("xapian-tcpsrv") is None, reason="xapian-tcpsrv (Debian's xapian-tools) missing"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def can_bind(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT does not count
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def session_members(sid: int) -> list[int]:
    """Processes still in the session started for the command (it and anything it forked)."""
    members = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.getsid(int(name)) == sid:
                    members.append(int(name))
            except ProcessLookupError:
                pass
    return members


def wait_until(condition, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_serve_shard_stops_the_server_and_frees_the_port(tmp_path, signum):
    nato_search.build_index(SEEDS, tmp_path / "ix", backend="xapian").close()
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "nato_search",
        "serve-shard",
        str(tmp_path / "ix" / "shard-000"),
    ]
    server = subprocess.Popen(
        [*command, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert wait_until(lambda: accepts(port), 15), f"nothing listens on port {port}"
        server.send_signal(signum)  # to the process we started only, as systemd's stop does
        # xapian-tcpsrv catches SIGTERM and exits 0; SIGINT kills it.
        assert server.wait(timeout=30) == (0 if signum == signal.SIGTERM else -signum)
        assert wait_until(lambda: not session_members(server.pid)), session_members(server.pid)
        assert not accepts(port) and can_bind(port)
    finally:
        try:
            os.killpg(server.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        server.wait()
