"""The PDF reader, on PDFs made here with fpdf2 (Helvetica: Latin-1, so French accents
but no œ or typographic apostrophe)."""

import datetime as dt
import warnings
from pathlib import Path

import pytest

pytest.importorskip("pypdfium2")
fpdf = pytest.importorskip("fpdf")

import nato_search  # noqa: E402
from nato_search.errors import CorpusError  # noqa: E402
from nato_search.readers.formats import ReadOptions  # noqa: E402
from nato_search.readers.pdf import _join, _pdf_date, _property_title, read_pdf  # noqa: E402

CREATED = dt.datetime(2023, 7, 12, 9, 30, tzinfo=dt.UTC)
HEADER = "Observatoire des alliances - Rapport annuel"
FOOTER = "Observatoire des alliances - page {page} sur {pages}"

# A page is a list of lines: "" is a vertical gap, "> " an indented first line,
# ("text", size) a line in bold at that size.
REPORT = [
    [
        "Les ministres ont rappelé que la démo-",
        "cratie repose sur des institutions solides et que le porte-",
        "avions restera déployé en Méditerranée jusqu'à la fin de l'été.",
        "",
        "Le second paragraphe décrit les exercices menés par les forces",
        "alliées au large des côtes, sous le commandement de l'état-major.",
        "> Un troisième paragraphe commence par un retrait de la première",
        "ligne et se poursuit sur la page suivante, où il décrit les",
    ],
    [
        "manoeuvres de la flotte et la coordination entre les alliés.",
        "",
        "Le dernier paragraphe conclut le rapport sans autre détail.",
    ],
]
REPORT_PARAGRAPHS = [
    "Les ministres ont rappelé que la démocratie repose sur des institutions solides et que le "
    "porte-avions restera déployé en Méditerranée jusqu'à la fin de l'été.",
    "Le second paragraphe décrit les exercices menés par les forces alliées au large des côtes, "
    "sous le commandement de l'état-major.",
    "Un troisième paragraphe commence par un retrait de la première ligne et se poursuit sur la "
    "page suivante, où il décrit les manoeuvres de la flotte et la coordination entre les alliés.",
    "Le dernier paragraphe conclut le rapport sans autre détail.",
]


def make_pdf(
    pages,
    *,
    title=None,
    created=CREATED,
    header=None,
    footer=None,
    user_password=None,
    owner_password=None,
):
    pdf = fpdf.FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    if title is not None:
        pdf.set_title(title)
    pdf.set_creation_date(created)
    for number, lines in enumerate(pages, start=1):
        pdf.add_page()
        pdf.set_font("Helvetica", size=9)
        if header:
            pdf.text(20, 12, header)
        if footer:
            pdf.text(20, 287, footer.format(page=number, pages=len(pages)))
        y = 30.0
        for line in lines:
            if line == "":
                y += 6
                continue
            if isinstance(line, tuple):
                text, size = line
                pdf.set_font("Helvetica", style="B", size=size)
                pdf.text(20, y, text)
                y += size * 0.6
                continue
            pdf.set_font("Helvetica", size=11)
            indent = 8 if line.startswith("> ") else 0
            pdf.text(20 + indent, y, line.removeprefix("> "))
            y += 6
    if user_password or owner_password:
        pdf.set_encryption(owner_password=owner_password or "proprio", user_password=user_password)
    return bytes(pdf.output())


def read(data, name="rapport.pdf"):
    (document,) = read_pdf(Path(name), data, Path(name).stem, ReadOptions())
    return document


@pytest.fixture(scope="module")
def report():
    return make_pdf(REPORT, title="Rapport annuel de l'Observatoire", header=HEADER, footer=FOOTER)


def test_paragraphs_pages_title_and_date(report):
    document = read(report)
    assert document.paragraphs == REPORT_PARAGRAPHS
    assert document.pages == [1, 1, 1, 2]
    assert document.title == "Rapport annuel de l'Observatoire"
    assert document.date == dt.date(2023, 7, 12)
    assert document.id == "rapport"


def test_headers_footers_and_page_numbers_left_out(report):
    text = " ".join(read(report).paragraphs)
    assert "Observatoire" not in text
    assert "sur 2" not in text and "page 1" not in text


@pytest.mark.parametrize("number", ["3", "- 3 -", "3/10", "Page 3", "page 3 sur 10"])
def test_bare_page_number_left_out(number):
    pages = [["Une seule page de texte, sans en-tête."]]
    data = make_pdf(pages, footer=number, header=number)
    assert read(data).paragraphs == ["Une seule page de texte, sans en-tête."]


def test_a_big_first_line_is_the_title_and_not_a_paragraph():
    pages = [[("Bilan de la coopération navale", 20), "", "Les marines ont mené trois exercices."]]
    document = read(make_pdf(pages))
    assert document.title == "Bilan de la coopération navale"
    assert document.paragraphs == ["Les marines ont mené trois exercices."]
    assert document.pages == [1]


def test_a_title_page_gives_the_title():
    pages = [[("Bilan de la coopération navale", 20)], ["Les marines ont mené trois exercices."]]
    document = read(make_pdf(pages))
    assert document.title == "Bilan de la coopération navale"
    assert (document.paragraphs, document.pages) == (["Les marines ont mené trois exercices."], [2])


def test_clean_false_keeps_headers_and_footers(report):
    (document,) = read_pdf(Path("r.pdf"), report, "r", ReadOptions(clean=False))
    assert document.paragraphs[0] == HEADER
    assert FOOTER.format(page=2, pages=2) in document.paragraphs


