"""Snippets: exact fragments, marking in each style, escaping and robustness."""

from __future__ import annotations

import re
import time

import pytest

from nato_search.text.snippets import escape_controls, make_snippet, mark

NBSP = "\u00a0"
SHORT = f"L’Ukraine a besoin d’œuvrer avec l’OTAN «{NBSP}sans délai{NBSP}»."

LONG = (
    "Le sommet de l’Alliance s’est ouvert mardi à Vilnius. Les chefs d’État ont d’abord salué "
    "l’adhésion de la Finlande, qui renforce la défense du flanc nord. "
    "Les discussions ont ensuite porté sur le budget commun, la coordination des exercices "
    "militaires et la modernisation des infrastructures de commandement en Europe centrale. "
    "Plusieurs délégations ont demandé davantage de transparence sur les dépenses engagées "
    "et sur le calendrier des livraisons d’équipements. "
    "En fin de journée, la question de l’Ukraine a dominé les échanges. Le secrétaire général "
    "a rappelé que la porte de l’Alliance restait ouverte à Kyiv."
)


def spans(text: str, *words: str) -> list[tuple[int, int]]:
    """Every occurrence of each word, in the order given (deliberately unsorted)."""
    return [m.span() for w in words for m in re.finditer(re.escape(w), text)]


def fragments(snippet: str) -> list[str]:
    """The fragments of a text-style snippet, markers and ellipses removed."""
    plain = snippet.replace("[", "").replace("]", "")
    return [f.strip("…") for f in plain.split(" … ")]


# --- styles on a text that fits ---------------------------------------------


def test_short_text_style_text():
    got = make_snippet(SHORT, spans(SHORT, "œuvrer", "Ukraine"))
    assert got == f"L’[Ukraine] a besoin d’[œuvrer] avec l’OTAN «{NBSP}sans délai{NBSP}»."


def test_short_text_style_html():
    got = make_snippet(SHORT, spans(SHORT, "Ukraine", "œuvrer"), "html")
    assert got == (
        f"L’<mark>Ukraine</mark> a besoin d’<mark>œuvrer</mark> avec l’OTAN "
        f"«{NBSP}sans délai{NBSP}»."
    )


def test_short_text_style_ansi():
    got = make_snippet(SHORT, spans(SHORT, "OTAN"), "ansi")
    assert (
        got == f"L’Ukraine a besoin d’œuvrer avec l’\x1b[1;31mOTAN\x1b[0m «{NBSP}sans délai{NBSP}»."
    )


def test_text_that_fits_exactly_is_whole():
    assert make_snippet(SHORT, spans(SHORT, "délai"), max_chars=len(SHORT)) == SHORT.replace(
        "délai", "[délai]"
    )
    assert make_snippet(SHORT, spans(SHORT, "délai"), max_chars=len(SHORT) - 1) != SHORT.replace(
        "délai", "[délai]"
    )


def test_unknown_style_names_the_allowed_ones():
    with pytest.raises(ValueError, match="text.*html.*ansi") as err:
        make_snippet(SHORT, [], "markdown")
    assert "markdown" in str(err.value)
    with pytest.raises(ValueError):
        make_snippet("", [], "bold")  # even when there is nothing to mark
    with pytest.raises(ValueError):
        mark(SHORT, [(0, 1)], "HTML")


# --- html escaping ------------------------------------------------------------


def test_html_escapes_everything_but_the_marks():
    text = 'Voir <script>alert("x")</script> & <mark>l’OTAN</mark>'
    got = make_snippet(text, spans(text, "alert", "&", "OTAN"), "html")
    assert got == (
        "Voir &lt;script&gt;<mark>alert</mark>(&quot;x&quot;)&lt;/script&gt; <mark>&amp;</mark> "
        "&lt;mark&gt;l’<mark>OTAN</mark>&lt;/mark&gt;"
    )


def test_html_escapes_quotes_and_fragments_of_a_long_text():
    text = "a " * 200 + '& "Kyiv" d\'abord <b> ' + "b " * 200
    got = make_snippet(text, spans(text, "Kyiv"), "html", max_chars=40)
    assert got == "…a a a &amp; &quot;<mark>Kyiv</mark>&quot; d&#x27;abord &lt;b&gt; b b b b b b…"


# --- choosing fragments in a long text ----------------------------------------


