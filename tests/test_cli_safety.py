"""The CLI as a process: hostile documents, encodings, OS errors, pipes, -words, --version.

Real subprocesses wherever the behaviour is the process's (pipes, encodings, permissions).
"""

from __future__ import annotations

import ctypes
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SEEDS

import nato_search
from nato_search.cli import main

BOLD, DIM, RESET, RED = "\x1b[1m", "\x1b[2m", "\x1b[0m", "\x1b[1;31m"
# What must never reach a terminal raw from a document.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def cli(*args: str, home: Path, env: dict[str, str] | None = None, **kwargs):
    """``python -m nato_search ARGS`` with stdout a pipe; bytes out, so encodings are checked."""
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    kwargs.setdefault("stdout", subprocess.PIPE)
    return subprocess.run(
        [sys.executable, "-m", "nato_search", *args],
        stderr=subprocess.PIPE,
        env={**base, "NATO_SEARCH_HOME": str(home), "PYTHONIOENCODING": "utf-8", **(env or {})},
        timeout=120,
        **kwargs,
    )


# --- hostile documents reach the terminal escaped ----------------------------------------------

HOSTILE_TITLE = "Titre\x1b]0;pwn\x07 \x9b31m \x1b]8;;http://x\x1b\\lien\x1b]8;;\x1b\\ \u202efin"
HOSTILE_ID = "evil\x1b[2J\nid"
HOSTILE_TEXT = "La défense\x1b[2J aérienne\r\b tient \u202eOTAN\x7f\n fin."
TITLE_SHOWN = (
    "Titre\\x1b]0;pwn\\x07 \\x9b31m \\x1b]8;;http://x\\x1b\\lien\\x1b]8;;\\x1b\\ \\u202efin"
)
ID_SHOWN = "evil\\x1b[2J\\nid"
TEXT_SHOWN = "aérienne\\r\\x08 tient \\u202eOTAN\\x7f\\n fin."


@pytest.fixture
def hostile_index(tmp_path):
    """An index an application filled through the API, control characters and all."""
    document = nato_search.Document(
        id=HOSTILE_ID, title=HOSTILE_TITLE, date=dt.date(2024, 1, 2), paragraphs=[HOSTILE_TEXT]
    )
    nato_search.build_index([document], tmp_path / "ix").close()
    return tmp_path / "ix"


def hit_lines(stdout: bytes) -> list[str]:
    return stdout.decode("utf-8").split("\n")


def test_plain_output_shows_control_characters_escaped(hostile_index, tmp_path):
    done = cli("--index", str(hostile_index), "défense", home=tmp_path)
    lines = hit_lines(done.stdout)
    assert done.returncode == 0 and done.stderr == b""
    assert lines[0] == f"1. {TITLE_SHOWN}"
    assert re.fullmatch(
        rf"   2024-01-02 · {re.escape(ID_SHOWN)} · paragraph 0 · score \d+\.\d\d", lines[1]
    )
    assert lines[2] == f"   La [défense]\\x1b[2J {TEXT_SHOWN}"
    assert lines[3:] == ["", ""]  # the newline in the id did not add a line
    assert not RAW_CONTROL.search(done.stdout.decode("utf-8"))


@pytest.mark.parametrize(
    "options, env",
    [(["--color=always"], {}), (["--color", "always"], {}), ([], {"FORCE_COLOR": "1"})],
    ids=["--color=always", "--color always", "FORCE_COLOR"],
)
def test_coloured_output_holds_no_escape_sequence_but_its_own(
    hostile_index, tmp_path, options, env
):
    done = cli("--index", str(hostile_index), "défense", *options, home=tmp_path, env=env)
    lines = hit_lines(done.stdout)
    assert done.returncode == 0 and done.stderr == b""
    assert lines[0] == f"{BOLD}1. {TITLE_SHOWN}{RESET}"
    assert lines[1].startswith(f"   {DIM}2024-01-02 · {ID_SHOWN} · paragraph 0 · score ")
    assert lines[2] == f"   La {RED}défense{RESET}\\x1b[2J {TEXT_SHOWN}"
    ours = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout.decode("utf-8"))
    assert not RAW_CONTROL.search(ours)


