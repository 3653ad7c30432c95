"""Forgiving queries on the seeds: typos, did-you-mean, name variants, synonyms, and switching them off."""

import pytest
from conftest import SEEDS

import nato_search
from nato_search import RankingSettings
from nato_search.query.expansion import Synonyms, max_edits

FUZZY_WEIGHT = RankingSettings().fuzzy_weight


def where(results):
    return [(hit.doc_id[:3], hit.paragraph) for hit in results]


def marked(hit):
    return [hit.text[start:end] for start, end in hit.highlights]


# --- typo tolerance and did-you-mean --------------------------------------


def test_a_misspelled_word_finds_the_real_one_and_marks_it(seeds_index):
    results = seeds_index.search("munitons")
    assert where(results) == [("003", 1), ("002", 1)]
    assert [marked(hit) for hit in results] == [["munitions"], ["munitions"]]
    assert results.suggestion == "munitions"


def test_a_misspelled_name_gets_a_suggestion_in_its_written_form(seeds_index):
    results = seeds_index.search("Stoltemberg")
    assert results.suggestion == "Stoltenberg"
    assert results.total == 6 and all(marked(hit) for hit in results)
    assert {word for hit in results for word in marked(hit)} == {"Stoltenberg"}


def test_the_suggestion_keeps_the_rest_of_the_query_as_typed(seeds_index):
    results = seeds_index.search("les munitons de l'OTAN")
    assert results.suggestion == "les munitions de l'OTAN"
    assert where(results)[:2] == [("003", 1), ("002", 1)]


def test_words_without_accents_are_not_typos(seeds_index):
    results = seeds_index.search("interoperabilite")
    assert results.suggestion is None
    assert where(results) == [("000", 3)] and marked(results[0]) == ["interopérabilité"] * 2


def test_a_known_word_is_never_fuzzed_away(seeds_index):
    # "missiles" exists, so it must not also match its neighbours at one edit.
    results = seeds_index.search("missiles")
    assert results.suggestion is None
    assert {word.lower() for hit in results for word in marked(hit)} == {"missiles"}


def test_short_words_are_not_corrected(seeds_index):
    assert seeds_index.search("otam").total == 0


@pytest.mark.parametrize(
    "word, edits", [("otan", 0), ("munitons", 1), ("Stoltemberg", 2), ("défense", 1), ("l’aide", 1)]
)
def test_edits_allowed_grow_with_word_length(word, edits):
    assert max_edits(word) == edits


