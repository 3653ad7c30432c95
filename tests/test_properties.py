"""Reliability: properties that hold for any text, any query and any highlights (hypothesis)."""

import html
import itertools
import random
import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import nato_search
from nato_search import Document, Results
from nato_search.text.analyzer import analyze, french_analyzer
from nato_search.text.names import names_analyzer
from nato_search.text.snippets import ELLIPSIS, make_snippet

PROPERTIES = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

FRENCH = french_analyzer()
NAMES = names_analyzer()

# Pieces of French text and the odd characters it carries: apostrophes ’ ' ʼ ‘, hyphens,
# accents (composed and combining), œ, ligatures, non-breaking spaces, emoji, NUL.
PIECES = [
    "l’",
    "d'",
    "qu’",
    "jusqu’",
    "lorsqu'",
    "aujourd’hui",
    "c’est",
    "s’",
    "n’",
    "l’l’",
    "OTAN-Ukraine",
    "Asie-Pacifique",
    "a-t-il",
    "-",
    "‐",
    "‑",
    "—",
    "–",
    "œuvre",
    "Œuvre",
    "d’œuvrer",
    "cœur",
    "ﬁnance",
    "ﬂotte",
    "ﬀ",
    "ǅ",
    "ß",
    "İstanbul",
    "e\u0301te\u0301",
    "\u0301",
    "\u0308",
    "Ukraine",
    "Stoltenberg",
    "Poutine",
    "Kouleba",
    "défense",
    "aérienne",
    "Alliés",
    "interopérabilité",
    "munitions",
    "les",
    "le",
    "de",
    "et",
    "«",
    "»",
    "\u00a0",
    "\u202f",
    "\u2007",
    " ",
    "\n",
    "\t",
    ".",
    ",",
    "!",
    "?",
    "…",
    "😀",
    "👍🏽",
    "\x00",
    "_",
    "’",
    "'",
    "ʼ",
    "‘",
    "(",
    ")",
    '"',
    ":",
    "2024",
    "155",
    "Ⅻ",
    "①",
    "٣",
    "中文",
    "Ελλάδα",
    "Москва",
    "\ufeff",
    "\u200b",
]
french_text = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=3)), max_size=40).map(
    "".join
)
any_text = st.one_of(st.text(), french_text)


def check_tokens(text, tokens):
    previous = -1
    for term, pos, start, end in tokens:
        assert term, (text, tokens)
        assert 0 <= start < end <= len(text), (text, term, start, end)
        assert pos >= previous, (text, tokens)
        previous = pos


@PROPERTIES
@given(any_text)
@example("l’OTAN-Ukraine d’œuvrer ﬁn e\u0301te\u0301 \x00 😀 aujourd’hui")
@example("jusqu’à l’l’a -‐‑ ʼ‘'’")
def test_the_analyzer_gives_nonempty_terms_with_offsets_inside_the_text(text):
    check_tokens(text, analyze(text, FRENCH))
    # As documents are indexed (index mode, stopwords removed) and as names are keyed.
    for analyzer in (FRENCH, NAMES):
        tokens = [
            (t.text, t.pos, t.startchar, t.endchar)
            for t in analyzer(text, positions=True, chars=True, mode="index")
        ]
        check_tokens(text, tokens)


@PROPERTIES
@given(any_text)
@example("")
@example("   \n\t\u00a0")
@example('"')
@example("((((((((((((((((((((((((((((((((((((((((")
@example('-OR OR - date: date:2024-13 a:b:c "unbalanced')
@example("Stoltemberg munition l'Ukraine")
def test_any_query_returns_results_and_highlights_that_mark_words(seeds_index, query):
    if not query.strip():  # a placeholder search: every paragraph
        assert seeds_index.search(query).total == len(seeds_index)
        return
    try:
        results = seeds_index.search(query)
    except ValueError as exc:  # only a date: filter that is no real period may fail
        assert re.search(r"(?i)date:\S*: ", str(exc)), exc
        return
    assert isinstance(results, Results)
    assert results.total >= len(results) and len(results) <= 10
    for hit in results:
        spans = hit.highlights
        assert spans == sorted(spans)
        assert all(0 <= s < e <= len(hit.text) for s, e in spans), spans
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), spans
        for s, e in spans:
            assert seeds_index.analyze(hit.text[s:e]), (query, hit.text[s:e])
        snippet = hit.snippet("html")
        assert "<" not in snippet.replace("<mark>", "").replace("</mark>", "")


