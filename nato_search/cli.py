"""``nato-search``: a thin command line over the Python API.

nato-search munitions                      search the bundled seeds
nato-search "défense aérienne" --limit 3   phrases, -exclusions, OR, date:2024
nato-search index docs/ --index my-index   build an index from files
nato-search --index my-index ukraine       search it
nato-search ukraine -russie                exclusions need no quotes
nato-search ukraine --filter source=AFP --sort -date --per-document 1 --facets year
nato-search serve --http 8000              the search page and JSON API (the web extra)

Whatever a document holds, nothing from it reaches the terminal raw: control
characters are shown escaped (see ``snippets.escape_controls``), and ``--json``
is valid UTF-8 (lone surrogates and other unsafe characters as ``\\uXXXX``).
OS errors (permissions, full disk, a vanished file) are one line naming the
path, exit code 1; a closed pipe (``| head``) ends the output quietly, exit 141.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from nato_search import __version__
from nato_search.errors import (
    CorpusError,
    CorpusWarning,
    IndexDamagedError,
    IndexLockedError,
    IndexNotFoundError,
    IndexVersionError,
    NothingToIndexError,
    OptionError,
    ShardError,
    VectorsUnavailableError,
)
from nato_search.index import Hit
from nato_search.indexing import (
    build_index,
    files_by_format,
    is_index,
    open_index,
    update_index,
)
from nato_search.query.filters import parse as parse_filter
from nato_search.query.filters import quote
from nato_search.readers.delimited import parse_columns
from nato_search.text.snippets import escape_controls, mark
from nato_search.vectors import WordVectors

COMMANDS = ("search", "index", "serve", "serve-shard")
VECTORS_HELP = (
    "let word vectors reorder the best hits by meaning (pip install 'nato-search[vectors]')"
)
_BOLD, _DIM, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"
# What json.dumps(ensure_ascii=False) leaves raw that a terminal acts on (DEL, C1, bidi
# controls, line separators) or that UTF-8 cannot encode (lone surrogates). They can only
# stand inside JSON strings, so writing them as \uXXXX keeps the JSON valid and lossless.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# The exit code of a program killed by SIGPIPE (128 + 13), as `yes | head` gives.
BROKEN_PIPE_EXIT = 141


def _search_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nato-search",
        description="Search French paragraphs. Without --index, searches the bundled seed articles.",
        epilog=(
            "Words starting with - exclude them and need no quotes (nato-search ukraine -russie); "
            "anything after -- is query. "
            "Other commands: nato-search index SOURCE... --index PATH; "
            "nato-search serve --http [HOST:]PORT [--index PATH]; "
            "nato-search serve-shard PATH --port N."
        ),
    )
    parser.add_argument(
        "query",
        nargs="*",
        help='words, "phrases", -excluded, OR, date:2024 (none, with --filter or --sort: '
        "every paragraph)",
    )
    parser.add_argument("--version", action="version", version=f"nato-search {__version__}")
    parser.add_argument("--limit", type=_positive, default=10, help="hits to show (default 10)")
    parser.add_argument("--index", metavar="PATH", help="index folder (default: the bundled seeds)")
    parser.add_argument("--offset", type=_whole, default=0, help="hits to skip (default 0)")
    parser.add_argument(
        "--filter",
        metavar="EXPR",
        action="append",
        default=[],
        type=_filter,
        help="a filter expression, such as 'source = AFP AND pages >= 10' "
        "(KEY=V1,V2 is KEY IN [V1, V2]); repeat for more (all of them)",
    )
    parser.add_argument(
        "--sort",
        metavar="FIELD",
        action="append",
        default=[],
        help="date, year, doc_id or a metadata key, -FIELD for descending (-date: newest "
        "first); repeat to break ties (default: relevance)",
    )
    parser.add_argument(
        "--recency",
        metavar="DAYS",
        type=_days,
        help="prefer recent paragraphs: relevance halves every DAYS days of age",
    )
    parser.add_argument(
        "--per-document", type=_positive, metavar="N", help="at most N hits per document"
    )
    parser.add_argument(
        "--facets",
        metavar="NAMES",
        type=lambda value: [name for name in value.split(",") if name],
        default=[],
        help="count matches by year, month, doc_id or metadata keys, e.g. year,source",
    )
    parser.add_argument(
        "--prefix", action="store_true", help="the last word may be unfinished (as you type)"
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="the results as one JSON object")
    output.add_argument("--jsonl", action="store_true", help="one JSON object per hit")
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
    parser.add_argument(
        "--vectors",
        action="store_true",
        help=VECTORS_HELP,
    )
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help=(
            "bold titles and marked matches: auto (default) colours a terminal unless NO_COLOR "
            "is set or TERM=dumb, and colours any output if FORCE_COLOR is set (NO_COLOR wins)"
        ),
    )
    return parser


def _split_query(parser: argparse.ArgumentParser, args: Sequence[str]) -> list[str]:
    """``args`` as options, then ``--`` and the query words, so that ``-russie`` is a word.

    Argparse would take an unquoted exclusion for an unknown option. Here a
    token starting with ``-`` is an option only if it is one of the parser's
    (or, for ``--long`` ones, an abbreviation argparse would accept: unknown
    ``--words`` are left for argparse to refuse); ``--`` ends the options.
    Options taking a value get it glued (``--index=-x``) so it may start with -.
    """
    # argparse has no public list of its options; _actions has been stable since 2.7.
    takes_value = {
        option: action.nargs != 0 for action in parser._actions for option in action.option_strings
    }
    options: list[str] = []
    words: list[str] = []
    tokens = iter(args)
    for token in tokens:
        if token == "--":
            words.extend(tokens)
            break
        if not token.startswith("--"):
            (options if token in takes_value else words).append(token)
            continue
        name, glued, _ = token.partition("=")
        known = [option for option in takes_value if option.startswith(name)]
        option = name if name in takes_value else known[0] if len(known) == 1 else None
        if option is not None and takes_value[option] and not glued:
            value = next(tokens, None)
            options.append(option if value is None else f"{option}={value}")
        else:
            options.append(token)
    return options + (["--", *words] if words else [])


def _index_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nato-search index",
        description="Build an index from files and folders of them: text, Markdown, HTML, PDF, "
        "DOCX, ODT, CSV/TSV, JSON and JSON Lines. A file that cannot be read is skipped "
        "with a warning naming it.",
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
    parser.add_argument(
        "--no-clean",
        dest="clean",
        action="store_false",
        help="take .txt pages as written: no scraped-page chrome filter "
        "(give it again when updating)",
    )
    parser.add_argument(
        "--csv-columns",
        type=_columns,
        default=None,
        metavar="FIELD=COLUMN,…",
        help="CSV/TSV columns holding the record fields, e.g. text=body,id=ref "
        "(give it again when updating)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="stop at the first file that cannot be read (default: skip it with a warning)",
    )
    return parser


def _columns(value: str) -> dict[str, str]:
    try:
        return parse_columns(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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


def _whole(value: str) -> int:
    try:
        return int(value) if int(value) >= 0 else _bad_whole(value)
    except ValueError:
        return _bad_whole(value)


def _bad_whole(value: str) -> int:
    raise argparse.ArgumentTypeError(f"expected a whole number, 0 or more, got {value!r}")


_VALUES = re.compile(r"([^\s=<>!()\[\],'\"]+)=([^\s=<>!()\[\],'\"]+(?:,[^\s=<>!()\[\],'\"]+)+)")
"""The older ``KEY=V1,V2`` form (any of the values), read as ``KEY IN [V1, V2]``."""


def _filter(value: str) -> str:
    """The expression, its syntax checked here (a usage error)."""
    if found := _VALUES.fullmatch(value):
        value = f"{quote(found[1])} IN [{', '.join(map(quote, found[2].split(',')))}]"
    try:
        parse_filter(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _http_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nato-search serve",
        description=(
            "Serve the search page and JSON API over HTTP with uvicorn "
            "(the optional extra: pip install 'nato-search[web]')."
        ),
    )
    parser.add_argument(
        "--http",
        metavar="[HOST:]PORT",
        type=_address,
        required=True,
        help="where to listen (default host 127.0.0.1)",
    )
    parser.add_argument("--index", metavar="PATH", help="index folder (default: the bundled seeds)")
    parser.add_argument("--workers", type=_positive, default=1, help="server processes (default 1)")
    parser.add_argument(
        "--vectors",
        action="store_true",
        help=VECTORS_HELP,
    )
    parser.add_argument(
        "--allowed-host",
        metavar="NAME",
        action="append",
        type=_host_pattern,
        default=[],
        help=(
            "a Host header to answer besides localhost, 127.0.0.1, [::1] and the address "
            "bound, such as search.example.org or *.example.org ('*': any); repeatable"
        ),
    )
    parser.add_argument(
        "--header-timeout",
        metavar="SECONDS",
        type=_seconds,
        default=10.0,
        help="close a connection that has not sent a request's headers in time (default 10)",
    )
    parser.add_argument(
        "--cors-origin",
        metavar="URL",
        action="append",
        default=[],
        help="an origin whose pages may call the API from a browser, such as "
        "https://app.example.org; repeatable (default: none)",
    )
    page = parser.add_argument_group("the search page")
    page.add_argument("--title", default="nato-search", help="its heading (default nato-search)")
    page.add_argument(
        "--facet",
        metavar="NAME",
        action="append",
        dest="facets",
        help="a list to filter by: year, month or a metadata key such as source; "
        "repeatable (default: year)",
    )
    shown = page.add_mutually_exclusive_group()
    shown.add_argument(
        "--per-document",
        metavar="N",
        type=_positive,
        default=1,
        help="hits a document shows at first, with a switch to show all (default 1)",
    )
    shown.add_argument(
        "--all-paragraphs",
        dest="per_document",
        action="store_const",
        const=None,
        help="show every matching paragraph at first",
    )
    page.add_argument(
        "--no-placeholder",
        dest="placeholder",
        action="store_false",
        help="show nothing before a query is typed (default: the newest documents)",
    )
    parser.add_argument(
        "--api-key-file",
        metavar="PATH",
        help="a file holding the API key (else $NATO_SEARCH_API_KEY): with it, requests "
        "need it (or the search key) as Authorization: Bearer KEY",
    )
    parser.add_argument(
        "--search-key-file",
        metavar="PATH",
        help="a file holding the search key (else $NATO_SEARCH_SEARCH_KEY), for front ends",
    )
    return parser


def _address(value: str) -> tuple[str, int]:
    """``PORT``, ``HOST:PORT`` or ``[IPv6]:PORT``."""
    host, colon, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]") if colon else "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536 or not host:
        raise argparse.ArgumentTypeError(f"expected [HOST:]PORT with a port 1-65535, got {value!r}")
    return host, int(port)


def _host_pattern(value: str) -> str:
    try:
        from nato_search.web.app import check_host_pattern
    except ImportError:  # no web extra: serving says so
        return value
    try:
        return check_host_pattern(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not 0 < number < 3600:
        raise argparse.ArgumentTypeError(f"expected seconds, above 0 and under 3600, got {value!r}")
    return number


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {value!r}")
    return number


def _days(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not 0 < number < math.inf:
        raise argparse.ArgumentTypeError(f"expected a number of days above 0, got {value!r}")
    return number


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors are one line on stderr and an exit code, never a traceback."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", CorpusWarning)
        warnings.showwarning = _warn  # a source skipped while reading: one line, like an error
        return _main(argv)


def _warn(message: Warning | str, *_: object, **__: object) -> None:
    text = str(message)
    if text.startswith("skipped "):
        _SKIPPED.append(text)
    print(f"nato-search: warning: {escape_controls(text)}", file=sys.stderr)


_SKIPPED: list[str] = []
"""The files this command skipped (one command a process, or one at a time in tests)."""


def _main(argv: Sequence[str] | None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args.pop(0) if args and args[0] in COMMANDS else "search"
    where: str | None = None  # the folder an OS error without a file name is about
    try:
        if command == "index":
            options = _index_parser().parse_args(args)
            where = options.index
            code = _index(options)
        elif command == "serve":
            options = _http_parser().parse_args(args)
            where = options.index
            code = _serve_http(options)
        elif command == "serve-shard":
            options = _serve_parser().parse_args(args)
            where = options.shard
            code = _serve(options)
        else:
            parser = _search_parser()
            options = parser.parse_args(_split_query(parser, args))
            where = options.index
            code = _search(options)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return code
    except BrokenPipeError:
        _silence_stdout()
        return BROKEN_PIPE_EXIT
    except (
        IndexNotFoundError,
        IndexVersionError,
        IndexDamagedError,
        IndexLockedError,
        CorpusError,
        FileExistsError,
        ValueError,
        ShardError,
        VectorsUnavailableError,
        ImportError,
    ) as exc:
        _error(str(exc))
        usage = isinstance(exc, ValueError) and not isinstance(exc, CorpusError)
        return 2 if usage or isinstance(exc, NothingToIndexError) else 1
    except OSError as exc:
        _error(_describe(exc, where))
        return 1
    except KeyboardInterrupt:
        return 130


def _error(message: str) -> None:
    print(f"nato-search: {escape_controls(message)}", file=sys.stderr)


def _describe(exc: OSError, where: str | None) -> str:
    """``PATH: reason``: the file the error names, else the folder the command works on."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    reason = reason[:1].lower() + reason[1:]
    if exc.filename is not None:
        path = os.fsdecode(exc.filename)
        if exc.filename2 is not None:
            path += f" -> {os.fsdecode(exc.filename2)}"
    else:
        path = where if where is not None else "the default index"
    return f"{path}: {reason}"


