import pickle

from whoosh.analysis import LowercaseFilter

from nato_search.text.analyzer import WordCachedAnalyzer, french_analyzer
from nato_search.text.filters import (
    CompoundFilter,
    ElisionFilter,
    FoldFilter,
    NormalizeFilter,
    StemFilter,
    StopFilter,
)
from nato_search.text.tokenizer import FrenchTokenizer

TEXT = (
    "Le Conseil OTAN-Ukraine s’est réuni ; l’Ukraine a-t-il dit, « les Alliés, les Alliés ! » "
    "jusqu’à Bosnie-Herzégovine, ﬁnance 2024"
)


def plain_chain():
    return (
        FrenchTokenizer()
        | ElisionFilter()
        | CompoundFilter()
        | NormalizeFilter()
        | LowercaseFilter()
        | FoldFilter()
        | StopFilter()
        | StemFilter("light")
    )


def stream(analyzer, text, **kwargs):
    return [
        (t.text, t.pos, t.startchar, t.endchar, t.stopped)
        for t in analyzer(text, positions=True, chars=True, **kwargs)
    ]


def test_cached_chain_gives_the_plain_chains_stream():
    cached = french_analyzer("light")
    assert stream(cached, TEXT) == stream(plain_chain(), TEXT)
    assert stream(cached, TEXT) == stream(cached, TEXT)  # the second run is from the cache


def test_offsets_and_positions_follow_start_char_and_start_pos():
    cached = french_analyzer("light")
    shifted = stream(cached, "l’Ukraine unie", start_pos=10, start_char=100)
    assert shifted == [("ukrain", 10, 102, 109, False), ("unie", 11, 110, 114, False)]


def test_kept_stopwords_hold_their_place_without_taking_a_position():
    cached = french_analyzer("light")
    assert stream(cached, "les munitions", removestops=False) == stream(
        plain_chain(), "les munitions", removestops=False
    )


def test_cache_is_bounded_and_not_pickled():
    cached = WordCachedAnalyzer(FrenchTokenizer(), LowercaseFilter(), cache_size=3)
    list(cached("un deux trois quatre cinq"))
    assert len(cached._cache) <= 3
    copy = pickle.loads(pickle.dumps(cached))
    assert copy._cache == {} and copy == cached
    assert [t.text for t in copy("Un Deux")] == ["un", "deux"]


def test_spans_give_the_token_stream_as_tuples():
    """Highlighting reads ``spans``; it must be the analyzer's own stream, field break,
    stopwords, compounds, elisions and index-mode name filtering included."""
    from nato_search.text.names import names_analyzer
    from nato_search.text.tokenizer import FIELD_BREAK

    text = f"Le titre de Kouleba{FIELD_BREAK}{TEXT} Zelensky et l’OTAN"
    for analyzer in (french_analyzer(), french_analyzer("snowball"), names_analyzer()):
        for mode in ("query", "index"):
            stream = [
                (t.text, t.pos, t.startchar, t.endchar)
                for t in analyzer(text, positions=True, chars=True, mode=mode)
            ]
            assert analyzer.spans(text, mode) == stream
            assert len(stream) > 3


def test_spans_learn_a_texts_new_words_in_one_run_even_past_the_cache_bound():
    small = french_analyzer("light")
    small.cache_size = 3
    expected = french_analyzer("light").spans(TEXT)
    assert small.spans(TEXT) == expected
    assert small.spans("les Alliés " + TEXT) == french_analyzer("light").spans("les Alliés " + TEXT)


class _OtherTokenizer(FrenchTokenizer):
    """Same words, but not the tokenizer the word-items path knows: the token-stream path."""


