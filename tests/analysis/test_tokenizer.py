from nato_search.text.tokenizer import FrenchTokenizer

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


def test_the_simpler_patterns_find_the_same_words_wherever_they_are_chosen():
    """Texts without an underscore or a combining mark are split by a simpler pattern, and
    texts without a digit group by one without grouped numbers."""
    import random
    from pathlib import Path

    from nato_search.text.tokenizer import _PATTERNS, word_pattern

    full = _PATTERNS[False, True][0]
    rng = random.Random(7)
    seeds = [p.read_text("utf-8") for p in sorted(Path("seeds").glob("*.txt"))]
    alphabet = "aé’'-‐‑ _.,«»²½Ⅻǅßﬁ٣\u0301\u0903\u093e\u200d\u00a0\u202f\t\n" + "".join(
        chr(rng.randrange(0x20, 0x3000)) for _ in range(400)
    )
    texts = seeds + ["".join(rng.choices(alphabet, k=80)) for _ in range(3000)]
    digits = "0123456789" * 8 + " .,\u00a0\u202fa_\u0301"
    texts += ["".join(rng.choices(digits, k=40)) for _ in range(1000)]
    chosen = {key: 0 for key in _PATTERNS}
    for text in texts:
        pattern = word_pattern(text)
        assert pattern.findall(text) == full.findall(text), text
        chosen[next(key for key, (p, _) in _PATTERNS.items() if p is pattern)] += 1
    assert min(chosen.values()) >= 50, chosen  # every pattern was exercised
    assert word_pattern("mot_clé") is _PATTERNS[False, False][0]
    assert word_pattern("re\u0301ussi 13 000") is full


def test_numbers_in_groups_of_three_digits_are_one_word():
    text = "13 000 soldats, 16.000 réfugiés, 2\u202f500\u00a0000 habitants et 1 500,5 km"
    assert stream(FrenchTokenizer(), text) == [
        ("13 000", 0, 6),
        ("soldats", 7, 14),
        ("16.000", 16, 22),
        ("réfugiés", 23, 31),
        ("2\u202f500\u00a0000", 33, 42),
        ("habitants", 43, 52),
        ("et", 53, 55),
        ("1 500", 56, 61),  # a decimal comma ends the number
        ("5", 62, 63),
        ("km", 64, 66),
    ]


def test_digits_that_are_not_grouped_thousands_stay_apart():
    # a year then a number; a four-digit group; a date; an English decimal; a word's digits
    text = "en 2014 300 morts, 1 5000, 12.03.2020, 3.5 et F16 000"
    assert [t for t, *_ in stream(FrenchTokenizer(), text)] == [
        "en",
        "2014",
        "300",
        "morts",
        "1",
        "5000",
        "12",
        "03",
        "2020",
        "3",
        "5",
        "et",
        "F16",
        "000",
    ]


def test_a_grouped_number_is_one_term_however_it_is_written():
    from nato_search.text.analyzer import analyze

    for written in ("13 000", "13.000", "13\u202f000", "13\u00a0000", "13000"):
        assert analyze(f"{written} soldats") == [
            ("13000", 0, 0, len(written)),
            ("soldat", 1, len(written) + 1, len(written) + 8),
        ]


def test_a_format_character_inside_a_word_keeps_it_one_word():
    text = "muni\u00adtions \u200bOTAN l’\u2060Ukraine fin\u00ad ok"
    assert stream(FrenchTokenizer(), text) == [
        ("muni\u00adtions", 0, 10),
        ("\u200bOTAN", 11, 16),
        ("l’\u2060Ukraine", 17, 27),
        ("fin", 28, 31),  # a soft hyphen ending a word is not part of it
        ("ok", 33, 35),
    ]
    # never a word of its own, so it takes no position between two words
    assert stream(FrenchTokenizer(), "a \u200b\u00ad b") == [("a", 0, 1), ("b", 5, 6)]
