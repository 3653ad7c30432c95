"""The HTML reader on hand-written French news pages (tests/readers/data/html/): the
article's paragraphs exactly, its title, date, url and lang, and no boilerplate in the index."""

import datetime as dt
import shutil
from pathlib import Path

import pytest

pytest.importorskip("trafilatura")

import nato_search  # noqa: E402
from nato_search.errors import CorpusError, CorpusWarning  # noqa: E402
from nato_search.readers.formats import ReadOptions, format_of  # noqa: E402
from nato_search.readers.html import decoded, read_html  # noqa: E402

DATA = Path(__file__).parent / "data" / "html"


def read(name, clean=True):
    path = DATA / name
    [document] = read_html(path, path.read_bytes(), path.stem, ReadOptions(clean=clean))
    return document


def read_bytes(data, tmp_path):
    return read_html(tmp_path / "page.html", data, "page", ReadOptions())[0]


def test_news_page_keeps_the_article_only():
    document = read("sommet-otan.html")
    assert document.title == (
        "Sommet de l'OTAN : les Alliés promettent un effort de défense sans précédent"
    )
    assert document.date == dt.date(2025, 6, 25)  # JSON-LD datePublished, not dateModified
    assert document.metadata == {
        "url": "https://www.quotidien-europe.example/international/article/sommet-otan-effort-defense",
        "lang": "fr",
        "author": "Claire Vasseur",
    }
    assert document.paragraphs == [
        "Réunis mercredi à La Haye, les trente-deux membres de l'Alliance atlantique se sont engagés à consacrer davantage de leur richesse nationale à la défense d'ici à dix ans.",
        "Le communiqué final, adopté après une nuit de négociations, fixe une trajectoire que plusieurs capitales jugeaient encore irréaliste il y a un an. Les dépenses militaires proprement dites devront atteindre une part nettement plus élevée du produit intérieur brut, à laquelle s'ajoutent les investissements dans les infrastructures, la cybersécurité et la protection civile.",
        "Pour le secrétaire général de l'Alliance, ce compromis répond à « la menace durable » que représente la Russie depuis l'invasion de l'Ukraine. Les pays du flanc oriental, Pologne et États baltes en tête, réclamaient un calendrier plus court ; l'Espagne a obtenu une clause de souplesse.",
        "Une facture qui inquiète les ministres des finances",
        "Dans les délégations, on ne cache pas que l'addition sera lourde. Plusieurs gouvernements devront réviser leur loi de programmation militaire, voire emprunter, alors que les règles budgétaires européennes restent contraignantes.",
        "Le soutien à Kiev figure également dans la déclaration : les Alliés s'engagent à maintenir leur aide militaire et à financer la reconstruction de l'industrie de défense ukrainienne, sans toutefois fixer de montant commun.",
        "Le prochain sommet doit se tenir l'an prochain en Turquie, où un premier bilan de la trajectoire sera dressé.",
    ]


def test_time_datetime_and_title_suffix():
    document = read("ukraine-energie.html")
    assert document.title == "Ukraine : à Kharkiv, la bataille de l'électricité avant l'hiver"
    assert document.date == dt.date(2024, 11, 19)
    assert document.metadata == {
        "url": "https://echo-est.example/monde/ukraine-kharkiv-electricite",
        "lang": "fr",  # from lang="fr-FR"
    }
    assert len(document.paragraphs) == 4
    assert document.paragraphs[0].startswith("Dans la deuxième ville d'Ukraine,")
    assert document.paragraphs[-1].endswith("exportations d'électricité vers l'Ukraine.")


def test_og_title_over_a_logo_h1_and_published_time():
    document = read("munitions-europe.html")
    assert document.title == "L'Europe de la défense court après ses obus"
    assert document.date == dt.date(2024, 3, 14)  # published, not modified
    assert document.metadata == {
        "url": "https://courrier-europeen.example/defense/europe-munitions-obus",  # og:url
        "lang": "fr",
        "author": "Anne Kowalski",
    }
    assert [p[:30] for p in document.paragraphs] == [
        "Deux ans après les premières c",
        "Dans les usines de Bourges, de",
        "Le principal goulet d'étrangle",
        "La Commission européenne a mis",
        "En attendant, plusieurs États ",
    ]


def test_windows_1252_declared_by_meta():
    document = read("mercosur-cp1252.html")
    assert document.title == "Agriculteurs : la colère monte contre l’accord avec le Mercosur"
    assert document.date == dt.date(2025, 2, 3)
    assert document.metadata == {"lang": "fr"}
    assert document.paragraphs[2] == (
        "Le manque à gagner est estimé par la profession à plusieurs centaines d’euros par "
        "exploitation et par an, soit près de 500 € pour un élevage moyen… un chiffre contesté "
        "par le ministère."
    )
    assert len(document.paragraphs) == 4  # the dateline is the date, not a paragraph
    assert "bœuf" in document.paragraphs[1]