def test_word_items_give_what_the_token_stream_chain_gives():
    """The cache learns words through each filter's ``texts`` method; it must give the
    tokens, offsets and drops of the token-stream chain, for every analyzer and mode."""
    import unicodedata
    from pathlib import Path

    from nato_search.text.names import names_analyzer
    from nato_search.text.tokenizer import words as words_of

    seeds = " ".join(p.read_text("utf-8") for p in sorted(Path("seeds").glob("*.txt")))
    hostile = "l’ l' qu’il jusqu’au d’Œuvre A-t-il -x- ﬁnance ⅱ ∰ ÉTÉ Straße ǅemal 12_3 Ⅻ ß’ﬀ"
    hostile += " 13 000 16.000 2\u202f500\u00a0000 1 500,5 Né né"
    text = " ".join([seeds, unicodedata.normalize("NFD", seeds[:4000]), hostile, TEXT])
    words = list(dict.fromkeys(words_of(text)))
    assert len(words) > 700 and "13 000" in words and "2\u202f500\u00a0000" in words
    analyzers = [french_analyzer(s) for s in ("none", "minimal", "light", "snowball")]
    for analyzer in [*analyzers, names_analyzer()]:
        reference = WordCachedAnalyzer(_OtherTokenizer(), *analyzer.filters)
        for mode in ("index", "query"):
            items = analyzer._word_items(words, mode)
            assert items == reference._word_items(words, mode)
            assert len(items) > 50


def test_a_filter_subclass_that_changes_only_its_stream_is_learned_by_the_stream():
    """Its inherited ``texts`` would not do what its ``__call__`` does."""

    class NoOtan(StopFilter):
        def __call__(self, tokens):
            return (t for t in super().__call__(tokens) if t.text != "otan")

    filters = [NoOtan() if type(f) is StopFilter else f for f in french_analyzer().filters]
    analyzer = WordCachedAnalyzer(FrenchTokenizer(), *filters)
    assert [t for t, *_ in analyzer.spans("l’OTAN et l’Ukraine")] == ["ukrain"]
    assert list(analyzer.term_positions("l’OTAN et l’Ukraine")) == ["ukrain"]


def _matched_by_spans(analyzer, text, terms, mode):
    return [(start, end) for term, _, start, end in analyzer.spans(text, mode) if term in terms]


def _some_terms(analyzer, text, mode):
    terms = [t for t, *_ in analyzer.spans(text, mode)]
    return [set(terms[::3]), set(terms), {"absent"}, set()]


def test_matched_marks_what_spans_mark_cold_and_warm():
    """Highlighting reads ``matched``: the offsets of ``spans`` whose term is wanted, every
    occurrence of every wanted word, whether its words were known before or not."""
    import unicodedata

    from nato_search.text.names import names_analyzer
    from nato_search.text.tokenizer import FIELD_BREAK

    texts = [
        TEXT,
        f"Le titre de Kouleba{FIELD_BREAK}{TEXT} Zelensky et l’OTAN, l’OTAN !",
        unicodedata.normalize("NFD", TEXT) + " mot_clé d’_Ukraine",
        "",
        "« … »",
    ]
    for make in (french_analyzer, lambda: french_analyzer("snowball"), names_analyzer):
        reference = make()
        for mode in ("query", "index"):
            cached = make()
            for text in texts * 2:  # the second time from the cache
                for terms in _some_terms(reference, text, mode):
                    expected = _matched_by_spans(reference, text, terms, mode)
                    assert cached.matched(text, terms, mode) == expected
    ukraine = [(a, b) for a, b in french_analyzer().matched(TEXT, {"ukrain"}, "query")]
    assert [TEXT[a:b] for a, b in ukraine] == ["Ukraine", "Ukraine"]


def test_matched_stays_exact_when_the_cache_is_emptied_under_it():
    """A bound of a few words empties the cache on most texts, from several threads at once."""
    import sys
    import threading

    texts = [f"{TEXT} numéro {i} ; les Alliés {i % 7} et l’Ukraine {i % 3}" for i in range(300)]
    reference = french_analyzer()
    expected = [_matched_by_spans(reference, t, {"allie", "ukrain", "3"}, "query") for t in texts]
    shared = french_analyzer()
    shared.cache_size = 40
    failures = []

    def work(offset):
        for i in range(len(texts)):
            j = (i + offset) % len(texts)
            if shared.matched(texts[j], {"allie", "ukrain", "3"}) != expected[j]:
                failures.append(j)

    threads = [threading.Thread(target=work, args=(k * 37,)) for k in range(6)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns as often as they can
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert not failures
    assert shared._clears > 10
