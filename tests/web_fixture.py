"""The corpus the HTTP app is tested on: the seeds, enough convoy notes to page, two
years to filter on, metadata, and a document whose text and title hold markup."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import nato_search

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
CONVOYS = 24
"""Notes that each hold "ravitaillement" in their first paragraph only."""
CONVOYS_2021 = 14
HOSTILE_ID = "piège/1"
HOSTILE_TITLE = "<b>Gras</b> & <script>document.title='pwned'</script> titre"
HOSTILE_TEXT = (
    "Ce texte piégé contient <script>document.title='pwned'</script> et une balise "
    "<img src=x onerror=\"document.title='pwned'\"> qui doivent rester du texte."
)


def convoy(n: int) -> nato_search.Document:
    date = dt.date(2021, 3, n + 1) if n < CONVOYS_2021 else dt.date(2023, 5, n - CONVOYS_2021 + 1)
    return nato_search.Document(
        id=f"convoi-{n:02d}",
        title=f"Convoi numéro {n}",
        date=date,
        paragraphs=[
            f"Le convoi de ravitaillement {n} a livré des vivres à Kharkiv.",
            "Les camions sont repartis vides vers la frontière.",
        ],
        metadata={"source": "AFP" if n % 2 else "Reuters", "tags": ["convoi", f"lot-{n % 3}"]},
    )


def documents() -> list[nato_search.Document]:
    hostile = nato_search.Document(
        id=HOSTILE_ID,
        title=HOSTILE_TITLE,
        date=dt.date(2020, 1, 1),
        paragraphs=["Un premier paragraphe sans rien de spécial.", HOSTILE_TEXT],
        metadata={"source": "<i>source</i>", "url": "javascript:alert(1)"},
    )
    seeds = [
        nato_search.Document(
            **{**vars(seed), "metadata": {"url": f"https://example.org/{seed.id}"}}
        )
        for seed in nato_search.read_documents(SEEDS)
    ]
    return [*seeds, *(convoy(n) for n in range(CONVOYS)), hostile]


def build(path: Path) -> nato_search.Index:
    return nato_search.build_index(documents(), path)
