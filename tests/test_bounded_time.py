"""No word, however long, and no query, however many typos, makes typo work unbounded."""

import time

import pytest

from nato_search import RankingSettings
from nato_search.engines.whoosh.engine import WhooshSnapshot
from nato_search.query.expansion import Expander, Expansion

MAX_FUZZY_LETTERS = RankingSettings().max_fuzzy_letters
MAX_FUZZY_WORDS = RankingSettings().max_fuzzy_words

WORDS = "munitions défense aérienne Ukraine OTAN Stoltenberg sommet alliés".split()
HOSTILE = {
    "a word of 18,000 letters": "a" * 18_000,
    "l'a 2000 times": "l'a" * 2000,
    "a 1 MB query of words": " ".join(WORDS[i % len(WORDS)] for i in range(140_000))[:1_000_000],
    "64 distinct typos": " ".join(
        f"munitons{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(64)
    ),
    "64 random 30-letter words": " ".join(
        "".join("abcdefghilmnoprstuv"[(i * 7 + j * 13 + i * j) % 19] for j in range(30))
        for i in range(64)
    ),
}


@pytest.fixture
def lookups(monkeypatch):
    """The terms every ``similar()`` call of the seeds' engine is asked about."""
    asked = []
    original = WhooshSnapshot.similar

    def recording(self, term, max_edits):
        asked.append(term)
        return original(self, term, max_edits)

    monkeypatch.setattr(WhooshSnapshot, "similar", recording)
    return asked


@pytest.mark.parametrize("fuzzy", [True, False], ids=["fuzzy", "exact"])
@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_query_takes_under_a_second(seeds_index, name, fuzzy):
    # CPU time of this thread: the work done, not the wait for a machine busy elsewhere.
    started = time.thread_time()
    results = seeds_index.search(HOSTILE[name], fuzzy=fuzzy)
    assert time.thread_time() - started < 1.0
    assert results.total >= len(results)


@pytest.mark.parametrize("fuzzy", [True, False], ids=["fuzzy", "exact"])
@pytest.mark.parametrize("query", ["a" * 18_000, "l'a" * 2000, "Stoltembergg" * 3])
def test_a_word_too_long_for_any_dictionary_is_not_looked_up(seeds_index, lookups, query, fuzzy):
    results = seeds_index.search(query, fuzzy=fuzzy)
    assert (lookups, results.suggestion, results.total) == ([], None, 0)


def test_the_longest_word_looked_up_has_max_fuzzy_letters(seeds_index, lookups):
    word = "internationalemnt" + "e" * (MAX_FUZZY_LETTERS - 17)
    assert len(word) == MAX_FUZZY_LETTERS
    seeds_index.search(word)
    seeds_index.search(word + "e")
    assert lookups == [seeds_index.analyze(word)[0]]


def test_a_long_real_word_with_a_typo_is_still_corrected(seeds_index):
    assert seeds_index.search("interoperabilte").suggestion == "interopérabilité"


def test_only_the_first_unknown_words_of_a_query_are_looked_up(seeds_index, lookups):
    typos = [f"munition{letter}x" for letter in "abcdefghijklmnopqrstuvwxyz"]  # 2 edits each
    results = seeds_index.search("OTAN " + " ".join(typos), fuzzy=False)
    assert lookups == [seeds_index.analyze(t)[0] for t in typos[:MAX_FUZZY_WORDS]]
    assert results.suggestion.split()[: MAX_FUZZY_WORDS + 2] == [
        "OTAN",
        *["munitions"] * MAX_FUZZY_WORDS,
        typos[MAX_FUZZY_WORDS],
    ]


def test_the_suggestion_replaces_each_typed_word_once_in_one_pass():
    expander = Expander(None, None, lambda text: [], Expansion(), RankingSettings())
    # A correction that is itself another typed word must not be corrected again.
    expander.corrections = {"munitons": "missils", "missils": "missiles"}
    text = "munitons missils " * 50_000
    started = time.thread_time()
    suggestion = expander.suggestion(text)
    assert time.thread_time() - started < 1.0
    assert suggestion == "missils missiles " * 50_000
