from whoosh.analysis import LowercaseFilter

from nato_search.analysis import FoldFilter, FrenchTokenizer, StopFilter, load_stopwords

chain = FrenchTokenizer() | LowercaseFilter() | FoldFilter() | StopFilter()


def test_packaged_list_is_the_snowball_list_plus_interrogatives_in_folded_form():
    words = load_stopwords()
    assert len(words) == 178  # 182 listed; été/ete, même/meme… fold onto fewer
    assert {"le", "les", "ils", "de", "ete", "etaient", "a", "qu", "meme", "cela"} <= words
    assert {"quand", "comment", "pourquoi", "combien", "lequel", "dont"} <= words
    assert "été" not in words and "ukraine" not in words


def test_stopwords_are_removed_and_positions_close_the_gap():
    tokens = [
        (t.text, t.pos) for t in chain("Les ministres des Affaires étrangères", positions=True)
    ]
    assert tokens == [("ministres", 0), ("affaires", 1), ("etrangeres", 2)]


def test_accented_and_unaccented_stopwords_both_go():
    assert [t.text for t in chain("À Était a ETE OTAN")] == ["otan"]
