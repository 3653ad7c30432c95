"""The search contract, on the seeds and on small hand-made fixtures."""

import datetime as dt
import threading
import time

import pytest
from conftest import SEEDS

import nato_search
from nato_search import Document, Hit, Results
from nato_search.text.analyzer import analyze


def where(results):
    """(document prefix, paragraph) of each hit: the seed ids start with a unique number."""
    return [(hit.doc_id[:3], hit.paragraph) for hit in results]


def marked(hit):
    return [hit.text[start:end] for start, end in hit.highlights]


def test_results_and_hits_have_the_documented_shape(seeds_index):
    results = seeds_index.search("munitions")
    assert isinstance(results, Results) and results.total == 2 and len(results) == 2
    hit = results[0]
    assert isinstance(hit, Hit)
    assert (hit.doc_id, hit.paragraph, hit.date) == (
        "003_1bfd15bd7f542d98",
        1,
        dt.date(2024, 8, 28),
    )
    assert hit.title == "Le Conseil OTAN-Ukraine s’est réuni ce mercredi (28 août 2024)"
    assert hit.text.startswith("Le secrétaire général de l’OTAN, Jens Stoltenberg")
    assert hit.highlights == [(534, 543)] and marked(hit) == ["munitions"]
    assert hit.score > results[1].score > 0
    assert where(results) == [("003", 1), ("002", 1)]


def test_limit_cuts_hits_but_not_total(seeds_index):
    results = seeds_index.search("ukraine", limit=2)
    assert len(results) == 2 and results.total == 19


@pytest.mark.parametrize(
    "query, top, words",
    [
        ("munition", ("003", 1), ["munitions"]),  # singular finds plural
        ("oeuvrer", ("000", 4), ["œuvre"]),  # no ligature; the verb meets the noun
        ("allies", ("003", 2), ["Alliés"] * 4),  # no accent
        ("interoperabilite", ("000", 3), ["interopérabilité"] * 2),
        ("l'Ukraine", ("004", 2), ["Ukraine"] * 4),  # straight apostrophe
        ("defense aerienne", ("003", 2), ["défense", "défense", "aérienne"]),  # side by side first
        ("Boutcha", ("001", 1), ["Boutcha"]),
    ],
)
def test_forgiving_queries_find_the_right_paragraph_and_mark_the_original_words(
    seeds_index, query, top, words
):
    results = seeds_index.search(query, limit=3)
    assert where(results)[0] == top
    assert marked(results[0]) == words


def test_highlight_covers_the_whole_surface_word_not_its_elided_article(seeds_index):
    [hit] = [h for h in seeds_index.search("oeuvrer") if h.paragraph == 2]
    assert hit.doc_id == "000_4212c58b728f3318"
    assert hit.highlights == [(222, 228)]
    assert hit.text[220:228] == "d’œuvrer"


@pytest.mark.parametrize(
    "question, top",
    [
        ("Qui a condamné les massacres de Boutcha ?", ("001", 1)),
        ("Quel est le montant de l'aide militaire annuelle proposée ?", ("004", 1)),
        ("Où sera établi le centre JATEC ?", ("004", 2)),
        ("Quand le Conseil OTAN-Ukraine a-t-il été créé ?", ("003", 3)),
        ("De quoi manquent les Ukrainiens ?", ("002", 1)),
        ("Quelles batteries les Alliés vont-ils envoyer ?", ("003", 2)),
    ],
)
def test_natural_questions_rank_the_answer_first(seeds_index, question, top):
    assert where(seeds_index.search(question, limit=3))[0] == top


def test_phrase_matches_words_together_and_highlights_only_the_phrase(seeds_index):
    results = seeds_index.search('"conseil otan ukraine"')
    assert results.total == 11
    for hit in results:
        assert "Conseil OTAN-Ukraine" in hit.text or "Conseil OTAN-Ukraine" in hit.title
    hit = results[0]
    assert where([hit]) == [("003", 0)] and marked(hit) == ["Conseil", "OTAN", "Ukraine"]


def test_stopwords_inside_a_phrase_are_ignored_consistently(seeds_index):
    with_stopwords = seeds_index.search('"ministres des affaires étrangères"', limit=50)
    without = seeds_index.search('"ministres affaires étrangères"', limit=50)
    assert where(with_stopwords) == where(without) and with_stopwords.total == 11