def test_no_color_wins_and_color_never_turns_colour_off(hostile_index, tmp_path):
    for env, options in [({"NO_COLOR": "1", "FORCE_COLOR": "1"}, []), ({}, ["--color=never"])]:
        done = cli("--index", str(hostile_index), "défense", *options, home=tmp_path, env=env)
        assert hit_lines(done.stdout)[0] == f"1. {TITLE_SHOWN}", (env, options)
    assert "--color {auto,always,never}" in cli("--help", home=tmp_path).stdout.decode()


def test_output_with_a_suggestion_is_escaped(tmp_path):
    """Suggestions are index terms, which hold no control characters; the hits below do."""
    document = nato_search.Document(id="d", title="T", paragraphs=["La défense\x1b[2J tient."])
    nato_search.build_index([document], tmp_path / "ix").close()
    done = cli("--index", str(tmp_path / "ix"), "défonse", home=tmp_path)
    assert done.returncode == 0
    lines = hit_lines(done.stdout)
    assert lines[:3] == ["Did you mean: défense", "", "1. T"]
    assert lines[4] == "   La [défense]\\x1b[2J tient."


# --- lone surrogates: JSON stays valid UTF-8, plain text does not crash --------------------------


@pytest.fixture
def surrogate_index(tmp_path):
    """Indexed from JSONL whose JSON escapes hold a lone surrogate (a half emoji)."""
    record = {
        "id": "s1",
        "title": "Titre \ud83d\x1b[2J\x9b",
        "date": "2024-01-02",
        "text": "La défense \ud83d aérienne \u202etient\x7f.",
    }
    (tmp_path / "docs.jsonl").write_text(json.dumps(record) + "\n", "ascii")
    built = cli(
        "index", str(tmp_path / "docs.jsonl"), "--index", str(tmp_path / "ix"), home=tmp_path
    )
    assert built.returncode == 0, built.stderr
    return tmp_path / "ix", record


def test_json_output_is_valid_utf8_and_gives_back_every_string(surrogate_index, tmp_path):
    index, record = surrogate_index
    done = cli("--index", str(index), "défense", "--jsonl", home=tmp_path)
    assert done.returncode == 0 and done.stderr == b""
    line = done.stdout.decode("utf-8")  # strict: raises on a raw surrogate
    # A Document replaces lone surrogates with U+FFFD on the way in; controls stay, escaped.
    assert '"title": "Titre \ufffd\\u001b[2J\\u009b"' in line
    assert '"text": "La défense \ufffd aérienne \\u202etient\\u007f."' in line
    assert not RAW_CONTROL.search(line.rstrip("\n"))
    hit = json.loads(line)
    stored = {key: record[key].replace("\ud83d", "\ufffd") for key in ("title", "text")}
    assert hit["title"] == stored["title"] and hit["text"] == stored["text"]
    assert hit["snippet"] == "La [défense] \ufffd aérienne \u202etient\x7f."


def test_plain_output_with_a_lone_surrogate_does_not_crash(surrogate_index, tmp_path):
    index, _ = surrogate_index
    done = cli("--index", str(index), "défense", home=tmp_path)
    assert done.returncode == 0 and done.stderr == b""
    lines = hit_lines(done.stdout)
    assert lines[0] == "1. Titre \ufffd\\x1b[2J\\x9b"
    assert lines[2] == "   La [défense] \ufffd aérienne \\u202etient\\x7f."


# --- OS errors: one line naming the path, exit code 1 ------------------------------------------


