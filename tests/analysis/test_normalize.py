from nato_search.analysis import FrenchTokenizer, NormalizeFilter

from .helpers import stream

chain = FrenchTokenizer() | NormalizeFilter()


def test_nfkc_composes_accents_and_expands_ligatures_without_moving_offsets():
    text = "re\u0301silience ﬁnance"
    assert stream(chain, text) == [("résilience", 0, 11), ("finance", 12, 18)]


def test_oe_ligature_is_a_letter_not_a_compatibility_form():
    assert stream(chain, "œuvre") == [("œuvre", 0, 5)]