@pytest.fixture(scope="module", params=["light", "snowball", "minimal", "none"])
def stemmed_seeds(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    with nato_search.build_index(SEEDS, folder / "ix", stemmer=request.param) as ix:
        yield ix


@pytest.mark.parametrize(
    "typed, written, top",
    [
        ("munitons", "munitions", [("003", 1), ("002", 1)]),
        ("Stoltemberg", "Stoltenberg", [("001", 1), ("002", 2), ("003", 1)]),
        ("internationalemnt", "internationalement", [("000", 2)]),
    ],
)
def test_every_stemmer_corrects_a_typo_by_the_words_as_written(stemmed_seeds, typed, written, top):
    """Snowball's stem of munitions is munit, two edits from the typo's muniton, and the
    light stem of internationalement is international: the words as written are still
    one or two edits from what was typed."""
    results = stemmed_seeds.search(typed)
    assert results.suggestion == written
    assert where(results)[: len(top)] == top
    assert {word for hit in results for word in marked(hit)} == {written}


def test_a_typo_far_from_every_word_as_written_stays_unknown(stemmed_seeds):
    results = stemmed_seeds.search("mumitons")  # two edits from munitions, one allowed
    assert results.total == 0 and results.suggestion is None


def test_fuzzy_off_matches_exactly_but_still_suggests(seeds_index):
    results = seeds_index.search("munitons", fuzzy=False)
    assert results.total == 0 and results.suggestion == "munitions"


# --- name variants ----------------------------------------------------------


@pytest.mark.parametrize(
    "query, written, top",
    [
        ("Kuleba", "Kuleba", ("002", 3)),
        ("Kouleba", "Kouleba", ("001", 1)),
        ("Umerov", "Oumierov", ("003", 3)),
        ("Bucha", "Boutcha", ("001", 1)),
        ("Putin", "Poutine", ("001", 0)),
    ],
)
def test_other_transliterations_of_a_name_meet(seeds_index, query, written, top):
    results = seeds_index.search(query)
    assert where(results)[0] == top and marked(results[0]) == [written]


def test_the_exact_spelling_ranks_above_a_variant(seeds_index):
    results = seeds_index.search("Kuleba")
    assert where(results) == [("002", 3), ("001", 1)]
    assert results[0].score > results[1].score
    assert [marked(hit) for hit in results] == [["Kuleba"], ["Kouleba"]]


def test_a_name_key_is_searched_only_when_another_spelling_exists(seeds_index):
    # Every "Stoltenberg" is spelled alike and "défense" is no name: the key would add
    # nothing, so results and scores are those of names=False.
    for query in ("Stoltenberg", "défense"):
        with_key = [(h.doc_id, h.paragraph, h.score) for h in seeds_index.search(query, limit=50)]
        without = [
            (h.doc_id, h.paragraph, h.score)
            for h in seeds_index.search(query, limit=50, names=False)
        ]
        assert with_key == without and with_key


def test_names_off_keeps_only_the_exact_spelling(seeds_index):
    assert where(seeds_index.search("Kuleba", names=False)) == [("002", 3)]
    assert seeds_index.search("Bucha", names=False, fuzzy=False).total == 0


# --- synonyms and acronyms --------------------------------------------------


def test_an_english_acronym_finds_the_french_one(seeds_index):
    nato = seeds_index.search("NATO", limit=50)
    otan = seeds_index.search("OTAN", limit=50)
    assert nato.total == otan.total == 21
    assert set(where(nato)) == set(where(otan))
    assert set(marked(nato[0])) == {"OTAN"}


def test_an_acronym_finds_the_phrase_it_stands_for(seeds_index):
    results = seeds_index.search("UE")
    assert where(results) == [("002", 3), ("001", 2)]
    assert marked(results[0]) == ["Union", "européenne"]


def test_a_phrase_typed_as_words_finds_its_acronym_group(seeds_index):
    assert where(seeds_index.search("union européenne")) == where(seeds_index.search("UE"))


def test_synonyms_off(seeds_index):
    assert seeds_index.search("NATO", synonyms=False, fuzzy=False).total == 0


def test_users_extend_the_synonyms_with_their_own_file(tmp_path):
    extra = tmp_path / "mine.txt"
    extra.write_text("# my own\nobus, munitions\n", "utf-8")
    with nato_search.build_index(SEEDS, tmp_path / "ix") as ix:
        assert ix.search("obus").total == 0
    with nato_search.open_index(tmp_path / "ix", synonyms=[extra]) as ix:
        assert where(ix.search("obus")) == [("003", 1), ("002", 1)]


def test_synonym_entries_are_analyzed_like_queries():
    analyze = lambda text: text.lower().split()  # noqa: E731
    table = Synonyms([["OTAN", "NATO", "Alliance atlantique"], ["x"]], analyze)
    assert [t.text for t in table.alternatives(("nato",))] == ["OTAN", "Alliance atlantique"]
    assert [t.terms for t in table.alternatives(("alliance", "atlantique"))] == [
        ("otan",),
        ("nato",),
    ]
    assert table.alternatives(("x",)) == [] and table.longest == 2


def test_an_unreadable_synonyms_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"caf\xe9, coffee\n")
    with pytest.raises(ValueError, match="bad.txt"):
        nato_search.open_index(synonyms=[bad])


# --- exclusions inside groups ---------------------------------------------------------------------


class FakeLexicon:
    """Knows ``ukrain`` and ``russi``; every other word is a typo of ``munition``."""

    def known(self, term):
        return term in ("ukrain", "russi")

    def frequency(self, term, field="words"):
        return 1

    def similar(self, term, max_edits):
        return [("munition", 1, 2)]

    def surface(self, term):
        return "munitions"

    def similar_written(self, typed, max_edits):
        raise AssertionError("only where no stem is near")


def expander(synonyms=None):
    from nato_search.query.expansion import Expander, Expansion

    return Expander(
        FakeLexicon(), synonyms, lambda text: [], Expansion(names=False), RankingSettings()
    )


def test_an_excluded_clause_in_a_group_gets_synonyms_only():
    from nato_search.query.syntax import AllOf, AnyOf, Terms, Variants, parse
    from nato_search.text.analyzer import analyze as analyze_with

    def terms_of(text):
        return [t for t, *_ in analyze_with(text)]

    synonyms = Synonyms([["Russie", "Fédération de Russie"]], terms_of)
    query = parse("alliance OR (ukraine -russie -munitons)", terms_of)
    expanded = expander(synonyms).expand(query)
    russie = Terms("russie", ("russi",))
    assert expanded.include == [
        AnyOf(
            (
                Variants(
                    (
                        Terms("alliance", ("allianc",)),  # unknown: corrected
                        Terms("alliance", ("munition",), weight=FUZZY_WEIGHT),
                    )
                ),
                AllOf(
                    (Terms("ukraine", ("ukrain",)),),
                    (
                        Variants((russie, Terms("Fédération de Russie", ("fed", "russi")))),
                        Terms("munitons", ("muniton",)),  # excluded: never corrected
                    ),
                ),
            )
        )
    ]
    assert expanded.exclude == []
    assert {t.text for t in expanded.terms()} == {"alliance", "ukraine"}


def test_an_excluded_group_keeps_its_own_exclusions():
    from nato_search.query.syntax import AllOf, Terms

    excluded = AllOf((Terms("ukraine", ("ukrain",)),), (Terms("munitons", ("muniton",)),))
    assert expander().with_synonyms(excluded) == excluded
