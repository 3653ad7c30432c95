"""What durable commits cost: the time builds, adds and deletes spend waiting in fsync.

    python benchmarks/durability.py                    # 10,000 OrangeSum paragraphs, 50 adds
    python benchmarks/durability.py --paragraphs 50000 --adds 100
    python benchmarks/durability.py --seeds            # the bundled seeds/ (tiny, no corpus)
    python benchmarks/durability.py --json out.json

Every commit syncs its new segment files, then its table of contents (before its rename),
then the folder (after it); a build also syncs its metadata files and, after the swap, the
parent folder. This script wraps ``os.fsync`` with a timer (the calls still run: nothing
is skipped) and reports, for a build with ``workers=1`` and for single-document adds and
deletes on the built index, the wall time, the number of fsync calls and the time spent
in them. The index lives in a temporary folder beside the repository (``--where``), on
the disk a user's index would be on: ``/tmp`` may be memory.

Corpus: OrangeSum (Orange Actu 2011-2020, CC BY-SA 4.0) at
``../shared/corpora/orangesum-paragraphs.jsonl.gz``, read as ``speed.py`` reads it; if it
is missing, the benchmark says so and exits 0 (``--seeds`` runs without it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from speed import DEFAULT_CORPUS, group_documents, read_paragraphs  # noqa: E402

import nato_search  # noqa: E402


class FsyncTimer:
    """Counts ``os.fsync`` calls and the seconds spent in them."""

    def __init__(self) -> None:
        self.calls = 0
        self.seconds = 0.0
        self._fsync = os.fsync
        os.fsync = self._timed

    def _timed(self, fd: int) -> None:
        started = time.perf_counter()
        try:
            self._fsync(fd)
        finally:
            self.seconds += time.perf_counter() - started
            self.calls += 1

    def take(self) -> tuple[int, float]:
        """Calls and seconds since the last take."""
        taken = self.calls, self.seconds
        self.calls, self.seconds = 0, 0.0
        return taken


def measure(documents: list, adds: int, where: Path) -> dict:
    timer = FsyncTimer()
    with tempfile.TemporaryDirectory(dir=where, prefix=".durability-") as folder:
        started = time.perf_counter()
        ix = nato_search.build_index(documents, Path(folder) / "ix", workers=1)
        build_s = time.perf_counter() - started
        build_calls, build_fsync_s = timer.take()
        rows = {"add": [], "delete": []}
        with ix:
            for n in range(adds):
                extra = nato_search.Document(
                    id=f"durability-{n}",
                    title="Ajout",
                    date=None,
                    paragraphs=[f"Un paragraphe ajouté, numéro {n}, sur la défense aérienne."],
                )
                for kind, change, argument in (
                    ("add", ix.add, [extra]),
                    ("delete", ix.delete, extra.id),
                ):
                    started = time.perf_counter()
                    change(argument)
                    total = time.perf_counter() - started
                    calls, fsync_s = timer.take()
                    rows[kind].append((total, calls, fsync_s))
    paragraphs = sum(len(d.paragraphs) for d in documents)
    report = {
        "paragraphs": paragraphs,
        "build": {
            "s": build_s,
            "fsync_calls": build_calls,
            "fsync_s": build_fsync_s,
            "share": build_fsync_s / build_s,
        },
    }
    for kind, values in rows.items():
        report[kind] = {
            "count": len(values),
            "p50_ms": 1000 * statistics.median(v[0] for v in values),
            "fsync_calls": statistics.median(v[1] for v in values),
            "fsync_p50_ms": 1000 * statistics.median(v[2] for v in values),
            "share": sum(v[2] for v in values) / sum(v[0] for v in values),
        }
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paragraphs", type=int, default=10_000)
    parser.add_argument("--adds", type=int, default=50, help="single-document adds, each deleted")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--seeds", action="store_true", help="the bundled seeds/ instead")
    parser.add_argument("--where", type=Path, default=REPO_ROOT, help="folder for the index")
    parser.add_argument("--json", metavar="FILE", help="the report as JSON into FILE")
    args = parser.parse_args(argv)
    if args.seeds:
        documents = list(nato_search.read_documents([REPO_ROOT / "seeds"]))
    elif not args.corpus.exists():
        print(f"skipped: no corpus at {args.corpus} (try --seeds)")
        return 0
    else:
        paragraphs = read_paragraphs(args.corpus, args.paragraphs)
        documents = group_documents(paragraphs, nato_search.Document)
    report = measure(documents, args.adds, args.where)
    build = report["build"]
    print(
        f"build {report['paragraphs']:,} paragraphs: {build['s']:.2f} s, "
        f"{build['fsync_calls']} fsyncs taking {build['fsync_s'] * 1000:.0f} ms "
        f"({100 * build['share']:.1f}%)"
    )
    for kind in ("add", "delete"):
        row = report[kind]
        print(
            f"{kind} one document ({row['count']} times): p50 {row['p50_ms']:.1f} ms, "
            f"of which fsync {row['fsync_p50_ms']:.1f} ms ({row['fsync_calls']:.0f} calls; "
            f"{100 * row['share']:.1f}% of all the time)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
