"""The default index: the bundled seed articles, built once in the user's cache and named by
a hash of the seeds and the analysis, so that a change to either builds a new one."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from nato_search.folders import (
    is_ours,
)


def seeds_path() -> Path:
    """The bundled seed articles: packaged in the wheel, or the checkout's ``seeds/``."""
    packaged = resources.files("nato_search").joinpath("seeds")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "seeds"


def home() -> Path:
    """Where nato-search keeps its own files: ``$NATO_SEARCH_HOME``, else the user cache."""
    if os.environ.get("NATO_SEARCH_HOME"):
        return Path(os.environ["NATO_SEARCH_HOME"])
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "nato-search"


def default_index_path(record: Mapping[str, Any]) -> Path:
    """Named by a hash of the seeds and the index's format ``record`` (its analysis), so a
    change to either means a new build."""
    digest = hashlib.sha256(json.dumps(record).encode())
    for seed in sorted(seeds_path().glob("*.txt")):
        digest.update(seed.name.encode() + b"\0" + seed.read_bytes())
    return home() / f"seeds-{digest.hexdigest()[:16]}"


_DEFAULT_NAME = re.compile(r"seeds-[0-9a-f]{16}")


def remove_older_defaults(path: Path) -> None:
    """Removes the default indexes earlier versions built beside ``path``: only folders
    with the default index's name that nato-search marked as its own."""
    for stale in path.parent.glob("seeds-*"):
        if stale != path and _DEFAULT_NAME.fullmatch(stale.name) and is_ours(stale):
            shutil.rmtree(stale, ignore_errors=True)
