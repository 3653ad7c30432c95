import pytest

from nato_search.text.analyzer import analyze
from nato_search.text.names import name_key, names_analyzer


@pytest.mark.parametrize(
    "french, english",
    [
        ("kouleba", "kuleba"),
        ("oumierov", "umerov"),
        ("boutcha", "bucha"),
        ("poutine", "putin"),
        ("zelensky", "zelenskyy"),
        ("zelenski", "zelenskiy"),
        ("chevtchenko", "shevchenko"),
        ("kharkiv", "harkiv"),
        ("volodymyr", "wolodymyr"),
    ],
)
def test_transliterations_share_a_key(french, english):
    assert name_key(french) == name_key(english)


def test_exact_keys():
    assert [name_key(w) for w in ("poutine", "boutcha", "oumierov", "stoltenberg")] == [
        "putin",
        "busha",
        "umerov",
        "stoltenberg",
    ]


def test_short_words_and_numbers_have_no_key():
    assert name_key("otan") == "otan" and name_key("ue") == "" and name_key("2024") == ""


def test_documents_key_only_capitalized_words_with_their_offsets():
    text = "Le ministre Roustem Oumierov est allé à Boutcha."
    tokens = [(t.text, t.startchar, t.endchar) for t in names_analyzer()(text, chars=True)]
    assert tokens == [("rustem", 12, 19), ("umerov", 20, 28), ("busha", 40, 47)]


def test_queries_key_every_word():
    assert [t for t, *_ in analyze("oumierov à boutcha", names_analyzer())] == ["umerov", "busha"]
