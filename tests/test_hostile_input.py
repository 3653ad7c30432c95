"""Reliability: huge, empty, binary, mis-encoded and markup-laden input, and odd queries.

Each gets an answer in bounded time or a clear error naming the file, and nothing
already indexed is lost.
"""

import glob
import os
import random
import shutil
import time

import pytest
from conftest import SEEDS, doc, ids

import nato_search
from nato_search import CorpusError, IndexNotFoundError, Results, read_documents, update_index


def assert_untouched(index):
    """Exactly the two documents of the ``ix`` fixture, in this view and a fresh one."""
    with nato_search.open_index(index.path) as fresh:
        for view in (index, fresh):
            assert len(view) == 2
            assert ids(view.search("patriot")) == [("a", 0)]
            assert ids(view.search("défense")) == [("b", 0)]


# --- a 1 MB paragraph --------------------------------------------------------------------

SENTENCE = "La défense aérienne de l’Ukraine reçoit des batteries supplémentaires. "
UNIQUE = "zygomorphique"


def test_a_one_megabyte_paragraph_is_indexed_and_its_last_word_found_and_marked(ix, tmp_path):
    big = SENTENCE * (1_000_000 // len(SENTENCE) + 1) + f"Mot final : {UNIQUE}."
    assert len(big) > 1_000_000
    (tmp_path / "big.txt").write_text(big + "\n", "utf-8")
    started = time.monotonic()
    assert ix.add([tmp_path / "big.txt"]) == 1
    assert time.monotonic() - started < 30

    started = time.monotonic()
    results = ix.search(UNIQUE)
    snippet = results[0].snippet()
    assert time.monotonic() - started < 5
    assert ids(results) == [("big", 0)]
    offset = big.index(UNIQUE)
    assert results[0].highlights == [(offset, offset + len(UNIQUE))]
    assert snippet == f"…Mot final : [{UNIQUE}]."

    # A word found ~14,000 times in it: every match is marked, the snippet stays short.
    started = time.monotonic()
    results = ix.search("supplémentaires", limit=3)
    hit = next(h for h in results if h.doc_id == "big")
    snippet = hit.snippet("html")
    assert time.monotonic() - started < 5
    assert len(hit.highlights) == big.count("supplémentaires")
    assert snippet.count("<mark>supplémentaires</mark>") >= 2 and len(snippet) < 400
    assert ids(ix.search("patriot")) == [("a", 0)]


# --- long queries --------------------------------------------------------------------------


def timed_search(index, query):
    started = time.monotonic()
    results = index.search(query)
    return results, time.monotonic() - started


def test_a_ten_thousand_character_query_answers_within_two_seconds(seeds_index):
    rng = random.Random(10_000)
    words = (
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyzéèàç") for _ in range(rng.randint(3, 12)))
        for _ in range(3000)
    )
    query = " ".join(words)[:10_000]
    results, seconds = timed_search(seeds_index, query)
    assert isinstance(results, Results) and seconds < 2

    results, seconds = timed_search(seeds_index, ("OTAN Ukraine " * 800)[:10_000])
    assert isinstance(results, Results) and results.total == 21 and seconds < 2


def test_a_query_of_five_hundred_distinct_words_answers_within_two_seconds(seeds_index):
    made_up = " ".join(f"mot{i}{'abc'[i % 3]}" for i in range(500))
    results, seconds = timed_search(seeds_index, made_up)
    assert isinstance(results, Results) and seconds < 2

    text = " ".join(path.read_text("utf-8") for path in sorted(SEEDS.glob("*.txt")))
    real = list(dict.fromkeys(text.split()))[:500]
    assert len(real) == 500
    results, seconds = timed_search(seeds_index, " ".join(real))
    assert isinstance(results, Results) and len(results) == 10 and seconds < 2


# --- odd files ------------------------------------------------------------------------------

STOPWORDS_ONLY = "Le la les de des du un une et à au aux en dans sur pour par est sont.\n"


def test_a_file_of_stopwords_gives_an_unsearchable_paragraph_and_an_empty_file_nothing(
    ix, tmp_path
):
    (tmp_path / "stop.txt").write_text(STOPWORDS_ONLY, "utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_text(" \n\n\u00a0\t\n", "utf-8")
    documents = list(
        read_documents([tmp_path / "stop.txt", tmp_path / "empty.txt", tmp_path / "blank.txt"])
    )
    assert [(d.id, d.paragraphs) for d in documents] == [
        ("stop", [STOPWORDS_ONLY.strip()]),
        ("empty", []),
        ("blank", []),
    ]
    assert ix.add(documents) == 1
    assert len(ix) == 3
    assert ix.analyze(STOPWORDS_ONLY) == []
    for query in ("les", "sont dans pour", '"de la"', STOPWORDS_ONLY):
        results = ix.search(query)
        assert (results.total, list(results)) == (0, []), query
    assert ids(ix.search("patriot")) == [("a", 0)]


@pytest.fixture
def bad_files(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    binary = folder / "image.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)))
    latin = folder / "latin.txt"
    latin.write_bytes("La défense aérienne est renforcée à l'est de l'Europe.\n".encode("latin-1"))
    return binary, latin


def test_binary_and_latin1_files_are_refused_with_their_names(bad_files):
    binary, latin = bad_files
    with pytest.raises(CorpusError, match=f"^{binary}: a binary file"):
        list(read_documents(binary, strict=True))
    with pytest.raises(CorpusError, match=f"^{latin}: not UTF-8 text"):
        list(read_documents(latin, strict=True))


@pytest.mark.parametrize("which", [0, 1], ids=["binary", "latin-1"])
def test_adding_a_bad_file_changes_nothing(ix, tmp_path, bad_files, which):
    bad = bad_files[which]
    good = tmp_path / "good.txt"
    good.write_text("Un paragraphe tout à fait lisible sur les frégates.\n", "utf-8")
    for method in (ix.add, ix.update):
        with pytest.raises(CorpusError, match=bad.name):
            method([good, bad])
        assert ix.search("frégates").total == 0
        assert_untouched(ix)


@pytest.mark.parametrize("which", [0, 1], ids=["binary", "latin-1"])
def test_updating_from_a_folder_with_a_bad_file_changes_nothing(tmp_path, bad_files, which):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "one.txt").write_text(
        "Les batteries Patriot arrivent en Ukraine cette semaine.\n", "utf-8"
    )
    nato_search.build_index(folder, tmp_path / "ix").close()
    manifest = (tmp_path / "ix" / "sources.json").read_text("utf-8")
    (folder / "one.txt").write_text(
        "Les frégates remplacent les batteries cette semaine.\n", "utf-8"
    )
    (folder / "two.txt").write_text("Un autre texte sur la mer Noire et ses ports.\n", "utf-8")
    shutil.copy(bad_files[which], folder / "zz.txt")
    with pytest.raises(CorpusError, match="zz.txt"):
        update_index(folder, tmp_path / "ix", strict=True)
    assert (tmp_path / "ix" / "sources.json").read_text("utf-8") == manifest
    with nato_search.open_index(tmp_path / "ix") as ix:
        assert len(ix) == 1
        assert ids(ix.search("patriot")) == [("one", 0)]
        assert ix.search("frégates").total == 0 and ix.search("mer noire").total == 0
    (folder / "zz.txt").unlink()
    assert update_index(folder, tmp_path / "ix") == {
        "changed": 2,
        "unchanged": 0,
        "removed": 0,
        "skipped": 0,
    }


# --- markup in the text ------------------------------------------------------------------------

HOSTILE = (
    """Alerte : <script>alert(1)</script> & &amp; "quotes" 'single' <mark>faux</mark> munitions."""
)


@pytest.fixture
def hostile_ix(tmp_path):
    with nato_search.build_index(
        [doc("x", HOSTILE, title="<b>Titre</b>")], tmp_path / "ix"
    ) as index:
        yield index


@pytest.mark.parametrize(
    "query, expected",
    [
        (
            "munitions",
            "Alerte : &lt;script&gt;alert(1)&lt;/script&gt; &amp; &amp;amp; &quot;quotes&quot; "
            "&#x27;single&#x27; &lt;mark&gt;faux&lt;/mark&gt; <mark>munitions</mark>.",
        ),
        (
            "alert",
            "<mark>Alerte</mark> : &lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt; &amp; &amp;amp; "
            "&quot;quotes&quot; &#x27;single&#x27; &lt;mark&gt;faux&lt;/mark&gt; munitions.",
        ),
        (
            "mark",
            "Alerte : &lt;script&gt;alert(1)&lt;/script&gt; &amp; &amp;amp; &quot;quotes&quot; "
            "&#x27;single&#x27; &lt;<mark>mark</mark>&gt;faux&lt;/<mark>mark</mark>&gt; munitions.",
        ),
    ],
)
def test_html_snippets_escape_the_text_and_mark_only_the_matches(hostile_ix, query, expected):
    [hit] = hostile_ix.search(query)
    assert hit.text == HOSTILE and hit.title == "<b>Titre</b>"
    assert hit.snippet("html") == expected
    outside = expected.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in outside and ">" not in outside


# --- queries made of syntax --------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "(((",
        ")))",
        ":",
        "*",
        "~",
        "^",
        "date:",
        "-",
        "OR",
        "OR OR",
        '-"',
        "-(",
        '" "',
        "\x00",
        "?!…",
        "(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((",
    ],
)
def test_a_query_of_pure_syntax_finds_nothing_quickly(seeds_index, query):
    results, seconds = timed_search(seeds_index, query)
    assert isinstance(results, Results)
    assert (results.total, list(results)) == (0, [])
    assert seconds < 1


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced',
        "a:b:c",
        "date:9999-12-31..",
        "-OTAN",
        "OTAN -(",
        'OTAN "',
        "(OTAN OR) Ukraine",
    ],
)
def test_a_query_with_odd_syntax_answers_quickly(seeds_index, query):
    results, seconds = timed_search(seeds_index, query)
    assert isinstance(results, Results) and results.total >= len(results)
    assert seconds < 1


