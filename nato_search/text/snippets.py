"""Snippets: the best fragment(s) of a paragraph, with the matched words marked.

Pure string work on the *original* text: highlights are ``(start, end)``
character offsets (end exclusive) as produced by the analyzer, so accents,
``’``, ``œ``, ``«»`` and non-breaking spaces come out exactly as stored.
Nothing here knows about indexes or queries, which keeps it easy to test.

Cost: after one linear pass over the highlights (``_normalize``, and picking
anchors in ``_anchors``), the work depends on the snippet, not the paragraph:
at most ``_MAX_CANDIDATES`` candidate windows are built, and every scan from a
window edge (for a word boundary, or for punctuation to keep) is bounded by the
window width or ``_MAX_WORD``. The ``html`` style and the ellipsis checks
still copy nothing but the fragments.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter

__all__ = ["ELLIPSIS", "STYLES", "escape_controls", "make_snippet", "mark"]

ELLIPSIS = "…"
# style -> (opening marker, closing marker)
STYLES: dict[str, tuple[str, str]] = {
    "text": ("[", "]"),
    "html": ("<mark>", "</mark>"),
    "ansi": ("\x1b[1;31m", "\x1b[0m"),
}
# Non-breaking spaces glue French punctuation to its word (« mot », oui !):
# a fragment must not be cut there.
_NO_BREAK = "\u00a0\u202f\u2007"
# End of a sentence: punctuation, optional closing quotes/brackets, then space.
_SENTENCE_END = re.compile(r"[.!?…][\"»”’)\]\u00a0\u202f]*\s+")

_WORD_CHAR = re.compile(r"[^\W_]")
# A place a fragment may be cut: whitespace, but not a non-breaking space.
_BREAK = re.compile(r"[^\S\u00a0\u202f\u2007]")
_NON_SPACE = re.compile(r"\S")
# Past this many highlights, only some anchor a candidate window (see _anchors).
_MAX_CANDIDATES = 1000
# A "word" longer than this (no space in it) may be cut inside: snapping a window
# edge to a word boundary never walks further.
_MAX_WORD = 1000

# Characters that a terminal acts on or that reorder what it shows: C0 controls,
# DEL, C1 controls (U+009B is a one-character CSI), line/paragraph separators,
# bidi embeddings, overrides and isolates ("Trojan Source"), and lone surrogates
# (which no UTF-8 stream can encode).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}

Span = tuple[int, int]
Window = tuple[int, int]
_START, _END = itemgetter(0), itemgetter(1)


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` safe to write to a terminal: unsafe characters become Python-style escapes.

    ``\\x1b[2J`` shows as the eight characters ``\\x1b[2J``; tab, newline and
    carriage return as ``\\t``, ``\\n``, ``\\r``; other C0, DEL and C1 controls
    as ``\\xNN``; U+2028/U+2029, bidi controls (U+202A–U+202E, U+2066–U+2069)
    and lone surrogates as ``\\uNNNN``. Everything else is kept as it is.
    """
    return _UNSAFE.sub(_escape_one, text)


def _markers(style: str) -> tuple[str, str]:
    try:
        return STYLES[style]
    except KeyError:
        allowed = ", ".join(repr(s) for s in STYLES)
        raise ValueError(f"unknown snippet style {style!r}; expected one of {allowed}") from None


def _normalize(highlights: Iterable[Sequence[int]], length: int) -> list[Span]:
    """Clip spans to the text, drop empty ones, sort and merge overlaps.

    Callers pass whatever the highlighter produced; one bad span must not
    break (or mis-mark) the whole result.
    """
    clipped = sorted(
        (max(0, int(s)), min(length, int(e))) for s, e in highlights if min(length, e) > max(0, s)
    )
    merged: list[Span] = []
    for start, end in clipped:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def mark(text: str, highlights: Iterable[Sequence[int]], style: str = "text") -> str:
    """Mark every highlight of ``text`` in ``style``.

    For ``"html"`` everything, matched words included, is escaped, so the only
    markup in the result is the ``<mark>`` elements we add; control characters
    are left as they are (a browser shows them inert, and ``html.unescape`` of
    the result gives back the text exactly).

    For ``"ansi"``, made for terminals, each piece of text goes through
    :func:`escape_controls`, so the only escape sequences in the result are
    the markers. Pieces are escaped one by one, after the cut, so highlights
    still mark the right words.

    ``"text"`` keeps the text exactly (a snippet can be matched back to it);
    escape it with :func:`escape_controls` before showing it in a terminal.
    """
    opening, closing = _markers(style)
    escape: Callable[[str], str]
    if style == "html":
        escape = html.escape
    elif style == "ansi":
        escape = escape_controls
    else:
        escape = str
    out: list[str] = []
    pos = 0
    for start, end in _normalize(highlights, len(text)):
        out += [escape(text[pos:start]), opening, escape(text[start:end]), closing]
        pos = end
    out.append(escape(text[pos:]))
    return "".join(out)


