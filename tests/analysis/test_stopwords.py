from whoosh.analysis import LowercaseFilter

from nato_search.text.analyzer import french_analyzer
from nato_search.text.filters import FoldFilter, StopFilter, load_stopwords
from nato_search.text.tokenizer import FrenchTokenizer

chain = FrenchTokenizer() | LowercaseFilter() | FoldFilter() | StopFilter()


def test_packaged_list_is_the_snowball_list_plus_interrogatives_as_written():
    words = load_stopwords()
    assert len(words) == 185
    assert {"le", "les", "ils", "elles", "de", "été", "étaient", "à", "qu", "même", "cela"} <= words
    assert {"quand", "comment", "pourquoi", "combien", "lequel", "dont", "où", "là"} <= words
    assert "ete" not in words and "né" not in words and "ukraine" not in words


def test_stopwords_are_removed_and_positions_close_the_gap():
    tokens = [
        (t.text, t.pos) for t in chain("Les ministres des Affaires étrangères", positions=True)
    ]
    assert tokens == [("ministres", 0), ("affaires", 1), ("etrangeres", 2)]


def test_accented_and_unaccented_stopwords_both_go():
    assert [t.text for t in chain("À Était a ETE OTAN")] == ["otan"]


def test_an_accented_word_is_a_stopword_only_as_listed():
    analyzer = french_analyzer()
    terms = [t.text for t in analyzer("Où est né Hugo ? Il en est sûr, et c'est dû au maïs")]
    # né (born) is not ne, sûr not sur, dû not du; où, est, il, en, et, c', au go
    assert terms == ["ne", "hugo", "sur", "du", "mai"]


def test_a_word_typed_without_accents_is_matched_folded():
    analyzer = french_analyzer()
    assert [t.text for t in analyzer("ou etait ete ne sur du meme la OTAN")] == ["otan"]
    assert [t.text for t in analyzer("OÙ ÉTAIT ÉTÉ LÀ OTAN")] == ["otan"]