def _silence_stdout() -> None:
    """Point stdout at /dev/null after ``| head`` closed it (the recipe of Python's
    signal docs), so that flushing it again at exit raises nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # not a real file (say, captured by a test)
        pass


def _search(args: argparse.Namespace) -> int:
    expand = not args.exact
    filters = " AND ".join(f"({e})" if len(args.filter) > 1 else e for e in args.filter)
    vectors = WordVectors.from_package() if args.vectors else None
    if not " ".join(args.query).strip() and not (filters or args.sort or args.facets):
        raise OptionError(
            "query", "empty query: give words to search, or --filter, --sort or --facets to list"
        )
    with open_index(args.index, synonyms=args.synonyms, vectors=vectors) as ix:
        results = ix.search(
            " ".join(args.query),
            limit=args.limit,
            offset=args.offset,
            filter=filters or None,
            sort=args.sort or None,
            per_document=args.per_document,
            facets=args.facets,
            recency=args.recency,
            prefix=args.prefix,
            fuzzy=expand,
            synonyms=expand,
            names=expand,
        )
    if args.json:
        print(_json_line(results.to_dict()))
        return 0
    if args.jsonl:
        for hit in results:
            print(_json_line(hit.to_dict()))
        return 0
    colour = _use_colour(sys.stdout, args.color)
    if results.suggestion:
        print(f"Did you mean: {escape_controls(results.suggestion)}\n")
    if not results:
        print("no results")
    for rank, hit in enumerate(results, results.offset + 1):
        _print_hit(rank, hit, colour)
    for name, counts in results.facets.items():
        shown = ", ".join(f"{escape_controls(value)} ({count})" for value, count in counts.items())
        print(f"{escape_controls(name)}: {shown or 'none'}")
    return 0


def _json_line(value: object) -> str:
    """JSON that is valid UTF-8 and inert in a terminal, whatever the strings hold."""
    text = json.dumps(value, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _print_hit(rank: int, hit: Hit, colour: bool) -> None:
    """Four lines; every string from the document is escaped (the ansi snippet escapes its own)."""
    bold, dim, reset = (_BOLD, _DIM, _RESET) if colour else ("", "", "")
    date = escape_controls(hit.date.isoformat()) if hit.date else "undated"
    title = mark(hit.title, hit.title_highlights, "ansi" if colour else "text")
    title = title.replace(_RESET, _RESET + bold) if colour else escape_controls(title)
    doc_id = escape_controls(hit.doc_id)
    snippet = hit.snippet("ansi") if colour else escape_controls(hit.snippet("text"))
    print(f"{bold}{rank}. {title}{reset}")
    page = f" · page {hit.page}" if hit.page else ""
    print(
        f"   {dim}{date} · {doc_id} · paragraph {hit.paragraph}{page} · score {hit.score:.2f}{reset}"
    )
    print(f"   {snippet}")
    print()


def _use_colour(stream: TextIO, choice: str = "auto") -> bool:
    """``--color``; for auto, NO_COLOR (no-color.org) beats FORCE_COLOR (force-color.org),
    which beats whether ``stream`` is a terminal other than TERM=dumb."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return stream.isatty() and os.environ.get("TERM") != "dumb"


