import datetime as dt
import json

import pytest
from conftest import SEEDS

import nato_search
from nato_search.cli import main
from nato_search.errors import CorpusError, CorpusWarning
from nato_search.readers.corpus import read_documents
from nato_search.readers.text import find_date, parse_page, short_title, split_paragraphs

SEED_EXPECTATIONS = {
    "000_4212c58b728f3318": (
        "Déclaration du Conseil OTAN-Ukraine en session des ministres des affaires étrangères",
        dt.date(2023, 11, 29),
        5,
        "publiée à l’issue de sa réunion tenue à Bruxelles le 29 novembre 2023",
    ),
    "001_65cc3f9bb913188d": (
        "Les pays de l’OTAN conviennent de renforcer encore et de pérenniser le soutien à l'Ukraine",
        dt.date(2022, 4, 7),
        4,
        "Réunis à Bruxelles cette semaine (les 6 et 7 avril 2022), les ministres",
    ),
    "002_3378df031dd4d962": (
        "Les ministres des Affaires étrangères se sont réunis à Bruxelles, en Belgique",
        dt.date(2024, 4, 3),
        4,
        "Les ministres des Affaires étrangères se sont réunis à Bruxelles, en Belgique, mercredi",
    ),
    "003_1bfd15bd7f542d98": (
        "Le Conseil OTAN-Ukraine s’est réuni ce mercredi (28 août 2024)",
        dt.date(2024, 8, 28),
        4,
        "Le Conseil OTAN-Ukraine s’est réuni ce mercredi (28 août 2024), au lendemain",
    ),
    "004_8b2eba1b99747ab6": (
        "Les ministres de la Défense de l’OTAN approuvent un nouveau plan d’aide à la sécurité pour l’Ukraine",
        dt.date(2024, 6, 13),
        4,
        "Jeudi 13 juin 2024, les ministres de la Défense se sont réunis à Bruxelles",
    ),
}
CHROME = [
    "InternationalTunisie",
    "Le Hautpanel",
    "Tunisie Focus",
    "31 Flags",
    "General view",
    "Mis à jour",
    "•",
    "\u00a0",
]


@pytest.fixture(scope="module")
def seeds():
    return {doc.id: doc for doc in read_documents(SEEDS)}


def test_every_seed_is_read_with_its_id(seeds):
    assert sorted(seeds) == sorted(SEED_EXPECTATIONS)


@pytest.mark.parametrize("doc_id", sorted(SEED_EXPECTATIONS))
def test_seed_title_date_paragraphs(seeds, doc_id):
    title, date, count, opening = SEED_EXPECTATIONS[doc_id]
    doc = seeds[doc_id]
    assert (doc.title, doc.date, len(doc.paragraphs)) == (title, date, count)
    assert doc.paragraphs[0].startswith(opening)


@pytest.mark.parametrize("doc_id", sorted(SEED_EXPECTATIONS))
def test_no_chrome_metadata_or_caption_becomes_a_paragraph(seeds, doc_id):
    for paragraph in seeds[doc_id].paragraphs:
        assert not any(junk in paragraph for junk in CHROME), paragraph
        assert paragraph == paragraph.strip() and "  " not in paragraph


def test_numbered_paragraphs_lose_their_number(seeds):
    paragraphs = seeds["000_4212c58b728f3318"].paragraphs
    assert paragraphs[2].startswith("Alors que la Russie poursuit")
    assert paragraphs[4].startswith("L’Ukraine a réaffirmé")


def test_non_breaking_spaces_become_spaces(seeds):
    quote = seeds["002_3378df031dd4d962"].paragraphs[1]
    assert "a ajouté : « lors de notre réunion" in quote


@pytest.mark.parametrize(
    "text, date",
    [
        ("mercredi 3 avril 2024", dt.date(2024, 4, 3)),
        ("ce mercredi (28 août 2024), au lendemain", dt.date(2024, 8, 28)),
        ("Jeudi 13 juin 2024, les ministres", dt.date(2024, 6, 13)),
        ("• 29 Nov. 2023 -", dt.date(2023, 11, 29)),
        ("le 1er février 2022", dt.date(2022, 2, 1)),
        ("le 14 juillet 1789 et le 25 décembre 2000", dt.date(1789, 7, 14)),
        ("le 31 février 2024 puis le 2 mars 2024", dt.date(2024, 3, 2)),
        ("en juillet 2023", None),
    ],
)
def test_find_date(text, date):
    assert find_date(text) == date


def test_all_french_months_are_known():
    months = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()
    assert [find_date(f"1 {m} 2020").month for m in months] == list(range(1, 13))