def test_phrase_does_not_match_scattered_words(seeds_index):
    assert seeds_index.search('"munitions courage"').total == 0
    assert seeds_index.search('"courage munitions"').total == 0  # 3 words apart in 002/1
    assert seeds_index.search("munitions courage").total == 2


def paragraphs_with(term, keep=lambda doc: True):
    """Brute-force oracle: (doc prefix, paragraph) of every seed paragraph whose text or title has ``term``."""
    found = set()
    for doc in nato_search.read_documents(SEEDS):
        title_terms = {t for t, *_ in analyze(doc.title)}
        for n, text in enumerate(doc.paragraphs):
            if keep(doc) and term in title_terms | {t for t, *_ in analyze(text)}:
                found.add((doc.id[:3], n))
    return found


def test_exclusion(seeds_index):
    results = seeds_index.search("ukraine -russie", limit=50)
    assert set(where(results)) == paragraphs_with("ukrain") - paragraphs_with("russi")
    assert results.total == 12


def test_or(seeds_index):
    results = seeds_index.search("boutcha OR patriot")
    assert set(where(results)) == {("003", 2), ("001", 1)} and results.total == 2


@pytest.mark.parametrize(
    "query, start, end, total",
    [
        ("ukraine date:2024", dt.date(2024, 1, 1), dt.date(2024, 12, 31), 10),
        ("ukraine date:2023-11..2024-06", dt.date(2023, 11, 1), dt.date(2024, 6, 30), 11),
        ("ukraine date:2024-08-28", dt.date(2024, 8, 28), dt.date(2024, 8, 28), 4),
        ("ukraine date:2025..", dt.date(2025, 1, 1), dt.date.max, 0),
        ("ukraine date:..2022", dt.date.min, dt.date(2022, 12, 31), 4),
        ("ukraine date:2024..", dt.date(2024, 1, 1), dt.date.max, 10),
    ],
)
def test_date_filters(seeds_index, query, start, end, total):
    results = seeds_index.search(query, limit=50)
    assert set(where(results)) == paragraphs_with("ukrain", lambda d: start <= d.date <= end)
    assert results.total == total


def test_date_filter_alone_lists_the_paragraphs_of_that_period(seeds_index):
    results = seeds_index.search("date:2022", limit=50)
    assert where(results) == [("001", n) for n in range(4)]


def test_all_words_first_beats_a_higher_scoring_partial_match(tmp_path):
    filler = [
        Document(f"f{i}", "Chronique", None, [f"La guerre continue, jour {i}."]) for i in range(20)
    ]
    docs = [
        Document("partial", "Note", None, ["Paix, paix, paix et encore paix."]),
        Document(
            "both",
            "Note",
            None,
            [
                "Un long paragraphe qui évoque la paix puis, bien plus loin, après de nombreux autres "
                "mots sans rapport avec le sujet, la guerre."
            ],
        ),
    ]
    with nato_search.build_index(filler + docs, tmp_path / "ix") as ix:
        results = ix.search("paix guerre")
        assert [h.doc_id for h in results[:2]] == ["both", "partial"]
        assert results.total == 22
        # Without tiering the partial match would win: it scores higher on its own.
        assert ix.search("paix")[0].doc_id == "partial"
        # Scores never increase down the list: the full match is lifted to the best partial one.
        assert results[0].score == results[1].score
        assert [h.matched_all for h in results[:2]] == [True, False]


def test_query_with_an_absent_word_still_returns_the_others(seeds_index):
    results = seeds_index.search("munitions xylophone")
    assert where(results) == [("003", 1), ("002", 1)]


def test_title_words_are_searchable_and_weigh_more(seeds_index):
    results = seeds_index.search("pérenniser", limit=10)
    assert {h.doc_id[:3] for h in results} == {"001"} and results.total == 4


@pytest.mark.parametrize("query", ["", "   ", "\n\t", None])
def test_empty_query_lists_every_paragraph_in_index_order(seeds_index, query):
    results = seeds_index.search(query, limit=1000)
    assert results.total == len(seeds_index) == len(results)
    assert [(h.doc_id, h.paragraph) for h in results] == sorted(
        (h.doc_id, h.paragraph) for h in results
    )
    assert {h.score for h in results} == {0.0} and all(h.highlights == [] for h in results)


