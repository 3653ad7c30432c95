from nato_search.analysis import FrenchTokenizer

from .helpers import stream


def test_words_keep_inner_apostrophes_and_hyphens_with_exact_offsets():
    text = "L’Ukraine, a-t-il dit « aujourd’hui » (OTAN-Ukraine)."
    assert stream(FrenchTokenizer(), text) == [
        ("L’Ukraine", 0, 9),
        ("a-t-il", 11, 17),
        ("dit", 18, 21),
        ("aujourd’hui", 24, 35),
        ("OTAN-Ukraine", 39, 51),
    ]


def test_punctuation_underscores_and_edge_hyphens_separate_words():
    assert [t for t, *_ in stream(FrenchTokenizer(), "-mot_clé- 40,5 % d'")] == [
        "mot",
        "clé",
        "40",
        "5",
        "d",
    ]


def test_decomposed_accents_stay_inside_the_word():
    text = "re\u0301silience"  # e + combining acute accent
    assert stream(FrenchTokenizer(), text) == [(text, 0, 11)]
    marks = "\u0301\u0302 e\u0301\u0301t\u0301e\u0301-\u0301a l\u0301'\u0301x _\u0301_"
    assert [t for t, *_ in stream(FrenchTokenizer(), marks)] == [
        "\u0301\u0302",
        "e\u0301\u0301t\u0301e\u0301-\u0301a",
        "l\u0301'\u0301x",
        "\u0301",
    ]


def test_words_are_found_in_linear_time_however_they_are_built():
    """Words are matched as runs of letters or of marks: no split of a run is retried."""
    import time

    for text in ["a\u0301" * 100_000, "a'" * 100_000 + "'", ("x" * 50 + "-") * 4000 + "!"]:
        started = time.perf_counter()
        assert len(list(FrenchTokenizer()(text))) == 1
        assert time.perf_counter() - started < 1.0


def test_positions_count_words():
    tokens = FrenchTokenizer()("un deux trois", positions=True)
    assert [t.pos for t in tokens] == [0, 1, 2]
