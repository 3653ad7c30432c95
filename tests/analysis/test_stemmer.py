from collections import defaultdict
from pathlib import Path

import pytest

from nato_search.text.analyzer import french_analyzer
from nato_search.text.filters import StemFilter
from nato_search.text.tokenizer import FrenchTokenizer

SAVOY_GROUPS = Path(__file__).parent / "data" / "savoy-groups.tsv"


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


def analyzed(stemmer, word):
    return tuple(t.text for t in french_analyzer(stemmer)(word))


def load_groups(path=SAVOY_GROUPS):
    """``{group: ([words], deviation or "")}`` from the tab-separated data file."""
    groups = defaultdict(lambda: ([], ""))
    for line in path.read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        word, group, *rest = line.split("\t")
        words, deviation = groups[group]
        groups[group] = (words + [word], deviation or "".join(rest))
    return dict(groups)


def conflated(stemmer, groups):
    return sorted(
        g for g, (words, _) in groups.items() if len({analyzed(stemmer, w) for w in words}) == 1
    )


GROUPS = load_groups()


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_savoy_example_groups_conflate_unless_a_deviation_says_why(group):
    words, deviation = GROUPS[group]
    stems = {w: analyzed("light", w) for w in words}
    if deviation:
        assert deviation.startswith("deviation: ")
        assert len(set(stems.values())) > 1, f"{group} conflates now: drop its deviation"
    else:
        assert len(set(stems.values())) == 1, stems


def test_how_many_savoy_groups_each_stemmer_conflates():
    assert len(GROUPS) == 31
    counts = {s: len(conflated(s, GROUPS)) for s in ("light", "snowball", "minimal")}
    assert counts == {"light": 30, "snowball": 17, "minimal": 5}


@pytest.mark.parametrize(
    "words, stem",
    [
        ("réseaux réseau", "reseau"),
        ("nouveaux nouveau", "nouveau"),
        ("niveaux niveau", "niveau"),
        ("bureaux bureau", "bureau"),
        ("drapeaux drapeau", "drapeau"),
        ("châteaux château chateaux", "chateau"),
        ("peaux peau", "peau"),
        ("anneaux anneau", "anneau"),
        ("travaux travail travaille travailler", "travail"),
        ("chevaux cheval", "cheval"),
        ("généraux général générale", "general"),
        ("internationaux international internationale", "international"),
    ],
)
def test_plurals_in_x_meet_their_singular(words, stem):
    assert [analyzed("light", w) for w in words.split()] == [(stem,)] * len(words.split())


def test_minimal_stemmer_no_longer_turns_eaux_into_eal():
    assert stems("minimal", "reseaux reseau nouveaux travaux") == [
        "reseau",
        "reseau",
        "nouveau",
        "travail",
    ]


@pytest.mark.parametrize(
    "apart",
    [
        "marche mars mari",  # marché and marche are one word once folded
        "etat etage",
        "president presidence",
        "guerre guère",
        "mari mars",
        "centre cent",
        "maire mai",
        "poisson poison",
        "prix prier",
        "voix voie",
        "sénateur sens",
        "organisation organe",
        "fille fil",
    ],
)
def test_frequent_words_stay_apart(apart):
    words = apart.split()
    assert len({analyzed("light", w) for w in words}) == len(words)


@pytest.mark.parametrize(
    "together",
    [
        "marie mari",
        "president presidente presidents",
        "guerre guerres",
        "russe russes",
        "russie russies",
        "majeur majeure",
        "publié publier publiée",
        "organisation organiser organisé",
        "sénateur sénat",
        "active actif activement",
        "professionnel professionnelle profession",
    ],
)
def test_related_forms_meet(together):
    assert len({analyzed("light", w) for w in together.split()}) == 1


def test_numbers_are_never_stemmed():
    assert stems("light", "1000 2024 22hh00 f35s") == ["1000", "2024", "22hh00", "f35s"]


def test_accents_do_not_change_the_stem():
    typed = "premiere premieres complete caissiere chantes eduquer"
    written = "première premières complète caissière chantés éduquer"
    assert [analyzed("light", w) for w in typed.split()] == [
        analyzed("light", w) for w in written.split()
    ]