@pytest.mark.parametrize(
    "query, message",
    [
        ("date:2024-13", "date:2024-13: there is no month 13"),
        ("date:..", r"date:\.\.: expected date:YYYY"),
        ("date:2024..2023", r"date:2024\.\.2023: the range ends before it starts"),
        ("date:0000", "date:0000: there is no year 0000"),
    ],
)
def test_a_date_that_is_no_period_is_a_value_error_saying_why(seeds_index, query, message):
    with pytest.raises(ValueError, match=message):
        seeds_index.search(query)


# --- paths that are not indexes ------------------------------------------------------------------


def test_a_missing_index_path_is_reported_with_the_path(tmp_path):
    missing = tmp_path / "nowhere" / "ix"
    with pytest.raises(IndexNotFoundError, match=f"no index at {missing}"):
        nato_search.open_index(missing)


def test_a_regular_file_or_an_empty_folder_is_not_an_index(tmp_path):
    (tmp_path / "file.txt").write_text("Pas un index.\n", "utf-8")
    (tmp_path / "empty").mkdir()
    for path in (tmp_path / "file.txt", tmp_path / "empty"):
        with pytest.raises(IndexNotFoundError, match=f"no index at {path}"):
            nato_search.open_index(path)
    with pytest.raises(
        FileExistsError, match=f"{tmp_path / 'file.txt'} exists and is not a nato-search index"
    ):
        nato_search.build_index([doc("a", "Un texte.")], tmp_path / "file.txt")
    assert (tmp_path / "file.txt").read_text("utf-8") == "Pas un index.\n"


@pytest.mark.parametrize(
    "damage", ["truncated table of contents", "garbage segment", "missing segment"]
)
def test_a_damaged_index_is_reported_with_its_path(ix, damage):
    path = ix.path
    ix.close()
    if damage == "truncated table of contents":
        [toc] = glob.glob(os.path.join(path, "_MAIN_*.toc"))
        with open(toc, "r+b") as f:
            f.truncate(10)
    else:
        for segment in glob.glob(os.path.join(path, "*.seg")):
            if damage == "missing segment":
                os.remove(segment)
            else:
                with open(segment, "wb") as f:
                    f.write(b"x" * 100)
    with pytest.raises(nato_search.IndexDamagedError) as caught:
        with nato_search.open_index(path) as damaged:
            damaged.search("patriot")
    assert path in str(caught.value) and "--rebuild" in str(caught.value)
