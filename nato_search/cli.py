"""``nato-search``: a thin command line over the Python API.

nato-search munitions                      search the bundled seeds
nato-search "défense aérienne" --limit 3   phrases, -exclusions, OR, date:2024
nato-search index docs/ --index my-index   build an index from files
nato-search --index my-index ukraine       search it
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .corpus import CorpusError
from .indexing import (
    IndexDamagedError,
    IndexNotFoundError,
    IndexVersionError,
    build_index,
    open_index,
    update_index,
)
from .schema import META_FILE
from .search import Hit, IndexLockedError
from .xapian_engine import ShardError

COMMANDS = ("search", "index", "serve-shard")
_BOLD, _DIM, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"


def _search_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nato-search",
        description="Search French paragraphs. Without --index, searches the bundled seed articles.",
        epilog="Other command: nato-search index SOURCE... --index PATH",
    )
    parser.add_argument("query", nargs="+", help='words, "phrases", -excluded, OR, date:2024')
    parser.add_argument("--limit", type=_positive, default=10, help="hits to show (default 10)")
    parser.add_argument("--index", metavar="PATH", help="index folder (default: the bundled seeds)")
    parser.add_argument("--json", action="store_true", help="one JSON object per hit")
    parser.add_argument(
        "--exact", action="store_true", help="no typo tolerance, synonyms or name variants"
    )
    parser.add_argument(
        "--synonyms",
        metavar="FILE",
        action="append",
        default=[],
        help="a file of your own synonym groups (repeatable)",
    )
    return parser


def _index_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nato-search index",
        description="Build an index from .txt/.md files, folders of them, or .jsonl files.",
    )
    parser.add_argument("sources", nargs="+", metavar="SOURCE")
    parser.add_argument("--index", metavar="PATH", required=True, help="index folder to write")
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="build from scratch (default: update an existing index with the files that changed)",
    )
    parser.add_argument(
        "--backend",
        choices=("whoosh", "xapian"),
        default="whoosh",
        help="whoosh (default): an index folder; xapian: Xapian shards (a folder or a cluster .toml)",
    )
    parser.add_argument(
        "--shards", type=_positive, default=1, help="local Xapian shards (default 1)"
    )
    return parser


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nato-search serve-shard",
        description="Serve one Xapian shard over TCP with xapian-tcpsrv (Debian's xapian-tools).",
    )
    parser.add_argument("shard", metavar="PATH", help="a shard folder, e.g. my-index/shard-000")
    parser.add_argument("--port", type=_positive, required=True)
    parser.add_argument(
        "--interface", default="127.0.0.1", help="address to listen on (default loopback)"
    )
    parser.add_argument(
        "--writable", action="store_true", help="accept writes (one writer at a time)"
    )
    return parser


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {value!r}")
    return number


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args.pop(0) if args and args[0] in COMMANDS else "search"
    try:
        if command == "index":
            return _index(_index_parser().parse_args(args))
        if command == "serve-shard":
            return _serve(_serve_parser().parse_args(args))
        return _search(_search_parser().parse_args(args))
    except (
        IndexNotFoundError,
        IndexVersionError,
        IndexDamagedError,
        IndexLockedError,
        CorpusError,
        FileExistsError,
        ValueError,
        ShardError,
        ImportError,
    ) as exc:
        print(f"nato-search: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) and not isinstance(exc, CorpusError) else 1
    except KeyboardInterrupt:
        return 130


def _search(args: argparse.Namespace) -> int:
    expand = not args.exact
    with open_index(args.index, synonyms=args.synonyms) as ix:
        results = ix.search(
            " ".join(args.query), limit=args.limit, fuzzy=expand, synonyms=expand, names=expand
        )
    if args.json:
        for hit in results:
            print(json.dumps(_hit_json(hit), ensure_ascii=False))
        return 0
    colour = _use_colour(sys.stdout)
    if results.suggestion:
        print(f"Did you mean: {results.suggestion}\n")
    if not results:
        print("no results")
    for rank, hit in enumerate(results, 1):
        _print_hit(rank, hit, colour)
    return 0


def _hit_json(hit: Hit) -> dict:
    return {
        "doc_id": hit.doc_id,
        "title": hit.title,
        "date": hit.date.isoformat() if hit.date else None,
        "paragraph": hit.paragraph,
        "score": round(hit.score, 4),
        "text": hit.text,
        "highlights": [list(span) for span in hit.highlights],
        "snippet": hit.snippet("text"),
    }


def _print_hit(rank: int, hit: Hit, colour: bool) -> None:
    bold, dim, reset = (_BOLD, _DIM, _RESET) if colour else ("", "", "")
    date = hit.date.isoformat() if hit.date else "undated"
    print(f"{bold}{rank}. {hit.title}{reset}")
    print(
        f"   {dim}{date} · {hit.doc_id} · paragraph {hit.paragraph} · score {hit.score:.2f}{reset}"
    )
    print(f"   {hit.snippet('ansi' if colour else 'text')}")
    print()


def _use_colour(stream: TextIO) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _index(args: argparse.Namespace) -> int:
    show = _progress if sys.stderr.isatty() else None
    update = not args.rebuild and (Path(args.index) / META_FILE).exists()
    if update:
        counts = update_index(args.sources, args.index, progress=show)
    else:
        build_index(
            args.sources, args.index, progress=show, backend=args.backend, shards=args.shards
        ).close()
    with open_index(args.index) as ix:
        count = len(ix)
    if show:
        print(file=sys.stderr)
    if update:
        print(
            f"updated {args.index}: {counts['changed']} files changed, {counts['unchanged']} "
            f"unchanged, {counts['removed']} removed; {count} paragraphs"
        )
    else:
        print(f"indexed {count} paragraphs into {args.index}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    server = shutil.which("xapian-tcpsrv")
    if server is None:
        print(
            "nato-search: xapian-tcpsrv not found; install Debian's xapian-tools", file=sys.stderr
        )
        return 1
    if not Path(args.shard, "iamglass").exists():
        print(f"nato-search: {args.shard} is not a Xapian shard folder", file=sys.stderr)
        return 1
    command = [server, "--interface", args.interface, "--port", str(args.port), args.shard]
    if args.writable:
        command.insert(-1, "--writable")
    # Become the server rather than wait for it: a service manager's SIGTERM (or a
    # terminal's SIGINT) then reaches xapian-tcpsrv itself, and no orphan keeps the port.
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(server, command)


def _progress(documents: int, paragraphs: int) -> None:
    print(f"\rindexing: {documents} documents, {paragraphs} paragraphs", end="", file=sys.stderr)
