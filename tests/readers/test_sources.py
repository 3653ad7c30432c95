"""What a folder of mixed documents gives: every readable file, a warning for each other,
an error for nothing at all, and pages carried through to the hits."""

import datetime as dt
import json
import shutil
import warnings
import zipfile

import pytest
from backends import built

import nato_search
from nato_search.cli import main
from nato_search.errors import CorpusError, CorpusWarning, NothingToIndexError

# The mixed folder holds a .rst file on purpose; only the first test looks at its warning.
pytestmark = pytest.mark.filterwarnings(r"ignore:.*lisez-moi\.rst")

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def docx(path, text):
    body = f"<w:document {W}><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", body)


@pytest.fixture
def mixed(tmp_path):
    folder = tmp_path / "docs"
    (folder / "wiki").mkdir(parents=True)
    (folder / "depeche.txt").write_text(
        "Alerte Otan\n\nPublié le 12 juillet 2023\n\nLes frégates appareillent de Brest.\n",
        "utf-8",
    )
    (folder / "wiki" / "note.md").write_text("# Note\n\nLes **corvettes** patrouillent.\n", "utf-8")
    (folder / "lignes.csv").write_text("id,text\nc1,Les sous-marins plongent.\n", "utf-8")
    (folder / "liste.json").write_text(json.dumps([{"id": "j1", "text": "Les drones volent."}]))
    docx(folder / "rapport.docx", "Les chars avancent.")
    (folder / "lisez-moi.rst").write_text("Les croiseurs ne sont pas lus.\n", "utf-8")
    (folder / ".brouillon.txt").write_text("Les porte-avions sont cachés.\n", "utf-8")
    (folder / "~$rapport.docx").write_bytes(b"lock")
    return folder


def test_a_mixed_folder_reads_every_format_and_names_what_it_skips(mixed, tmp_path, capsys):
    index = str(tmp_path / "ix")
    assert main(["index", str(mixed), "--index", index]) == 0
    out, err = capsys.readouterr()
    assert (
        out
        == f"indexed 5 paragraphs from 5 files (1 csv, 1 docx, 1 json, 1 markdown, 1 text) into {index}\n"
    )
    assert err == (
        f"nato-search: warning: {mixed / 'lisez-moi.rst'}: skipped, no reader for '.rst' files "
        "(read: .csv, .docx, .htm, .html, .json, .jsonl, .markdown, .md, .ndjson, .odt, .pdf, "
        ".text, .tsv, .txt, .xhtml)\n"
    )
    with nato_search.open_index(index) as ix:
        found = {
            word: [h.doc_id for h in ix.search(word, fuzzy=False)]
            for word in (
                "frégates",
                "corvettes",
                "sous-marins",
                "drones",
                "chars",
                "croiseurs",
                "porte-avions",
            )
        }
        [depeche] = [ix.document("depeche")]
    assert found == {
        "frégates": ["depeche"],
        "corvettes": ["wiki/note"],
        "sous-marins": ["c1"],
        "drones": ["j1"],
        "chars": ["rapport"],
        "croiseurs": [],
        "porte-avions": [],
    }
    # A two-word heading above its dateline is the title, the dateline the date.
    assert (depeche.title, depeche.date) == ("Alerte Otan", dt.date(2023, 7, 12))


def test_a_damaged_file_does_not_stop_the_others(mixed, tmp_path):
    (mixed / "casse.docx").write_bytes(b"PK\x03\x04 broken")
    with pytest.warns(CorpusWarning, match=r"^skipped .*casse\.docx: not a DOCX file, damaged$"):
        with nato_search.build_index(mixed, tmp_path / "ix") as ix:
            assert ix.documents == 5
    with pytest.raises(CorpusError, match=r"casse\.docx: not a DOCX file"):
        nato_search.build_index(mixed, tmp_path / "ix2", strict=True)
    assert not (tmp_path / "ix2").exists()


def test_nothing_to_index_is_an_error_naming_the_folder(tmp_path, capsys):
    empty = tmp_path / "vide"
    empty.mkdir()
    with pytest.raises(NothingToIndexError, match=f"^nothing to index in {empty}: no paragraph"):
        nato_search.build_index(empty, tmp_path / "ix")
    assert not (tmp_path / "ix").exists()
    (empty / "image.png").write_bytes(b"\x89PNG")
    (empty / "casse.pdf").write_bytes(b"%PDF-1.7 truncated")
    assert main(["index", str(empty), "--index", str(tmp_path / "ix")]) == 2
    err = capsys.readouterr().err
    assert "image.png: skipped, no reader for '.png' files" in err
    assert "warning: skipped " in err and "casse.pdf" in err
    assert err.endswith(
        f"nato-search: nothing to index in {empty}: no paragraph of text in a "
        "format nato-search reads (.csv, .docx, .htm, .html, .json, .jsonl, "
        ".markdown, .md, .ndjson, .odt, .pdf, .text, .tsv, .txt, .xhtml); any "
        "file skipped is named in a warning\n"
    )
    assert not (tmp_path / "ix").exists()
    with pytest.raises(NothingToIndexError, match="nothing to index in the sources given"):
        nato_search.build_index([nato_search.Document("a", "A", paragraphs=[])], tmp_path / "ix")


