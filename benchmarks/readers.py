"""Reader throughput per format: how fast ``read_documents`` turns files into documents.

    PYTHONPATH=. python benchmarks/readers.py [--files 300] [--repeat 3] [--json out.json]
    PYTHONPATH=. python benchmarks/readers.py --files 3 --repeat 1 --corpus seeds

Why: building an index starts with reading the sources, and a slow reader (HTML through
trafilatura, PDF through pdfium) can cost more than indexing. This measures every format
on the same articles, in one process, so the formats compare with each other.

Input: ``--files`` articles (default 300) of French news, from OrangeSum (Orange Actu
articles 2011–2020, CC BY-SA 4.0; ``../shared/corpora/orangesum-paragraphs.jsonl.gz``
beside the repo, one paragraph a line, grouped by ``doc`` into articles), or, when that
file is absent or ``--corpus seeds``, the repo's ``seeds/*.txt`` (read with
``read_documents``, repeated to make up the number). Each article is written as a
``.txt``, ``.md`` (front matter, heading, list, code fence), ``.html`` (a news page with
its nav, aside, footer, cookie banner and scripts), ``.pdf`` (fpdf2, a page header and
a numbered footer), ``.docx`` (python-docx: title, heading, a small table) and ``.odt``
(odfpy: a paragraph in the Title style); all articles together are one ``.csv``, one
``.jsonl`` and one ``.json`` array.

Output: per format, the files, megabytes, documents and paragraphs read (a reader that
silently reads nothing shows as 0), and files/s, documents/s, paragraphs/s and MB/s of
the best of ``--repeat`` reads. A format whose reader cannot be imported (not written
yet, or its library missing), or whose files cannot be written here, is a row "not
available", and the others go on.

Note: python-docx's default template carries a 350 KB ``word/styles.xml`` (a file saved by
Word usually carries far less), and parsing it is most of the time a ``.docx`` takes to read.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import html
import importlib
import io
import json
import math
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from nato_search import read_documents
from nato_search.errors import CorpusError
from nato_search.readers.formats import format_named

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpora" / "orangesum-paragraphs.jsonl.gz"
SEEDS = REPO_ROOT / "seeds"
ORANGESUM = "OrangeSum (Orange Actu articles 2011–2020, CC BY-SA 4.0)"
PIP_NAMES = {"fpdf": "fpdf2", "docx": "python-docx", "odf": "odfpy"}


@dataclass
class Article:
    id: str
    title: str
    date: dt.date | None
    paragraphs: list[str]


# --- articles ------------------------------------------------------------------------


def orangesum_articles(path: Path, count: int) -> list[Article]:
    """The first ``count`` articles: consecutive paragraphs of one ``doc``."""
    articles: list[Article] = []
    previous = None
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if row["doc"] != previous:
                if len(articles) == count:
                    break
                previous = row["doc"]
                date = dt.date.fromisoformat(row["date"]) if row.get("date") else None
                title = " ".join(row["title"].split())  # a few end with a newline
                articles.append(Article(f"a{len(articles):04d}", title, date, []))
            if text := row["text"].strip():
                articles[-1].paragraphs.append(text)
    return articles


def seed_articles(count: int) -> list[Article]:
    seeds = list(read_documents(SEEDS))
    picked = (seeds[i % len(seeds)] for i in range(count))
    return [Article(f"a{i:04d}", d.title, d.date, list(d.paragraphs)) for i, d in enumerate(picked)]


# --- files ---------------------------------------------------------------------------


def iso(article: Article) -> str:
    return article.date.isoformat() if article.date else ""


def french_date(article: Article) -> str:
    months = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
    d = article.date
    return f"{d.day} {months.split()[d.month - 1]} {d.year}" if d else ""


def write_txt(a: Article) -> bytes:
    return "\n\n".join([a.title, *a.paragraphs]).encode() + b"\n"


def write_md(a: Article) -> bytes:
    front = f'---\ntitle: "{a.title}"\ndate: {iso(a)}\nsource: Orange Actu\n---\n'
    items = f"- Source : Orange Actu\n- Publié le {french_date(a) or 'inconnu'}\n"
    code = f"```yaml\nid: {a.id}\nlicence: CC BY-SA 4.0\n```\n"
    return "\n".join(
        [front, f"# {a.title}\n", *(p + "\n" for p in a.paragraphs), items, code]
    ).encode()


def write_html(a: Article) -> bytes:
    e = html.escape
    body = "\n".join(f"      <p>{e(p)}</p>" for p in a.paragraphs)
    nav = "".join(
        f'<li><a href="/{s.lower()}">{s}</a></li>'
        for s in ("Actualités", "Sport", "Météo", "Horoscope")
    )
    return f"""<!DOCTYPE html>