def _is_break(ch: str) -> bool:
    return ch.isspace() and ch not in _NO_BREAK


def _mid_word(text: str, pos: int) -> bool:
    return 0 < pos < len(text) and not _is_break(text[pos - 1]) and not _is_break(text[pos])


def _inside(spans: Sequence[Span], pos: int) -> Span | None:
    """The highlight strictly containing ``pos``, if any (spans sorted, disjoint)."""
    i = bisect_right(spans, pos, key=_START) - 1
    return spans[i] if i >= 0 and pos < spans[i][1] and spans[i][0] < pos else None


def _forward(text: str, pos: int, spans: Sequence[Span]) -> int:
    """Move ``pos`` right until it splits neither a word nor a highlight.

    Words are walked over at most ``_MAX_WORD`` characters from the start:
    a longer "word" is cut there (highlights are still never split).
    """
    stop = min(len(text), pos + _MAX_WORD)
    while True:
        old = pos
        pos = span[1] if (span := _inside(spans, pos)) else pos
        if pos < stop and _mid_word(text, pos):
            found = _BREAK.search(text, pos, stop)
            pos = found.start() if found else stop
        if pos == old:
            return pos


def _backward(text: str, pos: int, spans: Sequence[Span]) -> int:
    """Move ``pos`` left until it splits neither a word nor a highlight (see _forward)."""
    stop = max(0, pos - _MAX_WORD)
    while True:
        old = pos
        pos = span[0] if (span := _inside(spans, pos)) else pos
        if pos > stop and _mid_word(text, pos):
            before = text[stop:pos][::-1]  # the last break before pos is the first in here
            found = _BREAK.search(before)
            pos = pos - found.start() if found else stop
        if pos == old:
            return pos


