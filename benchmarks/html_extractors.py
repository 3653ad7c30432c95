"""HTML main-text extractors compared on the hand-written news pages of the tests.

    PYTHONPATH=. python benchmarks/html_extractors.py [--pages 300]

Quality, per page: *recall* is the share of the article's paragraphs found (each known
by a few words of it), *leak* the share of the page's boilerplate lines (menu, footer,
cookie banner, "Lire aussi", comments, sidebar, scripts) found in the output, and
*precision* the share of output paragraphs that are article paragraphs (the headline
counts for neither). Speed: pages/s over ``--pages`` variants of the fixtures (each
paragraph numbered), decoding included.

Extractors: ``nato-search`` (the reader: trafilatura plus its own pruning and filters),
``trafilatura-fast`` (``bare_extraction(fast=True)``, no fallback extractors),
``selectolax`` (the ``<p>``, ``<li>``, ``<h2>``–``<h4>`` and ``<tr>`` text of the first
``<article>``, else ``<main>``, else ``<body>``), and ``readability-lxml`` and
``jusText`` when installed. A missing one is left out.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from nato_search.readers.formats import ReadOptions
from nato_search.readers.html import _paragraphs, decoded, read_html
from nato_search.readers.text import clean_line

DATA = Path(__file__).resolve().parent.parent / "tests" / "readers" / "data" / "html"

GOLD: dict[str, tuple[str, list[str], list[str]]] = {
    # page: (headline, a few words of each article paragraph, boilerplate lines)
    "sommet-otan": (
        "Sommet de l'OTAN : les Alliés promettent",
        ["Réunis mercredi à La Haye", "Le communiqué final", "Pour le secrétaire général",
         "Une facture qui inquiète", "Dans les délégations", "Le soutien à Kiev",
         "Le prochain sommet doit"],
        ["Nous utilisons des cookies", "Météo", "Vendanges précoces", "apiculteurs alpins",
         "Partager sur Facebook", "Enfin une décision courageuse", "les mêmes contribuables",
         "Les plus lus", "Festival d'Avignon", "lettre d'information", "Mentions légales",
         "Tous droits réservés", "dataLayer", "cookie-banner", "Jean-Michel 44"],
    ),
    "ukraine-energie": (
        "Ukraine : à Kharkiv, la bataille",
        ["Dans la deuxième ville", "Les habitants se sont adaptés", "Les autorités comptent",
         "À Bruxelles, la Commission"],
        ["Se connecter", "Horoscope", "WhatsApp", "Sur le même sujet", "La Moldavie cherche",
         "Journal régional", "Gestion des cookies", "var ads"],
    ),
    "munitions-europe": (
        "L'Europe de la défense court après",
        ["Deux ans après les premières", "Dans les usines de Bourges", "Le principal goulet",
         "La Commission européenne a mis", "En attendant, plusieurs États"],
        ["Mots croisés", "Offre spéciale", "Newsletter Défense", "Inscrivez-vous",
         "Éolien en mer du Nord", "Qui sommes-nous", "Préférences de cookies", "font-family"],
    ),
    "mercosur-cp1252": (
        "Agriculteurs : la colère monte",
        ["Une centaine de tracteurs", "« On nous demande", "Le manque à gagner",
         "Le gouvernement assure"],
        ["Cours des marchés", "Petites annonces", "Reproduction interdite"],
    ),
    "sans-date": (
        "Comprendre l'article 5 du traité",
        ["L'article 5 est le cœur", "Contrairement à une idée", "La clause n'a été invoquée",
         "Elle est souvent confondue"],
        ["Quiz", "Glossaire", "Charte éditoriale", "Gérer les cookies"],
    ),
    "budgets-defense": (
        "Budgets de défense : où en sont",
        ["Les annonces se succèdent", "Trois tendances", "Les pays proches de la Russie",
         "Les grandes économies", "Les achats d'équipements", "Les chiffres", "Pologne",
         "Estonie", "France", "Allemagne", "Pays · Part du PIB", "« Le rattrapage est réel", "Ces données devront"],
        ["Boutique", "Archives", "Janvier", "Propulsé par", "Flux RSS", "Hebdo Stratégies"],
    ),
}  # fmt: skip

Extractor = Callable[[bytes], list[str]]


def nato_search_reader(data: bytes) -> list[str]:
    return read_html(Path("page.html"), data, "page", ReadOptions())[0].paragraphs


def trafilatura_fast(data: bytes) -> list[str]:
    import trafilatura

    found = trafilatura.bare_extraction(decoded(data), fast=True, include_comments=False)
    return [p for p in _paragraphs(found.body) if p] if found is not None else []


def selectolax_baseline(data: bytes) -> list[str]:
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(decoded(data))
    root = tree.css_first("article") or tree.css_first("main") or tree.body
    if root is None:
        return []
    blocks = root.css("p, li, h2, h3, h4, tr")
    return [
        " · ".join(clean_line(c.text()) for c in b.css("td, th"))
        if b.tag == "tr"
        else clean_line(b.text())
        for b in blocks
    ]


def readability_lxml(data: bytes) -> list[str]:
    import lxml.html
    from readability import Document

    summary = lxml.html.fromstring(Document(decoded(data)).summary(html_partial=True))
    return [clean_line(b.text_content()) for b in summary.xpath("//p|//li|//h2|//h3|//tr")]


def justext_paragraphs(data: bytes) -> list[str]:
    import justext

    found = justext.justext(decoded(data), justext.get_stoplist("French"))
    return [clean_line(p.text) for p in found if not p.is_boilerplate]


def available() -> dict[str, Extractor]:
    extractors: dict[str, Extractor] = {
        "nato-search": nato_search_reader,
        "trafilatura-fast": trafilatura_fast,
        "selectolax": selectolax_baseline,
    }
    for name, module, function in (
        ("readability-lxml", "readability", readability_lxml),
        ("jusText", "justext", justext_paragraphs),
    ):
        try:
            __import__(module)
        except ImportError:
            continue
        extractors[name] = function
    return extractors


def quality(paragraphs: list[str], headline: str, article: list[str], chrome: list[str]):
    text = "\n".join(paragraphs)
    recall = sum(words in text for words in article) / len(article)
    leak = sum(line in text for line in chrome) / len(chrome)
    counted = [p for p in paragraphs if p and not p.startswith(headline)]
    good = sum(any(p.startswith(words) for words in article) for p in counted)
    return recall, leak, good / len(counted) if counted else 0.0


def variants(pages: dict[str, bytes], count: int) -> list[bytes]:
    names = sorted(pages)
    out = []
    for i in range(count):
        page = pages[names[i % len(names)]]
        out.append(page.replace(b"<p>", f"<p>[{i}] ".encode()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    args = parser.parse_args()
    pages = {name: (DATA / f"{name}.html").read_bytes() for name in GOLD}
    batch = variants(pages, args.pages)
    print(f"{'extractor':<18} {'recall':>7} {'leak':>6} {'precision':>9} {'pages/s':>8}")
    for name, extract in available().items():
        scores = [quality(extract(pages[page]), *GOLD[page]) for page in GOLD]
        start = time.perf_counter()
        for data in batch:
            try:
                extract(data)
            except ValueError:
                pass
        speed = len(batch) / (time.perf_counter() - start)
        recall, leak, precision = (sum(s[k] for s in scores) / len(scores) for k in range(3))
        print(f"{name:<18} {recall:>7.0%} {leak:>6.0%} {precision:>9.0%} {speed:>8.0f}")


if __name__ == "__main__":
    main()
