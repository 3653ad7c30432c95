import re

from whoosh.analysis import LowercaseFilter

from nato_search.text.filters import FoldFilter
from nato_search.text.tokenizer import FrenchTokenizer

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


def test_ascii_words_fold_as_unidecode_folds_them():
    """ASCII skips unidecode (which leaves it as it is): the result must not change."""
    from unidecode import unidecode

    from nato_search.text.filters import _fold

    for word in ["Alliés", "OTAN", "aujourd'hui", "x-y_z", "", "12Ab", "l'", "a.b", "É"]:
        assert _fold(word) == re.sub(r"[^a-z0-9']", "", unidecode(word).lower())
    assert _fold("aujourd'hui") == "aujourd'hui" and _fold("A_b-C") == "abc"


def test_latin_letters_fold_as_unidecode_folds_them():
    """Words of Latin letters skip unidecode's loop (a table of its own answers)."""
    import random

    from unidecode import unidecode

    from nato_search.text.filters import _fold

    letters = [chr(c) for c in range(0x20, 0x260)]
    words = letters + ["".join(random.Random(n).choices(letters, k=8)) for n in range(3000)]
    for word in words + ["Œuvre", "Straße", "ǅemal", "Ærø", "ĳssel"]:
        assert _fold(word) == re.sub(r"[^a-z0-9']", "", unidecode(word).lower()), word
