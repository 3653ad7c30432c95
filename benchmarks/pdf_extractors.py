"""PDF text extractors compared: pypdfium2 and pdfminer.six, for the PDF reader's choice.

    python benchmarks/pdf_extractors.py            # 20 PDFs of 10 pages
    python benchmarks/pdf_extractors.py --pdfs 50 --pages 20

Generates PDFs with fpdf2 in a temporary folder (justified French paragraphs with a
header and a page-numbered footer), then times, per page: PDFium's plain text
(``get_text_range``), the placed lines the reader builds from PDFium's characters,
pdfminer's layout lines (``LTTextLine``), and the whole reader (``read_pdf``). Quality: each extractor's lines go through the
same paragraph rebuilding (``lines_document``) on the tests' two-page fixture
(hyphenation, a compound, header and footer, a gap, an indent, a page break), which is
read right or not.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "tests" / "readers"))

import pypdfium2 as pdfium  # noqa: E402
from fpdf import FPDF  # noqa: E402
from pdfminer.high_level import extract_pages  # noqa: E402
from pdfminer.layout import LTChar, LTTextContainer, LTTextLine  # noqa: E402
from test_pdf import FOOTER, HEADER, REPORT, REPORT_PARAGRAPHS, make_pdf  # noqa: E402

from nato_search.readers.formats import ReadOptions  # noqa: E402
from nato_search.readers.pdf import Line, _lines, lines_document, read_pdf  # noqa: E402

SENTENCE = (
    "Les ministres de la défense des pays alliés ont examiné la posture de dissuasion, "
    "le soutien à l'Ukraine et la coopération industrielle en matière d'armement. "
)

Pages = list[list[Line]]


def corpus_pdf(pages: int) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_margins(20, 20)
    pdf.set_auto_page_break(False)
    pdf.set_font("Helvetica", size=11)
    for number in range(pages):
        pdf.add_page()
        pdf.set_font("Helvetica", size=9)
        pdf.cell(0, 5, "Observatoire des alliances", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(8)
        pdf.set_font("Helvetica", size=11)
        for paragraph in range(4):
            text = f"Paragraphe {paragraph + 1} de la page {number + 1}. " + SENTENCE * 3
            pdf.multi_cell(0, 5.5, text, align="J", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
        pdf.set_y(-15)
        pdf.cell(0, 5, f"page {pdf.page_no()}", align="C")
    return bytes(pdf.output())


def pdfium_text(data: bytes) -> int:
    document = pdfium.PdfDocument(data)
    try:
        for page in document:
            textpage = page.get_textpage()
            textpage.get_text_range()
            textpage.close()
            page.close()
        return len(document)
    finally:
        document.close()


def pdfium_lines(data: bytes) -> Pages:
    document = pdfium.PdfDocument(data)
    pages: Pages = []
    try:
        for page in document:
            textpage = page.get_textpage()
            pages.append(_lines(textpage.raw))
            textpage.close()
            page.close()
    finally:
        document.close()
    return pages


def pdfminer_lines(data: bytes) -> Pages:
    import io

    pages: Pages = []
    for layout in extract_pages(io.BytesIO(data)):
        lines: list[Line] = []
        for box in layout:
            if isinstance(box, LTTextContainer):
                for line in box:
                    if isinstance(line, LTTextLine) and line.get_text().strip():
                        sizes = [c.size for c in line if isinstance(c, LTChar)]
                        text = line.get_text().strip()
                        lines.append(Line(text, line.x0, line.x1, line.y0, max(sizes)))
        pages.append(lines)
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pdfs", type=int, default=20)
    parser.add_argument("--pages", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for number in range(args.pdfs):
            path = Path(folder) / f"{number}.pdf"
            path.write_bytes(corpus_pdf(args.pages))
            paths.append(path)
        pdfs = [p.read_bytes() for p in paths]
    pages = sum(pdfium_text(data) for data in pdfs)
    fixture = make_pdf(REPORT, title="Rapport", header=HEADER, footer=FOOTER)
    extractors: dict[str, Callable[[bytes], object]] = {
        "pypdfium2 text": pdfium_text,
        "pypdfium2 lines": pdfium_lines,
        "pdfminer lines": pdfminer_lines,
        "read_pdf (all)": lambda data: read_pdf(Path("x.pdf"), data, "x", ReadOptions()),
    }
    print(f"{len(pdfs)} PDFs, {pages} pages")
    print(f"{'extractor':<18}{'pages/s':>10}  fixture read right")
    for name, extract in extractors.items():
        start = time.perf_counter()
        for data in pdfs:
            extract(data)
        rate = pages / (time.perf_counter() - start)
        if name.endswith("lines"):
            lines = extract(fixture)
            assert isinstance(lines, list)
            document = lines_document(lines, {}, "fixture")
            right = document.paragraphs == REPORT_PARAGRAPHS and document.pages == [1, 1, 1, 2]
            quality = "yes" if right else f"no: {document.paragraphs}"
        else:
            quality = "(text only)" if name.endswith("text") else "(the reader: lines, paragraphs)"
        print(f"{name:<18}{rate:>10.0f}  {quality}")


if __name__ == "__main__":
    main()