def test_a_query_of_stopwords_only_still_finds_nothing(seeds_index):
    assert seeds_index.search("le la les").total == 0


@pytest.mark.parametrize(
    "query",
    [
        '"munitions',
        "(munitions",
        "munitions)",
        ":",
        "*",
        "~",
        "^",
        "munitions:",
        "OR",
        "-",
        '"',
        "()",
        "date:",
        "\x00",
        "‮",
    ],
)
def test_stray_syntax_returns_results_or_nothing(seeds_index, query):
    results = seeds_index.search(query)
    assert results.total >= 0
    if "munitions" in query:
        assert where(results)[0] == ("003", 1)


def test_stopword_only_query_returns_nothing(seeds_index):
    assert seeds_index.search("le la les").total == 0


def test_huge_query_is_answered_quickly(seeds_index):
    query = ("munitions " + "paragraphe inexistant " * 800)[:10_000]
    started = time.perf_counter()
    results = seeds_index.search(query)
    assert time.perf_counter() - started < 2
    assert where(results)[0] == ("003", 1)


def test_bad_limit(seeds_index):
    with pytest.raises(ValueError, match="limit must be a positive whole number"):
        seeds_index.search("ukraine", limit=0)


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(
        nato_search.IndexNotFoundError,
        match=r"no index at .*nowhere; build one with `nato-search index",
    ):
        nato_search.open_index(tmp_path / "nowhere")


def test_search_from_many_threads_at_once(seeds_index):
    expected = {
        q: where(seeds_index.search(q))
        for q in ("munitions", "allies", "ukraine -russie", '"conseil otan ukraine"')
    }
    errors, seen = [], []

    def worker():
        try:
            for _ in range(25):
                for query, answer in expected.items():
                    seen.append(where(seeds_index.search(query)) == answer)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(seen) == 800 and all(seen)


def test_closed_index_refuses_to_search(tmp_path):
    with nato_search.build_index(
        [Document("a", "Titre", None, ["La paix."])], tmp_path / "ix"
    ) as ix:
        assert len(ix) == 1
    with pytest.raises(ValueError, match="is closed"):
        ix.search("paix")


def test_html_snippet_escapes_the_document_text(tmp_path):
    text = 'Le <script>alert("x")</script> & <mark>faux</mark> de la paix.'
    with nato_search.build_index([Document("a", "Titre", None, [text])], tmp_path / "ix") as ix:
        [hit] = ix.search("paix")
    html = hit.snippet("html")
    assert html == (
        "Le &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; "
        "&lt;mark&gt;faux&lt;/mark&gt; de la <mark>paix</mark>."
    )
    assert hit.snippet("text") == 'Le <script>alert("x")</script> & <mark>faux</mark> de la [paix].'


def test_title_words_find_every_paragraph_but_no_phrase_spans_title_and_text(tmp_path):
    doc = Document(
        id="v",
        title="Sommet de Vilnius",
        date=None,
        paragraphs=["Les Alliés arrivent.", "Les Ukrainiens aussi."],
    )
    with nato_search.build_index([doc], tmp_path / "ix") as ix:
        results = ix.search("vilnius")
        assert sorted(hit.paragraph for hit in results) == [0, 1]
        assert [hit.highlights for hit in results] == [[], []]  # the title is not in hit.text
        assert ix.search('"vilnius alliés"').total == 0
        assert ix.search('"sommet vilnius"').total == 2