def test_undated_page_stays_undated():
    """The text recalls 11 septembre 2001: htmldate's extensive search would date the page
    with it, and a fallback would give the file's date or today."""
    document = read("sans-date.html")
    assert document.date is None
    assert document.title == "Comprendre l'article 5 du traité de l'Atlantique nord"
    assert len(document.paragraphs) == 4
    assert "11 septembre 2001" in document.paragraphs[2]


def test_list_table_and_quote():
    document = read("budgets-defense.html")
    assert document.date == dt.date(2025, 2, 10)
    assert document.paragraphs == [
        "Les annonces se succèdent, mais les écarts restent importants entre les membres européens de l'Alliance. Voici ce qu'il faut retenir des derniers chiffres publiés.",
        "Trois tendances",
        "Les pays proches de la Russie dépensent le plus, en proportion de leur richesse.",
        "Les grandes économies d'Europe de l'Ouest rattrapent progressivement leur retard.",
        "Les achats d'équipements progressent plus vite que les dépenses de personnel.",
        "Les chiffres",
        "Pays · Part du PIB · Évolution sur un an",
        "Pologne · 4,1 % · en hausse",
        "Estonie · 3,4 % · en hausse",
        "France · 2,1 % · stable",
        "Allemagne · 2,1 % · en hausse",
        "« Le rattrapage est réel, mais il part de très bas », résume un chercheur spécialiste des questions stratégiques.",
        "Ces données devront être confirmées par les comptes définitifs de chaque État, attendus à l'automne.",
    ]


def test_clean_false_keeps_every_block():
    document = read("sommet-otan.html", clean=False)
    assert "Les plus lus" in document.paragraphs
    assert "Lire aussi | Les apiculteurs alpins face au frelon asiatique" in document.paragraphs
    assert not any("dataLayer" in p or ".cookie-banner" in p for p in document.paragraphs)


def test_boilerplate_is_not_searchable(tmp_path):
    folder = tmp_path / "pages"
    shutil.copytree(DATA, folder)
    with nato_search.build_index([folder], tmp_path / "ix") as ix:
        for chrome in (
            "cookies",  # the banners and footers
            "traceurs",
            "Météo",  # the navigation
            "apiculteurs",  # a "Lire aussi" line inside the article
            "Bordelais",  # a "Lire aussi" box
            "Pyrénées",  # the most-read sidebar
            "courageuse",  # a comment
            "Facebook",  # share buttons
            "légales",  # the footer
            "Horoscope",
            "Inscrivez-vous",  # a newsletter box inside the story
        ):
            assert ix.search(chrome, fuzzy=False).total == 0, chrome
        assert {hit.doc_id for hit in ix.search("transformateurs")} == {"ukraine-energie"}
        assert {hit.doc_id for hit in ix.search("tracteurs")} == {"mercosur-cp1252"}
        assert {hit.doc_id for hit in ix.search("Estonie")} == {"budgets-defense"}


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"\xef\xbb\xbf<p>d\xc3\xa9fense</p>", "<p>défense</p>"),  # BOM
        (b'<meta charset="iso-8859-1"><p>\x80 \xe9</p>', '<meta charset="iso-8859-1"><p>€ é</p>'),
        (b"<p>d\xc3\xa9fense</p>", "<p>défense</p>"),  # undeclared UTF-8
        (b"<p>d\xe9fense \x9c</p>", "<p>défense œ</p>"),  # undeclared, not UTF-8
        (b'<meta charset="utf-8"><p>d\xe9fense</p>', '<meta charset="utf-8"><p>d\ufffdfense</p>'),
        (b'<meta charset="x-unknown"><p>d\xe9</p>', '<meta charset="x-unknown"><p>dé</p>'),
    ],
)
def test_decoding(data, text):
    assert decoded(data) == text


def test_damaged_markup_and_bytes_still_read(tmp_path):
    page = (DATA / "sommet-otan.html").read_bytes()
    damaged = page.replace(b"</p>", b"", 3).replace(b"</div>", b"")[:-200] + b"\xff\xfe\x00<p"
    document = read_bytes(damaged, tmp_path)
    assert any("trajectoire" in p for p in document.paragraphs)
    assert not any("cookies" in p for p in document.paragraphs)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \n",
        b"<html><body><nav><a href='/'>Accueil</a></nav><footer>Contact</footer></body></html>",
        b"<html><head><script>var x = 1;</script></head><body></body></html>",
    ],
)
def test_no_main_text(tmp_path, data):
    with pytest.raises(CorpusError, match=r"page\.html: no main text found"):
        read_bytes(data, tmp_path)


def test_sniffed_and_skipped_with_a_warning(tmp_path):
    (tmp_path / "vide.html").write_text("<html><body><nav>Accueil</nav></body></html>")
    (tmp_path / "page.txt").write_bytes((DATA / "sans-date.html").read_bytes())
    assert format_of(tmp_path / "page.txt", (tmp_path / "page.txt").read_bytes()).name == "html"
    with pytest.warns(CorpusWarning, match="vide.html: no main text found"):
        with nato_search.build_index([tmp_path], tmp_path / "ix") as ix:
            assert {hit.doc_id for hit in ix.search("riposte")} == {"page"}
