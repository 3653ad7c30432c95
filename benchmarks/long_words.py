"""Hostile queries on the seeds: how long one search takes, with typo tolerance on and off.

    python benchmarks/long_words.py              # median of 3 runs per cell
    python benchmarks/long_words.py --runs 5

Queries: one word of 18,000 letters, ``"l'a" * 2000`` (one token that the
analyzer splits into thousands of pieces), a 1 MB query of ordinary words, and
64 distinct typos. Each is timed as a whole ``Index.search()`` (parsing,
expansion, the did-you-mean suggestion, the search and the hits) on the index of
the bundled seeds (built in a temporary folder), after one warm-up search.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nato_search  # noqa: E402


def queries() -> dict[str, str]:
    words = "munitions défense aérienne Ukraine OTAN Stoltenberg sommet alliés ".split()
    one_mb = " ".join(words[i % len(words)] for i in range(140_000))[:1_000_000]
    typos = " ".join(f"munitons{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(64))
    return {
        "word of 18,000 letters": "a" * 18_000,
        '"l\'a" * 2000': "l'a" * 2000,
        "1 MB of words": one_mb,
        "64 distinct typos": typos,
    }


def timed(ix: nato_search.Index, query: str, fuzzy: bool, runs: int) -> float:
    """Median seconds of ``runs`` searches."""
    ix.search(query, fuzzy=fuzzy)  # warm-up: the searcher, caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        ix.search(query, fuzzy=fuzzy)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per cell (median reported)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with nato_search.build_index(ROOT / "seeds", Path(tmp) / "ix") as ix:
            print(f"{'query':<26} {'chars':>9} {'fuzzy ms':>10} {'exact ms':>10}")
            for name, query in queries().items():
                fuzzy = timed(ix, query, True, args.runs) * 1000
                exact = timed(ix, query, False, args.runs) * 1000
                print(f"{name:<26} {len(query):>9,} {fuzzy:>10.1f} {exact:>10.1f}")


if __name__ == "__main__":
    main()
