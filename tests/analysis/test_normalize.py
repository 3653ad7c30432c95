from nato_search.text.filters import NormalizeFilter
from nato_search.text.tokenizer import FrenchTokenizer

from .helpers import stream

chain = FrenchTokenizer() | NormalizeFilter()


def test_nfkc_composes_accents_and_expands_ligatures_without_moving_offsets():
    text = "re\u0301silience ﬁnance"
    assert stream(chain, text) == [("résilience", 0, 11), ("finance", 12, 18)]


def test_oe_ligature_is_a_letter_not_a_compatibility_form():
    assert stream(chain, "œuvre") == [("œuvre", 0, 5)]


def test_format_characters_inside_a_word_are_dropped_and_offsets_cover_the_word():
    # soft hyphen, zero-width space, zero-width non-joiner, word joiner, right-to-left mark
    for mark in ("\u00ad", "\u200b", "\u200c", "\u2060", "\u200f"):
        text = f"les muni{mark}tions"
        assert stream(chain, text) == [("les", 0, 3), ("munitions", 4, 14)]


def test_format_characters_are_every_unicode_format_character():
    """The listed class holds each character of category Cf that this Python knows, and
    nothing Python calls a letter, a mark, a digit or a space."""
    import re
    import sys
    import unicodedata

    from nato_search.text.tokenizer import FORMAT_CHARACTERS

    listed = re.compile(f"[{FORMAT_CHARACTERS}]")
    for code in range(sys.maxunicode + 1):
        category = unicodedata.category(chr(code))
        if category == "Cf":
            assert listed.match(chr(code)), f"U+{code:04X} is a format character"
        elif listed.match(chr(code)):
            assert category == "Cn", f"U+{code:04X} is {category}, not a format character"
