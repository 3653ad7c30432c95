"""Where the shards are: local folders or ``xapian-tcpsrv`` servers named in a cluster
file, opened for reading or writing with deadlines; which shard a document goes to."""

from __future__ import annotations

import hashlib
import os
import socket
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from nato_search.errors import ClusterConfigError, IndexLockedError, ShardError

try:
    import xapian
except ImportError:  # the optional extra is not installed
    xapian = None


CONNECT_TIMEOUT_MS = 5000


def require_xapian() -> None:
    if xapian is None:
        raise ImportError(
            "the Xapian backend needs the optional extra: pip install 'nato-search[xapian]' "
            "(and, to serve shards, Debian's xapian-tools: apt-get install xapian-tools)"
        )


def shard_of(doc_id: str, shards: int) -> int:
    """A stable shard number for a document id (the same on every machine and run)."""
    digest = hashlib.blake2b(doc_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


@dataclass(frozen=True)
class Shard:
    """A local folder, or ``host:port`` of a ``xapian-tcpsrv``."""

    location: str
    writable: bool = True

    @property
    def remote(self) -> tuple[str, int] | None:
        host, sep, port = self.location.rpartition(":")
        if sep and port.isdigit() and os.sep not in self.location:
            return host, int(port)
        return None

    def open(self) -> xapian.Database:
        try:
            if self.remote:
                host, port = self.remote
                return xapian.remote_open(host, port, CONNECT_TIMEOUT_MS, CONNECT_TIMEOUT_MS)
            return xapian.Database(self.location)
        except xapian.Error as exc:
            raise ShardError(f"shard {self.location} cannot be opened: {exc.get_msg()}") from None

    def open_writable(self, timeout: float) -> xapian.WritableDatabase:
        if not self.writable:
            raise ShardError(f"shard {self.location} is read-only in the cluster file")
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.remote:
                    host, port = self.remote
                    return xapian.remote_open_writable(
                        host, port, CONNECT_TIMEOUT_MS, CONNECT_TIMEOUT_MS
                    )
                return xapian.WritableDatabase(self.location, xapian.DB_CREATE_OR_OPEN)
            except xapian.DatabaseLockError:
                if time.monotonic() >= deadline:
                    raise IndexLockedError(
                        f"shard {self.location} is being written by another process; "
                        f"waited {timeout:g} s"
                    ) from None
                time.sleep(0.05)
            except xapian.Error as exc:
                raise ShardError(
                    f"shard {self.location} cannot be written: {exc.get_msg()}"
                ) from None


def read_cluster(path: str | os.PathLike[str]) -> list[Shard]:
    """Shards from a cluster file, checked before anything is written::

    [[shards]]
    address = "127.0.0.1:8101"
    writable = true
    """
    try:
        config = tomllib.loads(Path(path).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ClusterConfigError(f"cluster file {path}: {exc}") from None
    entries = config.get("shards")
    if not isinstance(entries, list) or not entries:
        raise ClusterConfigError(f"cluster file {path}: expected one or more [[shards]] tables")
    shards = []
    for entry in entries:
        address = entry.get("address") if isinstance(entry, dict) else None
        if not isinstance(address, str) or ":" not in address:
            raise ClusterConfigError(f'cluster file {path}: each shard needs address = "host:port"')
        host, _, port = address.rpartition(":")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ClusterConfigError(f"cluster file {path}: bad port in {address!r}")
        try:
            socket.getaddrinfo(host, int(port))
        except OSError:
            raise ClusterConfigError(f"cluster file {path}: unknown host in {address!r}") from None
        shards.append(Shard(address, bool(entry.get("writable", True))))
    seen = set()
    for shard in shards:
        if shard.remote in seen:
            raise ClusterConfigError(f"cluster file {path}: shard {shard.location} is listed twice")
        seen.add(shard.remote)
    return shards


def local_shards(folder: Path, count: int) -> list[Shard]:
    return [Shard(str(folder / f"shard-{i:03d}")) for i in range(count)]
