from nato_search.text.filters import CompoundFilter, ElisionFilter
from nato_search.text.tokenizer import FrenchTokenizer

chain = FrenchTokenizer() | ElisionFilter() | CompoundFilter()


def tokens(text):
    return [
        (t.text, t.pos, t.startchar, t.endchar) for t in chain(text, positions=True, chars=True)
    ]


def test_compound_parts_get_their_own_offsets_and_consecutive_positions():
    assert tokens("Conseil OTAN-Ukraine réuni") == [
        ("Conseil", 0, 0, 7),
        ("OTAN", 1, 8, 12),
        ("Ukraine", 2, 13, 20),
        ("réuni", 3, 21, 26),
    ]


def test_split_after_elision_and_with_unicode_hyphens():
    assert tokens("l’Indo-Pacifique Bosnie‐Herzégovine a‑t‑il") == [
        ("Indo", 0, 2, 6),
        ("Pacifique", 1, 7, 16),
        ("Bosnie", 2, 17, 23),
        ("Herzégovine", 3, 24, 35),
        ("a", 4, 36, 37),
        ("t", 5, 38, 39),
        ("il", 6, 40, 42),
    ]