def _drop_root_overrides() -> None:
    """In the child: lose CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so that even root
    meets file modes (PR_CAPBSET_DROP; the next exec recomputes root's capabilities)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.fixture
def unprivileged(tmp_path):
    """``cli`` keyword arguments under which file modes are enforced, or a skip."""
    kwargs = {"preexec_fn": _drop_root_overrides} if os.geteuid() == 0 else {}
    probe = tmp_path / "probe"
    probe.write_text("x")
    probe.chmod(0)
    try:
        done = subprocess.run(
            [sys.executable, "-c", f"open({str(probe)!r}).read()"], capture_output=True, **kwargs
        )
    except subprocess.SubprocessError:
        pytest.skip("cannot drop root's permission overrides here")
    if done.returncode == 0:
        pytest.skip("file modes are not enforced for this user")
    return kwargs


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Titre\n\nLa défense aérienne tient.\n", "utf-8")
    (folder / "b.txt").write_text("Titre\n\nLes batteries Patriot arrivent.\n", "utf-8")
    return folder


def test_an_unreadable_source_file_is_named(docs, tmp_path, unprivileged):
    (docs / "b.txt").chmod(0)
    index = str(tmp_path / "ix")
    done = cli("index", str(docs), "--index", index, "--strict", home=tmp_path, **unprivileged)
    assert (done.returncode, done.stdout) == (1, b"")
    assert (
        done.stderr.decode()
        == f"nato-search: {docs / 'b.txt'}: cannot read it (Permission denied)\n"
    )
    # Without --strict the others are indexed, and the file is named in a warning.
    done = cli("index", str(docs), "--index", index, home=tmp_path, **unprivileged)
    assert done.returncode == 0
    assert done.stdout.decode() == (
        f"indexed 1 paragraphs from 1 file (1 text) into {index}; skipped 1 file (see the warnings)\n"
    )
    assert done.stderr.decode() == (
        f"nato-search: warning: skipped {docs / 'b.txt'}: cannot read it (Permission denied)\n"
    )


def test_an_index_folder_that_cannot_be_written_is_named(docs, tmp_path, unprivileged):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    done = cli("index", str(docs), "--index", str(locked / "ix"), home=tmp_path, **unprivileged)
    assert (done.returncode, done.stdout) == (1, b"")
    # The index is built beside its place (a hidden folder), then renamed there.
    assert re.fullmatch(
        rf"nato-search: {re.escape(str(locked))}/\.?ix\S*: permission denied\n",
        done.stderr.decode(),
    )
    # Updating an index that has become read-only.
    cli("index", str(docs), "--index", str(tmp_path / "ix"), home=tmp_path, check=True)
    (tmp_path / "ix").chmod(0o555)
    done = cli("index", str(docs), "--index", str(tmp_path / "ix"), home=tmp_path, **unprivileged)
    assert done.returncode == 1
    assert re.fullmatch(
        rf"nato-search: {re.escape(str(tmp_path / 'ix'))}/\S+: permission denied\n",
        done.stderr.decode(),
    )


def test_a_cache_folder_that_cannot_be_written_is_named(tmp_path, unprivileged):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    done = cli("munitions", home=locked / "home", **unprivileged)
    assert (done.returncode, done.stdout) == (1, b"")
    assert done.stderr.decode() == f"nato-search: {locked / 'home'}: permission denied\n"


def test_a_file_deleted_while_indexing_is_named(docs, tmp_path, capsys, monkeypatch):
    """In process: the file goes away between listing the folder and reading it."""
    read_bytes = Path.read_bytes

    def vanish_then_read(path: Path) -> bytes:
        if path.name == "b.txt":
            path.unlink()
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", vanish_then_read)
    code = main(["index", str(docs), "--index", str(tmp_path / "ix")])
    out, err = capsys.readouterr()
    assert (code, out.endswith("; skipped 1 file (see the warnings)\n")) == (0, True)
    assert err == (
        f"nato-search: warning: skipped {docs / 'b.txt'}: cannot read it (No such file or directory)\n"
    )


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a tiny tmpfs (root only): ``mount(options)`` gives its folder."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    mounted: list[Path] = []

    def mount(options: str) -> Path:
        folder = tmp_path / f"mnt{len(mounted)}"
        folder.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True
        )
        if done.returncode:
            pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_is_named(tmpfs, tmp_path):
    full = tmpfs("size=16k")
    done = cli("index", str(SEEDS), "--index", str(full / "ix"), home=tmp_path)
    assert (done.returncode, done.stdout) == (1, b"")
    assert re.fullmatch(
        rf"nato-search: {re.escape(str(full))}/\S*ix\S*: no space left on device\n",
        done.stderr.decode(),
    )


def test_a_read_only_file_system_is_named(tmpfs, docs, tmp_path):
    read_only = tmpfs("ro,size=16k")
    done = cli("index", str(docs), "--index", str(read_only / "ix"), home=tmp_path)
    assert (done.returncode, done.stdout) == (1, b"")
    assert re.fullmatch(
        rf"nato-search: {re.escape(str(read_only))}/\S*ix\S*: read-only file system\n",
        done.stderr.decode(),
    )


# --- a closed pipe ends the output quietly --------------------------------------------------------


@pytest.fixture
def big_index(tmp_path):
    """Enough matching paragraphs that --json output is far larger than a pipe's buffer."""
    text = "La balise de la défense aérienne tient. " * 12
    documents = [
        nato_search.Document(id=f"d{n}", title=f"Titre {n}", paragraphs=[text]) for n in range(400)
    ]
    nato_search.build_index(documents, tmp_path / "ix").close()
    return tmp_path / "ix"


