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


def test_the_plain_pattern_finds_the_same_words_wherever_it_is_chosen():
    """Texts without an underscore or a combining mark are split by a simpler pattern."""
    import random
    from pathlib import Path

    from nato_search.analysis import _PLAIN_WORD, _WORD, word_pattern

    rng = random.Random(7)
    seeds = [p.read_text("utf-8") for p in sorted(Path("seeds").glob("*.txt"))]
    alphabet = "aé’'-‐‑ _.,«»²½Ⅻǅßﬁ٣\u0301\u0903\u093e\u200d\u00a0\t\n" + "".join(
        chr(rng.randrange(0x20, 0x3000)) for _ in range(400)
    )
    texts = seeds + ["".join(rng.choices(alphabet, k=80)) for _ in range(3000)]
    plain = 0
    for text in texts:
        pattern = word_pattern(text)
        assert pattern.findall(text) == _WORD.findall(text)
        plain += pattern is _PLAIN_WORD
    assert plain >= 100  # both patterns were exercised
    assert word_pattern("mot_clé") is _WORD and word_pattern("re\u0301ussi") is _WORD