def test_long_text_two_fragments_exact():
    got = make_snippet(LONG, spans(LONG, "Kyiv", "Finlande", "Ukraine"))
    assert got == (
        "…salué l’adhésion de la [Finlande], qui renforce la défense du flanc nord. "
        "Les discussions ont ensuite porté sur le … de l’[Ukraine] a dominé les échanges. "
        "Le secrétaire général a rappelé que la porte de l’Alliance restait ouverte à [Kyiv]."
    )
    assert len(got) <= 240 + 5


def test_long_text_fragments_cut_on_word_boundaries():
    got = make_snippet(LONG, spans(LONG, "Finlande", "Ukraine", "Kyiv"))
    for frag in fragments(got):
        start = LONG.index(frag)
        end = start + len(frag)
        assert start == 0 or LONG[start - 1] == " ", frag
        assert end == len(LONG) or LONG[end] == " ", frag


def test_single_window_when_it_holds_every_word():
    # Ukraine and Kyiv fit in one window: a single fragment, from the sentence start.
    got = make_snippet(LONG, spans(LONG, "Ukraine", "Kyiv"))
    assert got == (
        "…En fin de journée, la question de l’[Ukraine] a dominé les échanges. "
        "Le secrétaire général a rappelé que la porte de l’Alliance restait ouverte à [Kyiv]."
    )


def test_one_fragment_starts_at_close_sentence_start_and_ends_on_a_word():
    got = make_snippet(LONG, spans(LONG, "budget"))
    assert got == (
        "…Les discussions ont ensuite porté sur le [budget] commun, la coordination des "
        "exercices militaires et la modernisation des infrastructures de commandement en "
        "Europe centrale. Plusieurs délégations ont demandé davantage de transparence sur les…"
    )


def test_leading_context_before_the_match():
    text = " ".join(f"mot{i}" for i in range(200))
    got = make_snippet(text, spans(text, "mot100"), max_chars=80)
    # Up to a quarter of the window (20 chars) before the match, cut between words.
    assert got == "…mot97 mot98 mot99 [mot100] mot101 mot102 mot103 mot104 mot105 mot106 mot107…"


def test_fragment_starts_at_a_close_sentence_start():
    text = "mot " * 60 + "Le cœur de l’œuvre. « OTAN » et l’Ukraine ! " + "mot " * 60
    got = make_snippet(text, spans(text, "Ukraine"), max_chars=80)
    # The lead-in would start at "l’œuvre."; the sentence starts a little later.
    assert got == "…« OTAN » et l’[Ukraine] ! " + "mot " * 13 + "mot…"
    # Starting a sentence, the match opens the fragment (no lead-in from the previous one).
    got = make_snippet(LONG, spans(LONG, "Plusieurs"), max_chars=60)
    assert got == "…[Plusieurs] délégations ont demandé davantage de transparence…"


def test_max_fragments_one_keeps_best_window():
    got = make_snippet(LONG, spans(LONG, "Finlande", "Ukraine", "Kyiv"), max_fragments=1)
    assert "[Finlande]" not in got
    assert got.count("[") == 2 and " … " not in got


def test_distinct_words_beat_repeated_ones():
    filler = " ".join(["remplissage"] * 40)
    text = f"OTAN OTAN OTAN OTAN. {filler}. OTAN et Ukraine."
    got = make_snippet(text, spans(text, "OTAN", "Ukraine"), max_chars=60, max_fragments=1)
    assert got == "…[OTAN] et [Ukraine]."


def test_distinct_words_compare_lowercased():
    # "Otan OTAN" is one word twice, so three "otan" (more matches) win.
    filler = " ".join(["remplissage"] * 40)
    text = f"Otan OTAN. {filler}. otan otan otan."
    got = make_snippet(text, spans(text, "Otan", "OTAN", "otan"), max_chars=40, max_fragments=1)
    assert got == "…[otan] [otan] [otan]."


def test_no_highlights_gives_the_opening():
    assert make_snippet(LONG, [], max_chars=60) == (
        "Le sommet de l’Alliance s’est ouvert mardi à Vilnius. Les…"
    )
    # Cut before a word that would cross the limit, never inside it.
    assert make_snippet(LONG, [], max_chars=50) == "Le sommet de l’Alliance s’est ouvert mardi à…"
    assert make_snippet("x" * 300, [], max_chars=10) == "x" * 10 + "…"