def test_a_placeholder_title_gives_way_to_the_opening_sentence():
    pages = [["Les marines ont mené trois exercices. Le bilan est positif."]]
    document = read(make_pdf(pages, title="Microsoft Word - note.docx"))
    assert document.title == "Les marines ont mené trois exercices"


def test_the_property_title_printed_under_a_one_page_header_is_not_repeated():
    pages = [["Bilan naval", "", "Les marines ont mené trois exercices."]]
    document = read(make_pdf(pages, title="Bilan naval", header="Lettre de la Défense"))
    assert document.title == "Bilan naval"
    # One page cannot show a header repeating: it stays, the title line does not.
    assert document.paragraphs == ["Lettre de la Défense", "Les marines ont mené trois exercices."]


def test_a_heading_stays_a_paragraph_under_a_property_title():
    pages = [[("Introduction", 16), "", "Les marines ont mené trois exercices."]]
    document = read(make_pdf(pages, title="Bilan naval"))
    assert document.title == "Bilan naval"
    assert document.paragraphs == ["Introduction", "Les marines ont mené trois exercices."]


@pytest.mark.parametrize(
    ("line", "after", "joined"),
    [
        ("la démo-", "cratie est", "la démocratie est"),
        ("le porte-", "avions", "le porte-avions"),
        ("le pré-", "sident", "le président"),
        ("Démo-", "cratie", "Démocratie"),
        ("Jean-", "Pierre", "Jean-Pierre"),
        ("en Île-", "de-France", "en Île-de-France"),
        ("vis-", "à-vis", "vis-à-vis"),
        ("celle-", "ci", "celle-ci"),
        ("la non-", "prolifération", "la non-prolifération"),
        ("de 1939-", "1945", "de 1939-1945"),
        ("un tiret -", "puis", "un tiret - puis"),
    ],
)
def test_hyphens_at_line_ends(line, after, joined):
    assert _join(line, after, frozenset()) == joined


def test_the_document_decides_a_hyphen_first():
    assert _join("la micro-", "informatique", frozenset({"micro-informatique"})) == (
        "la micro-informatique"
    )
    assert _join("le sous-", "crit", frozenset({"souscrit"})) == "le souscrit"


def test_property_dates_and_titles():
    assert _pdf_date("D:20230712093000+02'00'") == dt.date(2023, 7, 12)
    assert _pdf_date("D:2023") == dt.date(2023, 1, 1)
    assert _pdf_date("D:20231345") is None
    assert _pdf_date(None) is None
    assert _property_title("untitled") == ""
    assert _property_title("  Rapport  final ") == "Rapport final"


def test_an_encrypted_pdf_is_refused():
    data = make_pdf([["Texte secret."]], user_password="lecteur")
    with pytest.raises(CorpusError, match=r"^secret\.pdf: encrypted; decrypt it first"):
        read(data, "secret.pdf")


def test_a_pdf_locked_only_against_editing_is_read():
    data = make_pdf([["Texte protégé contre la modification."]], owner_password="proprio")
    assert read(data).paragraphs == ["Texte protégé contre la modification."]


def test_a_damaged_pdf_is_refused(report):
    with pytest.raises(CorpusError, match=r"^abime\.pdf: damaged"):
        read(report[: len(report) // 2], "abime.pdf")


def test_a_pdf_without_text_is_refused():
    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 80, 40)
    with pytest.raises(
        CorpusError, match=r"^scan\.pdf: no text: a scanned PDF\? run OCR first, e\.g\. ocrmypdf"
    ):
        read(bytes(pdf.output()), "scan.pdf")


def test_through_the_public_api(tmp_path, report):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "rapport.pdf").write_bytes(report)
    (folder / "abime.pdf").write_bytes(report[:300])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (document,) = nato_search.read_documents(folder)
        with nato_search.build_index([folder], tmp_path / "ix") as index:
            hits = list(index.search("démocratie"))
    assert document.pages == [1, 1, 1, 2]
    assert document.paragraphs == REPORT_PARAGRAPHS
    assert [hit.doc_id for hit in hits] == ["rapport"]
    assert (hits[0].paragraph, hits[0].text) == (0, REPORT_PARAGRAPHS[0])
    assert any("abime.pdf: damaged" in str(w.message) for w in caught)


def test_text_wrapped_by_fpdf_across_pages_with_its_own_header_and_footer():
    class Report(fpdf.FPDF):
        def header(self):
            self.set_font("Helvetica", size=9)
            self.cell(0, 5, "Note de synthèse", new_x="LMARGIN", new_y="NEXT")
            self.ln(10)

        def footer(self):
            self.set_y(-15)
            self.set_font("Helvetica", size=9)
            self.cell(0, 5, f"- {self.page_no()} -", align="C")

    sentence = "Les alliés renforcent la défense aérienne du flanc oriental de l'Alliance. "
    texts = [f"Point {n}. " + sentence * (4 + n) for n in range(1, 9)]
    pdf = Report(format="A4")
    pdf.set_creation_date(CREATED)
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for text in texts:
        pdf.multi_cell(0, 5.5, text.strip(), align="J", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
    document = read(bytes(pdf.output()))
    assert document.paragraphs == [t.strip() for t in texts]
    assert document.pages == [1, 1, 1, 1, 1, 1, 1, 2]  # point 7 goes on to page 2
    assert document.title == "Point 1"