def _trim(text: str, start: int, end: int) -> Window:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _window(text: str, anchor: Span, reach: int, width: int, spans: Sequence[Span]) -> Window:
    """A window of about ``width`` chars from ``anchor`` to at least ``reach``.

    Leads in with up to a quarter of the window (what ``reach`` leaves free),
    from a sentence start if one lies in the lead-in; both ends then snap to
    word boundaries.
    """
    s, e = anchor
    lo = s - min(width // 4, max(0, width - (reach - s)))
    if lo <= 0:
        start = 0
    else:
        ends = list(_SENTENCE_END.finditer(text, lo, s))
        start = ends[-1].end() if ends else _forward(text, lo, spans)
        if start > s:  # no word boundary in the lead-in: take the match's word
            start = _backward(text, s, spans)
    end = min(len(text), start + width)
    end = _backward(text, end, spans)
    if end < reach:  # snapping lost the last match (say, to its trailing "."): overshoot
        end = _forward(text, reach, spans)
    # Only punctuation left outside (an opening « or a closing ».): keep it, no ellipsis.
    # Looked for within a window's width only, so that this costs no more than the window.
    if start <= width and not _WORD_CHAR.search(text, 0, start):
        start = 0
    if len(text) - end <= width and not _WORD_CHAR.search(text, end):
        end = len(text)
    return _trim(text, start, end)


def _covered(window: Window, spans: Sequence[Span]) -> list[Span]:
    """The highlights lying wholly inside ``window`` (spans sorted, disjoint)."""
    first = bisect_left(spans, window[0], key=_START)
    return list(spans[first : bisect_right(spans, window[1], key=_END)])


def _anchors(text: str, spans: Sequence[Span]) -> Sequence[Span]:
    """The highlights that each start a candidate window: all of them, up to
    ``_MAX_CANDIDATES``; past that, the first of each distinct word, then the
    earliest others, so a paragraph with thousands of matches costs no more.
    """
    if len(spans) <= _MAX_CANDIDATES:
        return spans
    seen: set[str] = set()
    firsts: list[int] = []
    for i, (s, e) in enumerate(spans):
        word = text[s:e].lower()
        if word not in seen:
            seen.add(word)
            firsts.append(i)
            if len(firsts) == _MAX_CANDIDATES:
                break
    chosen = set(firsts)
    for i in range(len(spans)):
        if len(chosen) >= _MAX_CANDIDATES:
            break
        chosen.add(i)
    return [spans[i] for i in sorted(chosen)]


def _pick(
    text: str, spans: Sequence[Span], count: int, width: int, most: tuple[int, int]
) -> tuple[tuple[int, int], list[Window]]:
    """Greedily pick up to ``count`` disjoint windows adding the most new words.

    Returns the score (distinct words, matches) of the union, and the windows. ``most``
    is the score of showing every match: one window that does needs no rival.
    """
    candidates: list[tuple[Window, set[str], int]] = []
    for start, end in _anchors(text, spans):
        # Reach as far right as the width allows, so a cluster lands in one window.
        last = bisect_right(spans, start + width, key=_END) - 1
        reach = max(end, spans[last][1]) if last >= 0 else end
        window = _window(text, (start, end), reach, width, spans)
        covered = _covered(window, spans)
        candidates.append((window, {text[s:e].lower() for s, e in covered}, len(covered)))
        if count == 1 and (len(candidates[-1][1]), len(covered)) == most:
            break  # the first to show everything is the one picked: the rest only tie
    picked: list[Window] = []
    words: set[str] = set()
    matches = 0
    for _ in range(count):
        best: tuple[Window, set[str]] | None = None
        best_gain = (0, 0)
        for window, found_words, found in candidates:
            if any(window[0] < b and a < window[1] for a, b in picked):
                continue
            gain = (len(found_words - words), found)
            if gain > best_gain:
                best, best_gain = (window, found_words), gain
        if best is None:
            break
        picked.append(best[0])
        words |= best[1]
        matches += best_gain[1]
    return (len(words), matches), picked


def make_snippet(
    text: str,
    highlights: Sequence[tuple[int, int]],
    style: str = "text",
    *,
    max_chars: int = 240,
    max_fragments: int = 2,
) -> str:
    """The best fragment(s) of ``text`` (about ``max_chars`` in all), marked.

    Fragments covering the most distinct matched words win, then the most
    matches; they are cut on word boundaries, kept in text order and joined
    with `` … ``. A text that fits is returned whole.
    """
    _markers(style)  # fail early on a bad style, whatever the text
    if max_chars < 1 or max_fragments < 1:
        raise ValueError("max_chars and max_fragments must be at least 1")
    spans = _normalize(highlights, len(text))
    if len(text) <= max_chars:
        return mark(text, spans, style)
    best_score, windows = (-1, -1), list[Window]()
    most = (len({text[s:e].lower() for s, e in spans}), len(spans))  # every match shown
    for count in range(1, max_fragments + 1 if spans else 1):
        width = max(1, (max_chars - len(f" {ELLIPSIS} ") * (count - 1)) // count)
        score, picked = _pick(text, spans, count, width, most)
        if score > best_score:  # ties go to fewer, longer fragments
            best_score, windows = score, picked
        if best_score == most:  # more fragments could only tie
            break
    if not windows:  # no match, or none that fits in max_chars: the opening words
        end = _backward(text, max_chars, ())
        if end == 0 or _mid_word(text, end):  # one giant word: hard cut
            end = max_chars
        return mark(text[:end].rstrip(), (), style) + ELLIPSIS

    merged: list[Window] = []
    for start, end in sorted(windows):
        if merged and not text[merged[-1][1] : start].strip():
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))

    parts = [
        mark(text[a:b], [(s - a, e - a) for s, e in _covered((a, b), spans)], style)
        for a, b in merged
    ]
    head = ELLIPSIS if _NON_SPACE.search(text, 0, merged[0][0]) else ""
    tail = ELLIPSIS if _NON_SPACE.search(text, merged[-1][1]) else ""
    return head + f" {ELLIPSIS} ".join(parts) + tail