# --- snippets -----------------------------------------------------------------------


@st.composite
def text_and_spans(draw, alphabet=None, trimmed=True):
    """A text and sorted, disjoint, non-empty spans inside it; ``trimmed`` spans neither
    start nor end with a space, like the analyzer's (the other kind: see
    test_make_snippet_never_raises_on_any_spans)."""
    text = draw(st.text(alphabet=alphabet, max_size=600) if alphabet is not None else any_text)
    cuts = sorted(set(draw(st.lists(st.integers(0, len(text)), max_size=20))))
    spans = []
    for s, e in zip(cuts[::2], cuts[1::2], strict=False):
        while trimmed and s < e and text[s].isspace():
            s += 1
        while trimmed and e > s and text[e - 1].isspace():
            e -= 1
        if s < e:
            spans.append((s, e))
    return text, spans


HOSTILE = st.sampled_from(
    [
        "<script>alert(1)</script>",
        "&amp;",
        "&",
        '"quotes"',
        "'single'",
        "<mark>",
        "</mark>",
        "<",
        ">",
        "<b>x</b>",
        "&lt;",
        " ",
        "mot",
        "défense",
        "…",
        "\n",
    ]
)
hostile_text = st.lists(st.one_of(HOSTILE, st.text(max_size=4)), max_size=80).map("".join)


def strip_marks(snippet):
    return snippet.replace("<mark>", "").replace("</mark>", "")


@PROPERTIES
@given(
    st.one_of(text_and_spans(), hostile_text.flatmap(lambda t: st.just((t, [])))),
    st.integers(1, 300),
    st.integers(1, 4),
)
def test_html_snippets_hold_no_markup_but_their_marks(case, max_chars, max_fragments):
    text, spans = case
    snippet = make_snippet(text, spans, "html", max_chars=max_chars, max_fragments=max_fragments)
    plain = strip_marks(snippet)
    assert "<" not in plain and ">" not in plain
    assert re.fullmatch(r"(?:[^<]*<mark>[^<]*</mark>)*[^<]*", snippet), snippet
    # Every fragment is the text, escaped.
    for fragment in html.unescape(plain).strip(ELLIPSIS).split(f" {ELLIPSIS} "):
        assert fragment in text


@settings(max_examples=200, deadline=None)
@given(hostile_text, st.data())
def test_html_snippets_of_hostile_text_escape_everything(text, data):
    cuts = sorted(set(data.draw(st.lists(st.integers(0, len(text)), max_size=10))))
    spans = [(s, e) for s, e in zip(cuts[::2], cuts[1::2], strict=False) if s < e]
    snippet = make_snippet(text, spans, "html", max_chars=10_000)
    assert snippet == "".join(
        f"<mark>{html.escape(text[s:e])}</mark>" if marked else html.escape(text[s:e])
        for s, e, marked in _pieces(text, spans)
    )


def _pieces(text, spans):
    pos = 0
    for s, e in spans:
        yield pos, s, False
        yield s, e, True
        pos = e
    yield pos, len(text), False


# Markers and the ellipsis kept out of the text, so that the snippet can be read back.
PLAIN = st.characters(blacklist_characters="[]…", blacklist_categories=("Cs",))