def test_piping_into_head_exits_quietly(big_index, tmp_path):
    script = (
        'set -o pipefail; "$0" -m nato_search --index "$1" balise --jsonl --limit 1000 | head -1'
    )
    done = subprocess.run(
        ["bash", "-c", script, sys.executable, str(big_index)],
        capture_output=True,
        env={**os.environ, "NATO_SEARCH_HOME": str(tmp_path)},
        timeout=120,
    )
    assert done.stderr == b""  # no traceback, no "Exception ignored"
    assert done.returncode == 141  # as for a tool killed by SIGPIPE, under pipefail
    assert len(done.stdout.splitlines()) == 1 and json.loads(done.stdout)["title"]


def test_a_pipe_closed_before_any_output_exits_141_quietly(big_index, tmp_path):
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = cli("--index", str(big_index), "balise", home=tmp_path, stdout=write_end)
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (141, b"")


# --- -words, --version -----------------------------------------------------------------------------


def hits(capsys, *argv: str) -> list[tuple[str, int]]:
    assert main(["--jsonl", *argv]) == 0
    return [
        (h["doc_id"], h["paragraph"])
        for h in map(json.loads, capsys.readouterr().out.split("\n")[:-1])
    ]


def test_an_unquoted_exclusion_is_part_of_the_query(capsys):
    quoted = hits(capsys, "ukraine -russie", "--limit", "50")
    assert quoted and len(quoted) < len(hits(capsys, "ukraine", "--limit", "50"))
    assert hits(capsys, "ukraine", "-russie", "--limit", "50") == quoted
    # Options anywhere, glued or not, abbreviated as argparse allows; -- ends them.
    assert hits(capsys, "--limit", "2", "ukraine", "-russie") == quoted[:2]
    assert hits(capsys, "ukraine", "--limit=2", "-russie") == quoted[:2]
    assert hits(capsys, "ukraine", "-russie", "--lim", "2") == quoted[:2]
    assert hits(capsys, "--limit", "2", "--", "-russie", "ukraine") == quoted[:2]


def test_unknown_long_options_are_still_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["ukraine", "--frobnicate"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --frobnicate" in capsys.readouterr().err


def test_version(tmp_path, capsys):
    done = cli("--version", home=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        f"nato-search {nato_search.__version__}\n".encode(),
        b"",
    )
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"nato-search {nato_search.__version__}\n"