<html lang="fr">
<head>
  <meta charset="utf-8"><title>{e(a.title)} - Orange Actu</title>
  <script>window.dataLayer = window.dataLayer || []; dataLayer.push({{"page": "{a.id}"}});</script>
</head>
<body>
  <div id="cookie-banner">Nous utilisons des cookies pour améliorer votre expérience. <button>Tout accepter</button></div>
  <header><a class="logo" href="/">Orange Actu</a><nav><ul>{nav}</ul></nav></header>
  <main>
    <article>
      <h1>{e(a.title)}</h1>
      <p class="byline">Publié le <time datetime="{iso(a)}">{french_date(a)}</time></p>
{body}
    </article>
    <aside><h2>Lire aussi</h2><ul><li><a href="/a1">Les prix de l'immobilier repartent à la hausse</a></li><li><a href="/a2">Météo : un week-end ensoleillé</a></li></ul></aside>
  </main>
  <footer><p>Mentions légales · Contact · Gérer les cookies</p><p>© Orange Actu. Tous droits réservés.</p></footer>
  <script>document.querySelector("#cookie-banner button").onclick = function () {{ this.parentNode.remove(); }};</script>
</body>
</html>
""".encode()


def write_pdf(a: Article) -> bytes:
    from fpdf import FPDF

    class Page(FPDF):
        def header(self) -> None:
            self.set_font("Helvetica", "I", 8)
            self.cell(0, 8, "Orange Actu - Actualités", align="R")
            self.ln(12)

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("Helvetica", "I", 8)
            self.cell(0, 10, f"Page {self.page_no()}/{{nb}}", align="C")

    def latin(text: str) -> str:  # the core fonts' Windows-1252, the rest as "?"
        return text.encode("cp1252", "replace").decode("cp1252")

    pdf = Page()
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_creation_date(dt.datetime.combine(a.date or dt.date(2020, 1, 1), dt.time()))
    pdf.set_title(latin(a.title))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 8, latin(a.title))
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 11)
    for paragraph in a.paragraphs:
        pdf.multi_cell(0, 5.5, latin(paragraph))
        pdf.ln(3)
    return bytes(pdf.output())


def write_docx(a: Article) -> bytes:
    import docx

    doc = docx.Document()
    doc.core_properties.title = a.title
    if a.date:
        doc.core_properties.created = dt.datetime.combine(a.date, dt.time())
    doc.add_heading(a.title, level=0)
    doc.add_heading("L'essentiel", level=1)
    for paragraph in a.paragraphs:
        doc.add_paragraph(paragraph)
    table = doc.add_table(rows=2, cols=2)
    for row, (key, value) in zip(
        table.rows, [("Source", "Orange Actu"), ("Date", iso(a))], strict=True
    ):
        row.cells[0].text, row.cells[1].text = key, value
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def write_odt(a: Article) -> bytes:
    from odf import dc, meta
    from odf.opendocument import OpenDocumentText
    from odf.style import Style, TextProperties
    from odf.text import P

    doc = OpenDocumentText()
    title = Style(name="Title", family="paragraph")
    title.addElement(TextProperties(fontsize="20pt", fontweight="bold"))
    doc.styles.addElement(title)
    doc.meta.addElement(dc.Title(text=a.title))
    if a.date:
        doc.meta.addElement(meta.CreationDate(text=f"{iso(a)}T00:00:00"))
    doc.text.addElement(P(stylename=title, text=a.title))
    for paragraph in a.paragraphs:
        doc.text.addElement(P(text=paragraph))
    out = io.BytesIO()
    doc.write(out)
    return out.getvalue()


def records(articles: list[Article]) -> Iterator[dict[str, str]]:
    for a in articles:
        yield {"id": a.id, "title": a.title, "date": iso(a), "text": "\n\n".join(a.paragraphs)}


def write_csv(articles: list[Article]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, ["id", "title", "date", "text"])
    writer.writeheader()
    writer.writerows(records(articles))
    return out.getvalue().encode()


def write_jsonl(articles: list[Article]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records(articles)).encode()


def write_json(articles: list[Article]) -> bytes:
    return json.dumps(list(records(articles)), ensure_ascii=False, indent=1).encode()


PER_FILE: dict[str, tuple[str, Callable[[Article], bytes]]] = {
    "text": (".txt", write_txt),
    "markdown": (".md", write_md),
    "html": (".html", write_html),
    "pdf": (".pdf", write_pdf),
    "docx": (".docx", write_docx),
    "odt": (".odt", write_odt),
}
ONE_FILE: dict[str, tuple[str, Callable[[list[Article]], bytes]]] = {
    "csv": (".csv", write_csv),
    "jsonl": (".jsonl", write_jsonl),
    "json": (".json", write_json),
}
FORMATS = [*PER_FILE, *ONE_FILE]


def write_format(name: str, articles: list[Article], folder: Path) -> None:
    folder.mkdir(parents=True)
    if name in PER_FILE:
        suffix, write = PER_FILE[name]
        for article in articles:
            (folder / f"{article.id}{suffix}").write_bytes(write(article))
    else:
        suffix, write_all = ONE_FILE[name]
        (folder / f"articles{suffix}").write_bytes(write_all(articles))


# --- measure -------------------------------------------------------------------------


@dataclass
class Row:
    format: str
    status: str = "ok"
    """``ok``, or why the format was not measured (``not available: ...``, ``failed: ...``)."""
    files: int = 0
    bytes: int = 0
    documents: int = 0
    paragraphs: int = 0
    seconds: float = math.nan
    """The best of the reads."""

    def rates(self) -> dict[str, float]:
        per_s = (lambda n: n / self.seconds) if self.seconds > 0 else (lambda n: math.nan)
        return {
            "files_per_s": per_s(self.files),
            "documents_per_s": per_s(self.documents),
            "paragraphs_per_s": per_s(self.paragraphs),
            "mb_per_s": per_s(self.bytes / 1e6),
        }


def reader_missing(name: str) -> str | None:
    """Why the format's reader cannot be imported, None when it can (imported here, so that
    a reader's first import, trafilatura's for HTML, is not timed)."""
    try:
        importlib.import_module(format_named(name).module)
    except ImportError as exc:
        return f"not available: no reader ({exc.name or exc})"
    return None


def measure(name: str, articles: list[Article], folder: Path, repeat: int) -> Row:
    row = Row(name)
    if missing := reader_missing(name):
        row.status = missing
        return row
    try:
        write_format(name, articles, folder)
    except ImportError as exc:
        library = PIP_NAMES.get((exc.name or "").split(".")[0], exc.name)
        row.status = f"not available: cannot write the files ({library} missing)"
        return row
    files = sorted(folder.iterdir())
    row.files, row.bytes = len(files), sum(f.stat().st_size for f in files)
    best = math.inf
    for _ in range(max(repeat, 1)):
        start = time.perf_counter()
        try:
            documents = list(read_documents(folder, strict=True))
        except CorpusError as exc:
            row.status = f"failed: {exc}"
            return row
        best = min(best, time.perf_counter() - start)
    row.seconds = best
    row.documents = len(documents)
    row.paragraphs = sum(len(d.paragraphs) for d in documents)
    return row


def table(rows: list[Row]) -> str:
    lines = [
        "| format | files | MB | documents | paragraphs | files/s | documents/s | paragraphs/s | MB/s |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in rows:
        if row.status != "ok":
            lines.append(f"| {row.format} | {row.status} |  |  |  |  |  |  |  |")
            continue
        r = row.rates()
        lines.append(
            f"| {row.format} | {row.files} | {row.bytes / 1e6:.2f} | {row.documents} | "
            f"{row.paragraphs} | {r['files_per_s']:,.0f} | {r['documents_per_s']:,.0f} | "
            f"{r['paragraphs_per_s']:,.0f} | {r['mb_per_s']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=300, help="articles, so files per format")
    parser.add_argument("--repeat", type=int, default=3, help="reads per format; the best counts")
    parser.add_argument(
        "--corpus", default=str(DEFAULT_CORPUS), help="OrangeSum paragraphs, or 'seeds'"
    )
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    names = [n for n in args.formats.split(",") if n]
    if unknown := sorted(set(names) - set(FORMATS)):
        parser.error(f"unknown formats {unknown} (known: {', '.join(FORMATS)})")
    corpus = Path(args.corpus)
    if args.corpus != "seeds" and corpus.is_file():
        articles, source = orangesum_articles(corpus, args.files), ORANGESUM
    else:
        articles, source = seed_articles(args.files), f"the repo's seeds ({SEEDS.name}/*.txt)"
    paragraphs = sum(len(a.paragraphs) for a in articles)
    print(
        f"{len(articles)} articles, {paragraphs} paragraphs, from {source}; best of {args.repeat}"
    )
    with tempfile.TemporaryDirectory(prefix="readers-bench-") as tmp:
        rows = [measure(name, articles, Path(tmp) / name, args.repeat) for name in names]
    print(table(rows))
    if args.json:
        results = {
            "source": source,
            "articles": len(articles),
            "paragraphs": paragraphs,
            "repeat": args.repeat,
            "rows": [asdict(row) | row.rates() for row in rows],
        }
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return rows


if __name__ == "__main__":
    main()