def test_paragraph_separators_blank_lines_nbsp_lines_and_single_newlines():
    text = "Premier paragraphe complet.\n\u00a0\nDeuxième paragraphe complet.\nTroisième paragraphe.\n\n\nQuatrième."
    assert split_paragraphs(text) == [
        "Premier paragraphe complet.",
        "Deuxième paragraphe complet.",
        "Troisième paragraphe.",
        "Quatrième.",
    ]


def test_hard_wrapped_lines_are_joined():
    text = "Les ministres ont discuté de la\nsituation en Ukraine.\nUne autre phrase."
    assert split_paragraphs(text) == [
        "Les ministres ont discuté de la situation en Ukraine.",
        "Une autre phrase.",
    ]


def test_short_title_cuts_long_sentences_at_a_word():
    sentence = "Les " + "très " * 30 + "longues phrases."
    title = short_title(sentence)
    assert title.endswith("très…") and len(title) <= 91


def test_page_without_anything_but_chrome_has_no_paragraphs():
    doc = parse_page("Accueil\n\nMenu principal\n", "x")
    assert (doc.title, doc.paragraphs, doc.date) == ("x", [], None)


def test_markdown_heading_is_the_title(tmp_path):
    (tmp_path / "note.md").write_text(
        "# La défense aérienne\n\nLes Alliés renforcent la défense aérienne de l’Ukraine.\n",
        "utf-8",
    )
    [doc] = read_documents(tmp_path)
    assert (doc.id, doc.title, doc.paragraphs) == (
        "note",
        "La défense aérienne",
        ["Les Alliés renforcent la défense aérienne de l’Ukraine."],
    )


def test_folders_are_read_recursively_with_relative_ids(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text(
        "Un titre assez long\n\nUn paragraphe qui parle de la paix.\n", "utf-8"
    )
    (tmp_path / "notes.rst").write_text("Un texte que personne ne lit.\n", "utf-8")
    (tmp_path / ".hidden.txt").write_text("Un fichier caché.\n", "utf-8")
    with pytest.warns(
        CorpusWarning, match=r"notes.rst: skipped, no reader for '.rst' files"
    ) as seen:
        assert [d.id for d in read_documents(tmp_path)] == ["sub/a"]
    assert len(seen) == 1  # the hidden file is left out without a word


def test_jsonl_with_text_or_paragraphs(tmp_path):
    path = tmp_path / "docs.jsonl"
    rows = [
        {"id": "a", "title": "Titre A", "date": "2024-06-13", "text": "Premier.\n\nSecond."},
        {"id": 7, "paragraphs": ["Un seul paragraphe sur la paix.", "  "]},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", "utf-8")
    a, b = read_documents(path)
    assert (a.id, a.title, a.date, a.paragraphs) == (
        "a",
        "Titre A",
        dt.date(2024, 6, 13),
        ["Premier.", "Second."],
    )
    assert (b.id, b.title, b.date, b.paragraphs) == (
        "7",
        "Un seul paragraphe sur la paix",
        None,
        ["Un seul paragraphe sur la paix."],
    )


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", "docs.jsonl:1: invalid JSON"),
        ('{"title": "x", "text": "y"}', "docs.jsonl:1: expected an object with an 'id'"),
        ('{"id": "x"}', "docs.jsonl:1: expected 'text'"),
        (
            '{"id": "x", "text": "y", "date": "13/06/2024"}',
            "docs.jsonl:1: date '13/06/2024' is not an ISO date",
        ),
    ],
)
def test_bad_jsonl_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "docs.jsonl"
    path.write_text(line + "\n", "utf-8")
    with pytest.raises(CorpusError, match=message):
        list(read_documents(path, strict=True))


def test_non_utf8_file_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("Un titre assez long\n\nLa sécurité de l’Europe.".encode("latin-1", "replace"))
    with pytest.raises(
        CorpusError, match=r"latin1\.txt: not UTF-8 text \(invalid byte 0xe9 at offset 25\)"
    ):
        list(read_documents(path, strict=True))
    with pytest.warns(CorpusWarning, match=r"^skipped .*latin1\.txt: not UTF-8 text"):
        assert list(read_documents(path)) == []


def test_missing_source_is_an_error(tmp_path):
    with pytest.raises(CorpusError, match="nowhere.txt: no such file or folder"):
        list(read_documents(tmp_path / "nowhere.txt", strict=True))


