"""A small corpus for the app-facing API: metadata of every JSON kind, several paragraphs
per document, dates in four years and one undated document."""

import datetime as dt

from nato_search import Document

DOCUMENTS = [
    Document(
        "kyiv",
        "Munitions pour l'Ukraine",
        dt.date(2022, 3, 1),
        [
            "L'OTAN livre des munitions à l'Ukraine.",
            "La Russie proteste contre les livraisons d'armes.",
            "Les munitions d'artillerie arrivent par la Pologne.",
        ],
        {"source": "AFP", "tags": ["défense", "ukraine"], "pages": 3, "urgent": True},
    ),
    Document(
        "vilnius",
        "Sommet de l'OTAN à Vilnius",
        dt.date(2023, 7, 11),
        [
            "Le sommet de Vilnius s'ouvre sous haute sécurité.",
            "Les munitions manquent à l'Ukraine, disent les Alliés.",
            "L'Ukraine demande des obus et des missiles.",
        ],
        {"source": "Reuters", "tags": ["diplomatie"], "pages": 2, "urgent": False},
    ),
    Document(
        "patriot",
        "Défense aérienne",
        dt.date(2023, 11, 2),
        [
            "Des batteries Patriot pour l'Ukraine et des munitions.",
            "La défense aérienne protège les villes.",
        ],
        {"source": "AFP", "tags": ["défense"], "pages": 3, "urgent": None},
    ),
    Document(
        "washington",
        "Soixante-quinze ans de l'Alliance",
        dt.date(2024, 4, 4),
        [
            "L'Alliance fête ses soixante-quinze ans à Washington.",
            "Les Alliés promettent des munitions et des missiles à l'Ukraine.",
            "La Russie menace l'Alliance.",
            "Le sommet se termine sur une déclaration commune.",
        ],
        {"source": "Le Monde", "tags": ["diplomatie", "ukraine"], "pages": 12, "urgent": True},
    ),
    Document(
        "bruxelles",
        "Réunion à Bruxelles",
        dt.date(2021, 6, 14),
        [
            "Les ministres de l'OTAN se réunissent à Bruxelles.",
            "La Russie et l'Ukraine sont au menu.",
        ],
        {"source": "AFP", "tags": [], "pages": 1.5},
    ),
    Document(
        "note",
        "Note sans date",
        None,
        ["Une note sur les munitions et l'Ukraine.", "Elle n'a pas de date."],
    ),
]
