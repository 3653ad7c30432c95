from whoosh.analysis import LowercaseFilter

from nato_search.analysis import FoldFilter, FrenchTokenizer

from .helpers import stream

chain = FrenchTokenizer() | LowercaseFilter() | FoldFilter()


def test_accents_and_ligatures_fold_to_ascii_but_offsets_stay_on_the_original():
    assert stream(chain, "Alliés œuvrer Straße Éçà") == [
        ("allies", 0, 6),
        ("oeuvrer", 7, 13),
        ("strasse", 14, 20),
        ("eca", 21, 24),
    ]


def test_typographic_apostrophes_fold_to_one_form():
    assert [t for t, *_ in stream(chain, "aujourd’hui aujourdʼhui aujourd'hui")] == [
        "aujourd'hui"
    ] * 3


def test_a_word_that_folds_to_nothing_is_dropped():
    assert stream(chain, "paix ⅱ ∰") == [("paix", 0, 4), ("ii", 5, 6)]