def test_cut_never_splits_a_highlight_or_a_word():
    text = "début " * 40 + "Union européenne de défense " + "suite " * 40
    start = text.index("Union")
    got = make_snippet(text, [(start, start + len("Union européenne"))], max_chars=20)
    assert "[Union européenne]" in got
    for frag in fragments(got):
        assert f" {frag} " in f" {text} "


def test_cut_never_splits_at_a_non_breaking_space():
    text = "mot " * 60 + f"«{NBSP}OTAN{NBSP}» et l’Ukraine{NBSP}! " + "mot " * 60
    got = make_snippet(text, spans(text, "Ukraine"), max_chars=30)
    assert f"l’[Ukraine]{NBSP}!" in got
    # The lead-in reaches into "«~OTAN~»" (~ = NBSP), one word for cutting: skipped whole.
    assert got == f"…et l’[Ukraine]{NBSP}! mot mot mot…"


def test_unicode_is_preserved_in_fragments():
    text = "x " * 200 + f"Le cœur de l’œuvre, «{NBSP}Noël{NBSP}», déçoit. " + "y " * 200
    got = make_snippet(text, spans(text, "œuvre"), max_chars=60)
    assert f"Le cœur de l’[œuvre], «{NBSP}Noël{NBSP}», déçoit." in got


# --- robustness ---------------------------------------------------------------


def test_bad_spans_are_clipped_dropped_and_merged():
    text = "L’OTAN et l’Ukraine"
    bad = [(12, 19), (2, 6), (4, 9), (-5, 1), (15, 99), (7, 7), (9, 3), (40, 50)]
    assert make_snippet(text, bad) == "[L]’[OTAN et] l’[Ukraine]"
    assert mark(text, bad) == "[L]’[OTAN et] l’[Ukraine]"
    assert make_snippet(text, bad, "html") == (
        "<mark>L</mark>’<mark>OTAN et</mark> l’<mark>Ukraine</mark>"
    )


def test_spans_past_the_end_of_a_long_text():
    got = make_snippet(LONG, [(len(LONG) + 5, len(LONG) + 9), (0, 2)], max_chars=60)
    assert got == "[Le] sommet de l’Alliance s’est ouvert mardi à Vilnius. Les…"


def test_only_invalid_spans_behave_like_none():
    assert make_snippet(LONG, [(-3, -1), (5, 5), (9999, 10000)], max_chars=60) == make_snippet(
        LONG, [], max_chars=60
    )


def test_empty_text():
    assert make_snippet("", [(0, 3)]) == ""
    assert make_snippet("", [], "html") == ""


def test_bad_limits():
    with pytest.raises(ValueError):
        make_snippet(LONG, [], max_chars=0)
    with pytest.raises(ValueError):
        make_snippet(LONG, [], max_fragments=0)


# --- mark ---------------------------------------------------------------------


def test_mark_each_style():
    text = "d’œuvrer & <b>"
    assert mark(text, [(2, 8)], "text") == "d’[œuvrer] & <b>"
    assert mark(text, [(2, 8)], "html") == "d’<mark>œuvrer</mark> &amp; &lt;b&gt;"
    assert mark(text, [(2, 8)], "ansi") == "d’\x1b[1;31mœuvrer\x1b[0m & <b>"
    assert mark(text, []) == text


def test_opening_and_closing_quotes_are_kept_rather_than_cut_off():
    text = (
        "« Les Ukrainiens ne manquent pas de courage, ils manquent de munitions », a déclaré "
        + "le secrétaire général " * 12
        + "»."
    )
    start = text.index("munitions")
    assert start == 61  # the lead-in (a quarter of 240) would start one character in, after «
    snippet = make_snippet(text, [(start, start + 9)], max_chars=240, max_fragments=1)
    assert snippet.startswith(
        "« Les Ukrainiens ne manquent pas de courage, ils manquent de [munitions] »"
    )
    assert snippet.endswith("…")


# --- control characters -------------------------------------------------------

RED, OFF = "\x1b[1;31m", "\x1b[0m"
HOSTILE = (
    "Alerte\x1b[2J : l’OTAN\x9b31m et \x1b]8;;http://x\x1b\\Kyiv\x1b]8;;\x1b\\ \r\b\x7f\u202efin."
)


