import pytest

from nato_search.analysis import FrenchTokenizer, StemFilter


def stems(stemmer, text):
    return [t.text for t in (FrenchTokenizer() | StemFilter(stemmer))(text)]


@pytest.mark.parametrize(
    "forms",
    [
        "munition munitions",
        "aerien aeriens aerienne aeriennes",
        "allie allies alliee alliees",
        "premier premiers premiere premieres",
        "ministre ministres",
        "ukrainien ukrainiens ukrainienne ukrainiennes",
        "cheval chevaux",
        "defensif defensive defensives",
        "nouvel nouvelle nouvelles",
    ],
)
def test_light_stemmer_merges_number_and_gender(forms):
    assert len(set(stems("light", forms))) == 1, stems("light", forms)


def test_light_stemmer_exact_stems():
    assert stems("light", "munitions aeriennes securite pays ministres ukraine") == [
        "munition",
        "aerien",
        "securit",
        "pay",
        "ministr",
        "ukrain",
    ]


def test_short_words_are_left_alone():
    assert stems("light", "ans gaz") == ["ans", "gaz"]


def test_minimal_stemmer_only_merges_plurals():
    assert stems("minimal", "munitions aeriennes chevaux jeux") == [
        "munition",
        "aerienne",
        "cheval",
        "jeu",
    ]


def test_snowball_and_none():
    assert stems("snowball", "continuer continuerons") == ["continu", "continu"]
    assert stems("none", "munitions") == ["munitions"]


def test_unknown_stemmer_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown stemmer 'porter'; choose one of none, minimal"):
        StemFilter("porter")


def test_stem_filter_pickles_by_name():
    import pickle

    restored = pickle.loads(pickle.dumps(StemFilter("snowball")))
    assert restored == StemFilter("snowball") and restored != StemFilter("light")
    assert stems("light", "munitions") == ["munition"]