def test_highlights_from_the_indexed_word_forms_are_those_of_analysis(seeds_index):
    """Hits are highlighted from the index's record of its words as written; it must mark
    exactly what analyzing every word of the hit marks, names, typos and synonyms included."""
    import random

    from nato_search.highlight import Highlighter
    from nato_search.readers.corpus import read_documents
    from nato_search.text.tokenizer import words

    rng = random.Random(3)
    seeds = read_documents(SEEDS)
    vocabulary = sorted({w for d in seeds for p in d.paragraphs for w in words(p)})
    queries = [" ".join(rng.sample(vocabulary, rng.randint(1, 4))) for _ in range(150)]
    queries += ["OTAN Ukraine", "l'Otan munitons", "Poutine Putin", "Stoltemberg", "obus"]
    compared = marked_words = 0
    with seeds_index._snapshot() as snapshot:
        for query in queries:
            plan = seeds_index.plan(query)
            if plan is None:
                continue
            fast = Highlighter(plan.query, snapshot.analyzer, snapshot.names, snapshot.written)
            plain = Highlighter(plan.query, snapshot.analyzer, snapshot.names)
            assert fast._fields[0][3] is not None  # the record was used
            for hit in seeds_index.search(query, limit=5):
                for text in (hit.text, hit.title):
                    assert fast(text) == plain(text), (query, text)
                    compared += 1
                    marked_words += len(plain(text))
    assert compared > 300 and marked_words > 500


# --- numbers --------------------------------------------------------------------

NUMBER_DOCUMENTS = [
    Document("a", "", None, ["Ils envoient 13 000 soldats."]),
    Document("b", "", None, ["Ils envoient 13.000 soldats."]),
    Document("c", "", None, ["Ils envoient 13 soldats et 000 canons."]),
]


@pytest.mark.parametrize("query", ["13 000", "13000", "13.000", "13\u202f000", '"13 000 soldats"'])
def test_a_number_is_found_however_its_thousands_are_written(tmp_path, backend, query):
    from backends import built

    with built(NUMBER_DOCUMENTS, tmp_path / "ix", backend) as ix:
        found = ix.search(query, fuzzy=False)
        assert [h.doc_id for h in found] == ["a", "b"]
        spans = [(13, 19), (20, 27)] if "soldats" in query else [(13, 19)]
        assert [h.highlights for h in found] == [spans, spans]
        assert [h.doc_id for h in ix.search("13 soldats", fuzzy=False)] == ["c", "a", "b"]


# --- the coarse level -----------------------------------------------------------

COARSE_DOCUMENTS = [
    Document("a", "", None, ["Le pont de pierre."]),
    Document("b", "", None, ["Le pont construit."]),
    Document("c", "", None, ["Le pont de 2022."]),
]


def test_the_coarse_level_lifts_a_word_of_the_same_family(tmp_path, backend):
    """``construction`` finds no paragraph (its stem is not ``construit``'s), but among the
    paragraphs holding ``pont`` it lifts the one holding a word starting with ``const``."""
    from backends import built

    with built(COARSE_DOCUMENTS, tmp_path / "ix", backend) as ix:
        found = ix.search("pont construction", fuzzy=False)
        assert [h.doc_id for h in found] == ["b", "a", "c"]
        assert found[0].score > found[1].score == found[2].score
        assert [h.doc_id for h in ix.search("construction", fuzzy=False)] == []
    off = nato_search.RankingSettings(coarse_weight=0.0)
    with built(COARSE_DOCUMENTS, tmp_path / "ix-off", backend, settings=off) as ix:
        plain = ix.search("pont construction", fuzzy=False)
        assert [h.doc_id for h in plain] == ["a", "b", "c"]  # tied: by document
        assert found[1].score == pytest.approx(1.5 * plain[1].score)  # pont's coarse half


def test_the_coarse_prefixes_are_the_words_first_letters(tmp_path):
    with nato_search.build_index(COARSE_DOCUMENTS, tmp_path / "ix") as ix:
        plan = ix.plan('munitions "pont construit" 2022 F16 munition -pierre', fuzzy=False)
        assert plan is not None
        # munitions and munition are one term; numbers and words with digits have none;
        # phrases give theirs, excluded words do not.
        assert plan.coarse == ("const", "munit", "pont")
        assert plan.coarse_weight == 0.5


@pytest.mark.parametrize("invisible", ["\u00ad", "\u200b", "\u200d", "\u2060", "\u200e", "\ufeff"])
def test_a_word_written_with_an_invisible_character_is_found_and_marked_whole(
    tmp_path, backend, invisible
):
    from backends import built

    written = f"muni{invisible}tions"
    text = f"Les {written} manquent. Les obus aussi."
    with built([Document("a", "Front", None, [text])], tmp_path / "ix", backend) as ix:
        for query in ("munitions", written, f'"{written} manquent"'):
            [hit] = ix.search(query)
            assert marked(hit)[0] == written, query