def test_escape_controls_shows_each_kind_as_an_escape():
    assert escape_controls("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert escape_controls("\t\n\r\b\x00\x7f\x85\x9b") == "\\t\\n\\r\\x08\\x00\\x7f\\x85\\x9b"
    assert escape_controls("\u202a\u202e\u2066\u2069\u2028\u2029") == (
        "\\u202a\\u202e\\u2066\\u2069\\u2028\\u2029"
    )
    assert escape_controls("\ud83d lone") == "\\ud83d lone"
    # French text, non-breaking spaces and emoji are left alone.
    assert escape_controls(SHORT + " 🇺🇦 \u200b") == SHORT + " 🇺🇦 \u200b"


def test_ansi_snippets_escape_controls_piece_by_piece():
    got = make_snippet(HOSTILE, spans(HOSTILE, "Alerte", "OTAN", "Kyiv"), "ansi")
    # The matched words are still the ones marked; the only escapes left are the markers.
    assert got == (
        f"{RED}Alerte{OFF}\\x1b[2J : l’{RED}OTAN{OFF}\\x9b31m et \\x1b]8;;http://x\\x1b\\"
        f"{RED}Kyiv{OFF}\\x1b]8;;\\x1b\\ \\r\\x08\\x7f\\u202efin."
    )
    assert got.replace(RED, "").replace(OFF, "").isprintable()


def test_ansi_snippets_of_a_long_text_escape_controls_in_the_fragment():
    text = "mot " * 100 + "\x1b[2J la défense\x1b]0;pwn\x07 " + "mot " * 100
    start = text.index("défense")
    got = make_snippet(text, [(start, start + 7)], "ansi", max_chars=40)
    assert got == f"…\\x1b[2J la {RED}défense{OFF}\\x1b]0;pwn\\x07 mot mot mot mot…"
    # A highlight holding a control character is escaped inside its markers.
    assert make_snippet("a\x1bb c", [(0, 3)], "ansi") == f"{RED}a\\x1bb{OFF} c"
    assert mark("a\x1bb c", [(0, 3)], "ansi") == f"{RED}a\\x1bb{OFF} c"


def test_text_and_html_snippets_keep_control_characters_as_they_are():
    """``text`` stays matchable to the paragraph (the CLI escapes it before printing);
    ``html`` stays exactly ``html.escape`` of it: a browser shows controls inert."""
    text = "la défense\x1b[2J\x9b"
    assert make_snippet(text, spans(text, "défense")) == "la [défense]\x1b[2J\x9b"
    assert make_snippet(text, spans(text, "défense"), "html") == (
        "la <mark>défense</mark>\x1b[2J\x9b"
    )


# --- cost on huge paragraphs ----------------------------------------------------

FIVE_MB = 5_000_000


def _timed_snippet(text, highlights):
    started = time.perf_counter()
    got = make_snippet(text, highlights, "ansi")
    return got, time.perf_counter() - started


def test_five_megabytes_with_ten_thousand_highlights_snippets_fast():
    text = ("la défense de l’Alliance reste solide " * (FIVE_MB // 37 + 1))[:FIVE_MB]
    found = spans(text, "défense")
    found = found[:: len(found) // 10_000][:10_000]
    got, took = _timed_snippet(text, found)
    assert took < 0.5, took
    assert got.count(f"{RED}défense{OFF}") >= 2 and len(got) < 400


def test_highlights_before_megabytes_of_punctuation_snippet_fast():
    """Was quadratic: each window looked for a word past its end, to the end of the text."""
    text = "mot " * 10_000 + "." * (FIVE_MB - 40_000)
    got, took = _timed_snippet(text, [(i * 4, i * 4 + 3) for i in range(10_000)])
    assert took < 0.5, took
    assert got.startswith(f"{RED}mot{OFF} {RED}mot{OFF}") and got.endswith("…")
    assert len(got) < 1000


def test_highlights_inside_one_giant_word_snippet_fast():
    """A "word" without spaces is cut after _MAX_WORD characters rather than walked whole."""
    text = "x" * FIVE_MB
    got, took = _timed_snippet(text, [(i * 500, i * 500 + 3) for i in range(10_000)])
    assert took < 1.0, took  # 0.17 s here unloaded; over a minute before
    assert got.startswith(f"{RED}xxx{OFF}") and got.endswith("…") and len(got) < 5000