def test_utf8_bom_is_ignored(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffUn titre assez long\n\nLe texte de l’article.".encode("utf-8"))
    [doc] = read_documents(path)
    assert doc.title == "Un titre assez long"


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085"])
def test_jsonl_strings_may_hold_line_separators_raw(tmp_path, separator):
    """json.dumps(..., ensure_ascii=False) writes U+2028, U+2029 and U+0085 raw, which
    str.splitlines() takes for line ends (the other ones it knows JSON escapes); lines
    may end in CRLF."""
    path = tmp_path / "docs.jsonl"
    records = [
        {"id": "a", "title": f"Un{separator}titre", "text": "Premier paragraphe."},
        {"id": "b", "text": f"Deux{separator}lignes.", "note": f"x{separator}y"},
    ]
    text = "\r\n".join(json.dumps(r, ensure_ascii=False) for r in records)
    assert separator in json.dumps(records[0], ensure_ascii=False)
    path.write_text(text + "\n", "utf-8")
    a, b = read_documents(path)
    assert (a.id, b.id) == ("a", "b")
    assert b.metadata == {"note": f"x{separator}y"}


@pytest.mark.parametrize(
    "record, message",
    [
        ({"id": "x", "paragraphs": [None, "y"]}, r":1: paragraph 0 must be a string, not null"),
        ({"id": "x", "paragraphs": ["y", {"k": 1}]}, r"paragraph 1 must be a string, not an obj"),
        ({"id": "x", "paragraphs": ["y", 3]}, r"paragraph 1 must be a string, not a number"),
        ({"id": "x", "paragraphs": "y"}, r"'paragraphs' must be a list of strings, not str"),
        ({"id": "x", "text": ["y"]}, r"'text' must be a string, not a list"),
        ({"id": "x", "title": ["x", "y"], "text": "y"}, r"'title' must be a string, not a list"),
        ({"id": "x", "title": 2024, "text": "y"}, r"'title' must be a string, not a number"),
        ({"id": "x", "text": "y", "date": "2024-01-01 garbage"}, r"date '2024-01-01 garbage'"),
        ({"id": "x", "text": "y", "date": "2024-01-01Tnoon"}, r"date '2024-01-01Tnoon' is not"),
        ({"id": "x", "text": "y", "date": 20240101}, r"date 20240101 is not an ISO date"),
        ({"id": "x", "text": "y", "date": ["2024-01-01"]}, r"date \['2024-01-01'\] is not"),
    ],
)
def test_records_that_are_not_what_they_claim_name_the_file_and_line(tmp_path, record, message):
    path = tmp_path / "docs.jsonl"
    good = {"id": "ok", "text": "Un paragraphe."}
    path.write_text(json.dumps(good) + "\n" + json.dumps(record) + "\n", "utf-8")
    with pytest.raises(CorpusError, match=r"docs\.jsonl:2: " + message.removeprefix(r":1: ")):
        list(read_documents(path, strict=True))


def test_dates_with_a_time_are_taken_as_their_day(tmp_path):
    path = tmp_path / "docs.jsonl"
    rows = [
        {"id": "a", "text": "x", "date": "2024-06-13T10:30:00+02:00"},
        {"id": "b", "text": "x", "date": "2024-06-13 23:59:59"},
        {"id": "c", "text": "x", "date": "2024-06-13T10:30:00Z"},
        {"id": "d", "text": "x", "date": None},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows), "utf-8")
    assert [d.date for d in read_documents(path)] == [dt.date(2024, 6, 13)] * 3 + [None]


@pytest.mark.parametrize(
    "line, message",
    [
        ("[" * 100_000 + "]" * 100_000, r"docs\.jsonl:1: invalid JSON \(nested too deeply\)"),
        ('{"id": "x", "text": "y", "n": ' + "9" * 5000 + "}", r"docs\.jsonl:1: invalid JSON"),
        ('{"id": "x", "text": "y", "n": [' * 20_000, r"docs\.jsonl:1: invalid JSON"),
        ('{"id": "x", "text": "y"', r"docs\.jsonl:1: invalid JSON \(.*column 24\)"),
    ],
)
def test_json_that_python_cannot_read_is_an_error_naming_the_line(tmp_path, line, message):
    path = tmp_path / "docs.jsonl"
    path.write_text(line + "\n", "utf-8")
    with pytest.raises(CorpusError, match=message):
        list(read_documents(path, strict=True))


def test_an_empty_path_is_refused_not_read_as_the_working_folder(tmp_path, monkeypatch, capsys):
    """An unset ``$SRC`` gives "": Path("") is the working folder, which is never meant."""
    (tmp_path / "secret.txt").write_text("Un titre assez long\n\nUn secret bien gardé.\n")
    monkeypatch.chdir(tmp_path)
    for sources in ("", ["", "secret.txt"], ["secret.txt", ""]):
        with pytest.raises(CorpusError, match="an empty path is not a source"):
            list(read_documents(sources, strict=True))
    with pytest.raises(CorpusError, match="an empty path"):
        nato_search.build_index([""], tmp_path / "ix", strict=True)
    assert not (tmp_path / "ix").exists()
    with nato_search.build_index("secret.txt", tmp_path / "ix") as ix:
        with pytest.raises(CorpusError, match="an empty path"):
            ix.add("")
        assert ix.documents == 1
    assert main(["index", "", "--index", str(tmp_path / "other")]) == 1
    assert "an empty path is not a source" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()