@PROPERTIES
@given(
    st.one_of(text_and_spans(alphabet=PLAIN), text_and_spans(alphabet="ab .\n\u00a0«»’-")),
    st.integers(1, 300),
    st.integers(1, 4),
)
def test_text_snippets_are_pieces_of_the_text_in_order_with_whole_spans_marked(
    case, max_chars, max_fragments
):
    text, spans = case
    snippet = make_snippet(text, spans, "text", max_chars=max_chars, max_fragments=max_fragments)
    if len(text) <= max_chars:
        assert snippet == "".join(
            f"[{text[s:e]}]" if marked else text[s:e] for s, e, marked in _pieces(text, spans)
        )
        return
    body = snippet.removeprefix(ELLIPSIS).removesuffix(ELLIPSIS)
    fragments = body.split(f" {ELLIPSIS} ")
    assert len(fragments) <= max_fragments
    pos = 0
    for fragment in fragments:
        marked = re.findall(r"\[([^\]]*)\]", fragment)
        assert all(piece in {text[s:e] for s, e in spans} for piece in marked), (marked, spans)
        plain = fragment.replace("[", "").replace("]", "")
        found = text.find(plain, pos)
        assert found >= 0, (plain, text)
        pos = found + len(plain)
    if not snippet.startswith(ELLIPSIS):
        assert not text[: text.find(fragments[0].replace("[", "").replace("]", ""))].strip()


@PROPERTIES
@given(
    st.one_of(
        text_and_spans(trimmed=False),
        st.tuples(
            any_text, st.lists(st.tuples(st.integers(-5, 700), st.integers(-5, 700)), max_size=12)
        ),
    ),
    st.integers(1, 100),
    st.integers(1, 3),
)
@example(("Les munitions arrivent.", [(4, 14)]), 12, 2)  # "munitions " with its space
@example(("0 ", [(0, 2)]), 1, 1)
def test_make_snippet_never_raises_on_any_spans(case, max_chars, max_fragments):
    """``make_snippet`` promises that "one bad span must not break the whole result"."""
    text, spans = case
    for style in ("text", "html", "ansi"):
        snippet = make_snippet(text, spans, style, max_chars=max_chars, max_fragments=max_fragments)
        assert isinstance(snippet, str)


# --- hypothesis-made documents, indexed -------------------------------------------------


@pytest.fixture(scope="module")
def scratch_index(tmp_path_factory):
    path = tmp_path_factory.mktemp("props") / "ix"
    nato_search.build_index(
        [Document(id="base", title="Base", paragraphs=["Un début."])], path
    ).close()
    return path


COUNTER = iter(range(10**6))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(hostile_text, min_size=1, max_size=3))
@example(["Le <script>alert(1)</script> & \"quotes\" 'single' <mark>x</mark> &amp;"])
def test_snippets_of_indexed_hostile_paragraphs_escape_everything(scratch_index, texts):
    n = next(COUNTER)
    # Hypothesis seeds the global random module alike for every example, and Whoosh names
    # segments with it: without this, each example's segment gets the previous one's name
    # (see test_crash_safety.py::test_writers_that_seeded_random_alike_both_commit).
    random.seed(f"props-{n}")
    word = f"balise{n}q"
    paragraphs = [f"{text} {word} {text}" for text in texts]
    with nato_search.open_index(scratch_index) as ix:
        ix.add([Document(id=f"h{n}", title="<b>Titre</b>", paragraphs=paragraphs)])
    with nato_search.open_index(scratch_index) as ix:  # a fresh view of the index
        results = ix.search(word, fuzzy=False, synonyms=False, names=False, limit=5)
    assert sorted(h.paragraph for h in results) == list(range(len(texts)))
    for hit in results:
        assert hit.text == paragraphs[hit.paragraph]
        snippet = hit.snippet("html", max_chars=10_000)
        start = len(texts[hit.paragraph]) + 1
        assert hit.highlights == [(start, start + len(word))]
        assert snippet == (
            html.escape(texts[hit.paragraph])
            + f" <mark>{word}</mark> "
            + html.escape(texts[hit.paragraph])
        )