def _index(args: argparse.Namespace) -> int:
    show = _progress if sys.stderr.isatty() else None
    update = not args.rebuild and is_index(args.index)
    read = {"clean": args.clean, "columns": args.csv_columns, "strict": args.strict}
    _SKIPPED.clear()
    if update:
        counts = update_index(args.sources, args.index, progress=show, **read)
    else:
        build_index(
            args.sources,
            args.index,
            progress=show,
            backend=args.backend,
            shards=args.shards,
            **read,
        ).close()
    with open_index(args.index) as ix:
        count = len(ix)
    if show:
        print(file=sys.stderr)
    where = escape_controls(args.index)
    skipped = f"; skipped {_files(len(_SKIPPED))} (see the warnings)" if _SKIPPED else ""
    if update:
        print(
            f"updated {where}: {counts['changed']} files changed, {counts['unchanged']} "
            f"unchanged, {counts['removed']} removed; {count} paragraphs{skipped}"
        )
    else:
        formats = files_by_format(args.index)
        read_files = sum(formats.values())
        by_format = ", ".join(f"{n} {kind}" for kind, n in formats.items())
        source = f" from {_files(read_files)} ({by_format})" if read_files else ""
        print(f"indexed {count} paragraphs{source} into {where}{skipped}")
    return 0


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def _serve_http(args: argparse.Namespace) -> int:
    try:
        from nato_search.web.access import KEY_VARIABLES, check_key, check_origin
        from nato_search.web.app import page_options
        from nato_search.web.server import serve
    except ImportError:
        raise ImportError(
            "serving over HTTP needs the optional extra: pip install 'nato-search[web]'"
        ) from None
    if args.vectors:
        WordVectors.from_package()  # missing vectors fail here, not in each worker
    for kind, variable in zip(("api", "search"), KEY_VARIABLES, strict=True):
        chosen = getattr(args, f"{kind}_key_file")
        if chosen is not None:  # the workers read keys from the environment, not from argv
            os.environ[variable] = Path(chosen).read_text(encoding="utf-8").strip()
        check_key(variable, os.environ.get(variable) or None)
    for origin in args.cors_origin:
        check_origin(origin)  # a bad origin fails here, not in each worker
    facets = args.facets or ["year"]
    page = page_options(args.title, facets, args.per_document, args.placeholder)
    with open_index(args.index) as ix:  # a missing index fails here, the default one is built
        path = ix.path
        ix.search("", 1, facets=facets)  # and so does a facet no document has
    host, port = args.http
    serve(
        path,
        host,
        port,
        workers=args.workers,
        vectors=args.vectors,
        allowed_hosts=args.allowed_host,
        header_timeout=args.header_timeout,
        cors_origins=args.cors_origin,
        page=page,
    )
    return 0


def _serve(args: argparse.Namespace) -> int:
    server = shutil.which("xapian-tcpsrv")
    if server is None:
        print(
            "nato-search: xapian-tcpsrv not found; install Debian's xapian-tools", file=sys.stderr
        )
        return 1
    if not Path(args.shard, "iamglass").exists():
        _error(f"{args.shard} is not a Xapian shard folder")
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