def test_updates_read_every_format_and_keep_a_file_that_became_unreadable(mixed, tmp_path):
    path = tmp_path / "ix"
    nato_search.build_index(mixed, path).close()
    docx(mixed / "rapport.docx", "Les obusiers tirent.")
    (mixed / "lignes.csv").unlink()
    (mixed / "wiki" / "nouvelle.md").write_text("# Nouvelle\n\nLes radars veillent.\n", "utf-8")
    (mixed / "liste.json").write_text("[{", "utf-8")  # damaged: what was indexed of it stays
    with pytest.warns(CorpusWarning, match=r"liste\.json"):
        counts = nato_search.update_index(mixed, path)
    assert counts == {"changed": 2, "unchanged": 2, "removed": 1, "skipped": 1}
    with nato_search.open_index(path) as ix:
        words = ("obusiers", "chars", "sous-marins", "radars", "drones")
        assert {w: ix.search(w, fuzzy=False).total for w in words} == {
            "obusiers": 1,
            "chars": 0,
            "sous-marins": 0,
            "radars": 1,
            "drones": 1,
        }
    (mixed / "liste.json").write_text(json.dumps([{"id": "j1", "text": "Les ballons montent."}]))
    (mixed / "lisez-moi.rst").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nato_search.update_index(mixed, path)["changed"] == 1
    with nato_search.open_index(path) as ix:
        assert (ix.search("drones", fuzzy=False).total, ix.search("ballons").total) == (0, 1)


@pytest.mark.parametrize("backend", ["whoosh", "xapian"])
def test_pages_come_back_with_hits_and_documents(tmp_path, backend):
    paged = nato_search.Document(
        "rapport",
        "Rapport",
        paragraphs=["Les frégates.", "Les corvettes.", "Les frégates encore."],
        pages=[1, 1, 3],
    )
    plain = nato_search.Document("note", "Note", paragraphs=["Les frégates aussi."])
    with built([paged, plain], tmp_path / "ix", backend) as ix:
        pages = {(h.doc_id, h.paragraph): h.page for h in ix.search("frégates")}
        assert pages == {("rapport", 0): 1, ("rapport", 2): 3, ("note", 0): None}
        assert ix.search("corvettes")[0].to_dict()["page"] == 1
        assert ix.document("rapport").pages == [1, 1, 3]
        assert ix.document("note").pages is None


def test_pages_must_match_the_paragraphs():
    with pytest.raises(ValueError, match="2 pages for 1 paragraphs"):
        nato_search.Document("a", "A", paragraphs=["x"], pages=[1, 2])
    with pytest.raises(ValueError, match="page 0 is not a page number"):
        nato_search.Document("a", "A", paragraphs=["x"], pages=[0])


def test_a_missing_extra_is_named(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "trafilatura", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "nato_search.readers.html", raising=False)
    (tmp_path / "page.html").write_text("<html><body><p>Texte.</p></body></html>", "utf-8")
    with pytest.raises(
        CorpusError,
        match=r"page\.html: reading HTML files needs the optional "
        r"extra: pip install 'nato-search\[formats\]'",
    ):
        list(nato_search.read_documents(tmp_path / "page.html", strict=True))
    shutil.rmtree(tmp_path)


def test_two_files_giving_one_id_are_named(tmp_path):
    (tmp_path / "rapport.txt").write_text("Un titre assez long\n\nLes frégates.\n", "utf-8")
    (tmp_path / "rapport.md").write_text("# Rapport\n\nLes corvettes.\n", "utf-8")
    with pytest.raises(
        CorpusError, match=r"rapport\.txt: document id 'rapport' is already held by .*rapport\.md"
    ):
        nato_search.build_index(tmp_path, tmp_path.parent / "ix")
    assert not (tmp_path.parent / "ix").exists()


def test_the_http_app_gives_pages(tmp_path):
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from nato_search.web import create_app

    paged = nato_search.Document(
        "rapport", "Rapport", paragraphs=["Les frégates.", "Les corvettes."], pages=[1, 2]
    )
    with (
        nato_search.build_index([paged], tmp_path / "ix") as ix,
        TestClient(create_app(ix)) as client,
    ):
        [hit] = client.get("/search", params={"q": "corvettes"}).json()["hits"]
        assert (hit["paragraph"], hit["page"]) == (1, 2)
        assert client.get("/documents/rapport").json()["pages"] == [1, 2]
        page = client.get("/documents/rapport", headers={"accept": "text/html"}).text
        assert '<p id="p-1" data-page="2" title="page 2">' in page
