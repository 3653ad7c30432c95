"""Markdown read as a person reads the rendered page: front matter, no markup, no code."""

import datetime as dt

import pytest

import nato_search
from nato_search.readers import markdown

PAGE = """---
title: "Sommet de l’Otan à Vilnius"
date: 2023-07-12
tags: [otan, ukraine]
auteur: Jeanne Martin
brouillon: false
---

# Le sommet en bref

Publié le 12 juillet 2023

Les dirigeants de l’**Alliance** ont [promis](https://example.org/aide) une aide `durable`
à l’Ukraine, sans calendrier d’adhésion.

- une *défense* aérienne renforcée
- des munitions livrées avant l’hiver

```python
print("identifiant_secret")
```

| pays | aide |
|---|---|
| France | blindés |

<div class="encart">balise_brute</div>

![Carte des alliés](carte.png)
"""

EXPECTED = [
    "Le sommet en bref",
    "Les dirigeants de l’Alliance ont promis une aide durable à l’Ukraine, sans calendrier "
    "d’adhésion.",
    "une défense aérienne renforcée",
    "des munitions livrées avant l’hiver",
    "pays · aide",
    "France · blindés",
    "Carte des alliés",
]


@pytest.fixture(params=["commonmark", "simple"])
def reading(request, monkeypatch):
    """Both readings: markdown-it-py's, and the core's own without the formats extra."""
    if request.param == "commonmark":
        pytest.importorskip("markdown_it")
    else:
        monkeypatch.setattr(markdown, "_PARSER", None)
    return request.param


def test_front_matter_markup_lists_and_tables(tmp_path, reading):
    (tmp_path / "sommet.md").write_text(PAGE, "utf-8")
    [doc] = nato_search.read_documents(tmp_path / "sommet.md")
    assert (doc.id, doc.title, doc.date) == (
        "sommet",
        "Sommet de l’Otan à Vilnius",
        dt.date(2023, 7, 12),
    )
    assert doc.metadata == {
        "tags": ["otan", "ukraine"],
        "auteur": "Jeanne Martin",
        "brouillon": False,
    }
    assert doc.paragraphs == EXPECTED


def test_the_first_heading_is_the_title_and_a_dateline_the_date(tmp_path, reading):
    (tmp_path / "note.md").write_text(
        "# Aide à l’Ukraine\n\nPublié le 3 avril 2024\n\nLes ministres se sont réunis.\n\n"
        "## Suite\n\nUn second paragraphe.\n",
        "utf-8",
    )
    [doc] = nato_search.read_documents(tmp_path / "note.md")
    assert (doc.title, doc.date) == ("Aide à l’Ukraine", dt.date(2024, 4, 3))
    assert doc.paragraphs == ["Les ministres se sont réunis.", "Suite", "Un second paragraphe."]
    (tmp_path / "note.md").write_text(
        "---\ntitle: Aide à l’Ukraine\n---\n# Aide à l’Ukraine\n\nTexte.\n"
    )
    [doc] = nato_search.read_documents(tmp_path / "note.md")
    assert (doc.title, doc.paragraphs) == ("Aide à l’Ukraine", ["Texte."])


def test_code_and_html_are_not_searchable(tmp_path):
    folder = tmp_path / "wiki"
    folder.mkdir()
    (folder / "sommet.md").write_text(PAGE, "utf-8")
    with nato_search.build_index(folder, tmp_path / "ix") as ix:
        assert ix.search("identifiant_secret", fuzzy=False).total == 0
        assert ix.search("balise_brute", fuzzy=False).total == 0
        assert ix.search("python", fuzzy=False).total == 0
        [hit] = ix.search("munitions hiver")
        assert (hit.doc_id, hit.text) == ("sommet", "des munitions livrées avant l’hiver")
        assert ix.search("défense", filter={"tags": "otan", "auteur": "Jeanne Martin"}).total == 1
        assert ix.search("défense", filter={"tags": "brest"}).total == 0


def test_front_matter_dates_in_words_and_bad_dates(tmp_path):
    (tmp_path / "a.md").write_text("---\ndate: 12 juillet 2023\n---\nTexte.\n", "utf-8")
    [doc] = nato_search.read_documents(tmp_path / "a.md")
    assert doc.date == dt.date(2023, 7, 12)
    (tmp_path / "b.md").write_text("---\ntitle: x\ndate: bientôt\n---\nTexte.\n", "utf-8")
    with pytest.raises(
        nato_search.CorpusError, match=r"b\.md:3: date 'bientôt' is not an ISO date"
    ):
        list(nato_search.read_documents(tmp_path / "b.md", strict=True))


def test_nested_front_matter_is_kept_as_text_and_a_bad_line_named(tmp_path):
    (tmp_path / "a.md").write_text(
        "---\ntitle: Note\nparams:\n  couleur: bleu\nmots:\n  - paix\n  - défense\n---\nTexte.\n",
        "utf-8",
    )
    [doc] = nato_search.read_documents(tmp_path / "a.md")
    assert doc.metadata == {"params": "couleur: bleu", "mots": ["paix", "défense"]}
    (tmp_path / "b.md").write_text("---\ntitle: Note\n: rien\n---\nTexte.\n", "utf-8")
    with pytest.raises(nato_search.CorpusError, match=r"b\.md:3: front matter line"):
        list(nato_search.read_documents(tmp_path / "b.md", strict=True))


def test_the_simple_reading_takes_linear_time_on_hostile_lines(tmp_path, monkeypatch):
    """Emphasis matched in pairs took 9 s on a 48 KB line of ``*a``; 37 s at 96 KB."""
    import time

    monkeypatch.setattr(markdown, "_PARSER", None)
    (tmp_path / "piège.md").write_text("*a " * 32000 + "\n\n" + "[" * 32000 + "\n", "utf-8")
    started = time.perf_counter()
    [doc] = nato_search.read_documents(tmp_path / "piège.md")
    assert time.perf_counter() - started < 3
    assert doc.paragraphs[0].startswith("a a a")
