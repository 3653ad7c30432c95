"""DOCX and ODT: paragraphs in reading order, runs joined, title and date from the file."""

import datetime as dt
import zipfile

import pytest

import nato_search
from nato_search.errors import CorpusError


def read(path):
    return list(nato_search.read_documents(path, strict=True))


def test_docx_written_by_python_docx(tmp_path):
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_paragraph("Rapport sur la défense européenne", style="Title")
    document.add_heading("Contexte", level=1)
    paragraph = document.add_paragraph("Les Alliés ")
    paragraph.add_run("renforcent").bold = True
    paragraph.add_run(" leur présence à l’est.")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Pologne"
    table.cell(0, 1).text = "Brigade blindée"
    document.add_paragraph("Un dernier mot.")
    document.core_properties.created = dt.datetime(2024, 6, 13, 9, 30)
    document.core_properties.title = "Titre des propriétés"
    document.save(tmp_path / "rapport.docx")
    [doc] = read(tmp_path / "rapport.docx")
    assert (doc.id, doc.title, doc.date) == (
        "rapport",
        "Rapport sur la défense européenne",
        dt.date(2024, 6, 13),
    )
    assert doc.paragraphs == [
        "Contexte",
        "Les Alliés renforcent leur présence à l’est.",
        "Pologne",
        "Brigade blindée",
        "Un dernier mot.",
    ]


W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def write_zip(path, parts):
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)


def test_docx_of_a_french_word_with_tracked_changes(tmp_path):
    """A French Word names its heading style ``Titre1``: styles.xml says it is ``heading 1``."""
    body = f"""<w:document {W}><w:body>
      <w:p><w:pPr><w:pStyle w:val="Titre1"/></w:pPr><w:r><w:t>Aide à l’Ukraine</w:t></w:r></w:p>
      <w:p><w:r><w:t xml:space="preserve">Les ministres </w:t></w:r>
        <w:del><w:r><w:delText>refusent</w:delText></w:r></w:del>
        <w:ins><w:r><w:t>approuvent</w:t></w:r></w:ins>
        <w:r><w:tab/><w:t>le plan.</w:t></w:r>
        <w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>PAGE</w:instrText></w:r></w:p>
    </w:body></w:document>"""
    styles = f"""<w:styles {W}><w:style w:styleId="Titre1"><w:name w:val="heading 1"/></w:style></w:styles>"""
    write_zip(tmp_path / "note.docx", {"word/document.xml": body, "word/styles.xml": styles})
    [doc] = read(tmp_path / "note.docx")
    assert (doc.title, doc.date, doc.paragraphs) == (
        "Aide à l’Ukraine",
        None,
        ["Les ministres approuvent le plan."],
    )


ODT_CONTENT = """<office:document-content
  xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
  xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
  xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
  xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0">
  <office:automatic-styles>
    <style:style style:name="P1" style:family="paragraph" style:parent-style-name="Title"/>
  </office:automatic-styles>
  <office:body><office:text>
    <text:p text:style-name="P1">Compte rendu du sommet</text:p>
    <text:h text:outline-level="1">Décisions</text:h>
    <text:p>Les <text:span>dirigeants</text:span> ont<text:s text:c="3"/>décidé<text:tab/>d’agir.<text:note><text:note-body><text:p>note_cachée</text:p></text:note-body></text:note></text:p>
    <text:list><text:list-item><text:p>Premier engagement.</text:p></text:list-item></text:list>
    <table:table><table:table-row><table:table-cell><text:p>Budget</text:p></table:table-cell>
      <table:table-cell><text:p>Deux pour cent</text:p></table:table-cell></table:table-row></table:table>
  </office:text></office:body>
</office:document-content>"""

ODT_META = """<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
  xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
  xmlns:dc="http://purl.org/dc/elements/1.1/"><office:meta>
  <meta:creation-date>2023-07-12T10:00:00</meta:creation-date><dc:title>Ignoré</dc:title>
</office:meta></office:document-meta>"""


def test_odt_paragraphs_lists_tables_and_its_title_style(tmp_path):
    write_zip(
        tmp_path / "sommet.odt",
        {
            "mimetype": "application/vnd.oasis.opendocument.text",
            "content.xml": ODT_CONTENT,
            "meta.xml": ODT_META,
        },
    )
    [doc] = read(tmp_path / "sommet.odt")
    assert (doc.title, doc.date) == ("Compte rendu du sommet", dt.date(2023, 7, 12))
    assert doc.paragraphs == [
        "Décisions",
        "Les dirigeants ont décidé d’agir.",
        "Premier engagement.",
        "Budget",
        "Deux pour cent",
    ]


def test_damaged_and_encrypted_office_files_are_named(tmp_path):
    (tmp_path / "vide.docx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(CorpusError, match=r"vide\.docx: not a DOCX file, damaged$"):
        read(tmp_path / "vide.docx")
    (tmp_path / "secret.docx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100))
    with pytest.raises(CorpusError, match=r"secret\.docx: not a DOCX file, damaged \(an encrypted"):
        read(tmp_path / "secret.docx")
    write_zip(tmp_path / "creux.odt", {"meta.xml": ODT_META})
    with pytest.raises(CorpusError, match=r"creux\.odt: damaged, it has no content\.xml"):
        read(tmp_path / "creux.odt")
    write_zip(tmp_path / "casse.odt", {"content.xml": "<office:document-content"})
    with pytest.raises(CorpusError, match=r"casse\.odt: damaged content\.xml"):
        read(tmp_path / "casse.odt")


def test_a_docx_named_txt_is_read_as_a_docx(tmp_path):
    body = f"<w:document {W}><w:body><w:p><w:r><w:t>Texte du fichier Word.</w:t></w:r></w:p></w:body></w:document>"
    write_zip(tmp_path / "mal-nommé.txt", {"word/document.xml": body})
    [doc] = read(tmp_path / "mal-nommé.txt")
    assert doc.paragraphs == ["Texte du fichier Word."]


def test_a_part_that_inflates_past_the_limit_is_not_read(tmp_path, monkeypatch):
    from nato_search.readers import office

    monkeypatch.setattr(office, "MAX_PART_BYTES", 1000)
    body = f"<w:document {W}><w:body><w:p><w:r><w:t>{'a' * 2000}</w:t></w:r></w:p></w:body></w:document>"
    write_zip(tmp_path / "gros.docx", {"word/document.xml": body})
    with pytest.raises(
        CorpusError,
        match=r"gros\.docx: word/document\.xml inflates to 2,\d{3} bytes, over 1,000; not read",
    ):
        read(tmp_path / "gros.docx")
