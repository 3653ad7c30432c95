import pytest

from nato_search.text.filters import ElisionFilter
from nato_search.text.tokenizer import FrenchTokenizer

from .helpers import stream

chain = FrenchTokenizer() | ElisionFilter()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("l’Ukraine", ("Ukraine", 2, 9)),
        ("L'Alliance", ("Alliance", 2, 10)),
        ("dʼœuvrer", ("œuvrer", 2, 8)),
        ("D‘accord", ("accord", 2, 8)),
        ("qu’ils", ("ils", 3, 6)),
        ("QU'IL", ("IL", 3, 5)),
        ("jusqu’à", ("à", 6, 7)),
        ("lorsqu’elle", ("elle", 7, 11)),
        ("puisqu’on", ("on", 7, 9)),
        ("quoiqu’il", ("il", 7, 9)),
        ("s’associe", ("associe", 2, 9)),
        ("c’est", ("est", 2, 5)),
        ("n’a", ("a", 2, 3)),
        ("j’ai", ("ai", 2, 4)),
        ("m’a", ("a", 2, 3)),
        ("t’en", ("en", 2, 4)),
    ],
)
def test_elided_prefix_is_dropped_and_start_moves_past_it(text, expected):
    assert stream(chain, text) == [expected]


def test_words_that_merely_contain_an_apostrophe_stay_whole():
    assert stream(chain, "aujourd’hui presqu’île") == [
        ("aujourd’hui", 0, 11),
        ("presqu’île", 12, 22),
    ]


def test_only_the_first_elision_is_dropped_from_a_compound():
    assert stream(chain, "l’Indo-Pacifique") == [("Indo-Pacifique", 2, 16)]
