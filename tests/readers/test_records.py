"""Records: CSV/TSV rows and JSON arrays, one document each, with errors naming file and line."""

import datetime as dt
import json

import pytest

import nato_search
from nato_search.cli import main
from nato_search.errors import CorpusError


def read(path, **options):
    return list(nato_search.read_documents(path, strict=True, **options))


CSV = (
    "id;title;date;text;rubrique\r\n"
    "a1;Sommet de Vilnius;2023-07-12;L’Alliance promet une aide à l’Ukraine.;défense\r\n"
    'a2;Réunion à Bruxelles;;"Les ministres se réunissent.\r\n\r\nIls parlent de munitions.";\r\n'
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_csv_rows_in_each_encoding_french_exports_use(tmp_path, encoding):
    path = tmp_path / "articles.csv"
    path.write_bytes(CSV.encode(encoding))
    a1, a2 = read(path)
    assert (a1.id, a1.title, a1.date, a1.paragraphs, a1.metadata) == (
        "a1",
        "Sommet de Vilnius",
        dt.date(2023, 7, 12),
        ["L’Alliance promet une aide à l’Ukraine."],
        {"rubrique": "défense"},
    )
    assert (a2.id, a2.date, a2.metadata) == ("a2", None, {})
    assert a2.paragraphs == ["Les ministres se réunissent.", "Ils parlent de munitions."]


def test_tsv_mapped_columns_and_rows_without_an_id(tmp_path):
    path = tmp_path / "notes.tsv"
    path.write_text("ref\tcorps\tauteur\nN-7\tLa paix se prépare.\tMarie\n", "utf-8")
    [doc] = read(path, columns={"id": "ref", "text": "corps"})
    assert (doc.id, doc.title, doc.paragraphs, doc.metadata) == (
        "N-7",
        "La paix se prépare",
        ["La paix se prépare."],
        {"auteur": "Marie"},
    )
    path.write_text("corps\nPremière ligne.\n\nSeconde ligne.\n", "utf-8")
    assert [d.id for d in read(path, columns={"text": "corps"})] == ["notes:1", "notes:2"]


def test_csv_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,body\n1,texte\n", "utf-8")
    with pytest.raises(
        CorpusError, match=r"bad\.csv:1: no 'text' or 'paragraphs' column .*id, body"
    ):
        read(path)
    with pytest.raises(CorpusError, match=r"bad\.csv:1: no column 'corps'"):
        read(path, columns={"text": "corps"})
    path.write_text("id,text\n1,un\n2,deux,trois\n", "utf-8")
    with pytest.raises(CorpusError, match=r"bad\.csv:3: 3 cells for 2 columns"):
        read(path)
    path.write_text("id,text,text\n1,a,b\n", "utf-8")
    with pytest.raises(CorpusError, match=r"bad\.csv:1: two columns are named 'text'"):
        read(path)
    path.write_text('id,text,date\n1,a,"hier"\n', "utf-8")
    with pytest.raises(CorpusError, match=r"bad\.csv:2: date 'hier' is not an ISO date"):
        read(path)
    with pytest.raises(ValueError, match="'corps' is not a record field"):
        read(path, columns={"corps": "text"})


def test_cli_csv_columns(tmp_path, capsys):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.csv").write_text(
        "ref,corps\nN1,Les frégates appareillent.\n", "utf-8"
    )
    index = str(tmp_path / "ix")
    args = ["index", str(tmp_path / "docs"), "--index", index, "--csv-columns", "id=ref,text=corps"]
    assert main(args) == 0
    assert capsys.readouterr().out == f"indexed 1 paragraphs from 1 file (1 csv) into {index}\n"
    with nato_search.open_index(index) as ix:
        assert [h.doc_id for h in ix.search("frégates")] == ["N1"]
    with pytest.raises(SystemExit) as exited:
        main([*args[:-1], "corps"])
    assert exited.value.code == 2
    assert "expected FIELD=COLUMN, got 'corps'" in capsys.readouterr().err


def test_json_arrays_name_the_line_where_a_bad_record_starts(tmp_path):
    path = tmp_path / "docs.json"
    records = [
        {"id": "a", "title": "A", "text": "Premier texte.", "url": "https://example.org/a"},
        {"id": 2, "paragraphs": ["Deux.", "Trois."]},
    ]
    path.write_text(json.dumps(records, indent=2, ensure_ascii=False), "utf-8")
    a, b = read(path)
    assert (a.id, a.metadata, b.id, b.paragraphs) == (
        "a",
        {"url": "https://example.org/a"},
        "2",
        ["Deux.", "Trois."],
    )
    path.write_text('[\n  {"id": "a", "text": "x"},\n  {"id": null, "text": "y"}\n]\n', "utf-8")
    with pytest.raises(CorpusError, match=r"docs\.json:3: 'id' must be a string or a whole number"):
        read(path)
    path.write_text('[\n  {"id": "a", "text": "x"}\n  {"id": "b"}\n]', "utf-8")
    with pytest.raises(CorpusError, match=r"docs\.json:3: expected ',' or ']'"):
        read(path)
    path.write_text('[{"id": "a", "text": "x"}', "utf-8")
    with pytest.raises(CorpusError, match=r"docs\.json:1: the array is not closed"):
        read(path)
    path.write_text("[3]", "utf-8")
    with pytest.raises(
        CorpusError, match=r"docs\.json:1: expected an object with an 'id', not a number"
    ):
        read(path)
    path.write_text('{"id": "seul", "text": "Un objet seul."}', "utf-8")
    assert [d.id for d in read(path)] == ["seul"]


def test_a_byte_order_mark_before_text_that_is_not_utf8_is_an_error(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"\xef\xbb\xbfid;text\r\n1;D\xe9fense\r\n")  # cp1252 é after a UTF-8 BOM
    with pytest.raises(
        CorpusError,
        match=r"mixed\.csv: starts with a UTF-8 byte-order mark but is not UTF-8 "
        r"\(byte 0xe9 at offset 15\)",
    ):
        read(path)
