"""What an app needs: metadata, filters, paging, one hit per document, sorting, facets,
as-you-type, documents, more-like-this, JSON and pickling, with the same expectations on
every backend (the Whoosh index, local Xapian shards, served Xapian shards)."""

import datetime as dt
import json
import pickle
import random
from collections import Counter

import pytest
from app_corpus import DOCUMENTS
from backends import BACKENDS, built
from unidecode import unidecode

import nato_search
from nato_search import CorpusError, Document
from nato_search.errors import OptionError


@pytest.fixture(scope="module", params=BACKENDS)
def app_index(request, tmp_path_factory):
    with built(DOCUMENTS, tmp_path_factory.mktemp("app") / "ix", request.param) as ix:
        yield ix


def where(results):
    return [(hit.doc_id, hit.paragraph) for hit in results]


# -- metadata ---------------------------------------------------------------------------


def test_hits_carry_their_documents_metadata(app_index):
    hits = {hit.doc_id: hit for hit in app_index.search("ukraine", limit=50)}
    assert hits["kyiv"].metadata == {
        "source": "AFP",
        "tags": ["défense", "ukraine"],
        "pages": 3,
        "urgent": True,
    }
    assert hits["patriot"].metadata["urgent"] is None
    assert hits["bruxelles"].metadata == {"source": "AFP", "tags": [], "pages": 1.5}
    assert hits["note"].metadata == {}


def test_update_replaces_the_metadata(tmp_path, backend):
    first = Document("a", "Titre", None, ["Les munitions arrivent."], {"source": "AFP"})
    with built([first], tmp_path / "ix", backend) as ix:
        ix.update([Document("a", "Titre", None, ["Les munitions arrivent."], {"tags": ["x"]})])
        assert ix.search("munitions")[0].metadata == {"tags": ["x"]}
        with pytest.raises(OptionError, match="unknown field 'source'"):
            ix.search("munitions", filter={"source": "AFP"})  # no paragraph holds it any more
        assert ix.search("munitions", filter={"tags": "x"}).total == 1


def test_jsonl_keys_other_than_the_documents_own_go_to_metadata(tmp_path):
    source = tmp_path / "news.jsonl"
    record = {
        "id": 7,
        "title": "Titre",
        "date": "2024-01-02",
        "text": "Un paragraphe.",
        "url": "https://example.org/7",
        "tags": ["a", "b"],
        "score": 4.5,
        "draft": False,
        "author": None,
    }
    source.write_text(json.dumps(record) + "\n", encoding="utf-8")
    [document] = nato_search.read_documents(source)
    assert document.metadata == {
        "url": "https://example.org/7",
        "tags": ["a", "b"],
        "score": 4.5,
        "draft": False,
        "author": None,
    }


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"author": {"name": "x"}}, r"news.jsonl:1: document '1': metadata 'author' must be"),
        ({"tags": [["a"]]}, r"news.jsonl:1: document '1': metadata 'tags' must be"),
        ({"year": 2024}, r"metadata key 'year' is reserved"),
        ({"doc_id": "x"}, r"metadata key 'doc_id' is reserved"),
        ({"a=b": 1}, r"metadata key 'a=b' must be a non-empty string without '='"),
    ],
)
def test_metadata_that_is_not_plain_json_is_an_error_naming_document_and_key(
    tmp_path, extra, message
):
    source = tmp_path / "news.jsonl"
    source.write_text(json.dumps({"id": 1, "text": "Un texte.", **extra}) + "\n", "utf-8")
    with pytest.raises(CorpusError, match=message):
        list(nato_search.read_documents(source, strict=True))


def test_a_document_made_in_python_checks_its_metadata():
    with pytest.raises(TypeError, match=r"Document 'a': metadata 'when' must be a str"):
        Document("a", "T", None, ["x"], {"when": dt.date(2024, 1, 1)})
    with pytest.raises(TypeError, match=r"metadata must be a dict, not list"):
        Document("a", "T", None, ["x"], ["x"])  # type: ignore[arg-type]


# -- filters ----------------------------------------------------------------------------


def test_filters_match_exact_values_and_across_keys(app_index):
    assert where(app_index.search("ukraine", filter={"tags": "diplomatie"})) == [
        ("vilnius", 2),
        ("vilnius", 1),
        ("washington", 1),
    ]
    both = app_index.search("ukraine", filter={"urgent": True, "source": ["AFP", "Reuters"]})
    assert where(both) == [("kyiv", 0), ("kyiv", 2), ("kyiv", 1)]
    assert where(app_index.search("otan", filter={"pages": 1.5})) == [("bruxelles", 0)]
    assert where(app_index.search("otan", filter={"pages": "1.5"})) == [("bruxelles", 0)]
    assert where(app_index.search("russie", filter={"doc_id": ["kyiv", "note", "zz"]})) == [
        ("kyiv", 1)
    ]
    assert app_index.search("ukraine", filter={"source": "afp"}).total == 0  # exact case


def test_long_values_filter_and_count_whole(tmp_path, backend):
    """Xapian refuses terms over 245 bytes: long values still filter exactly and count whole."""
    long_a, long_b = "https://example.org/" + "a" * 300, "https://example.org/" + "a" * 299 + "b"
    docs = [
        Document("a", "T", None, ["Les munitions arrivent."], {"url": long_a}),
        Document("b", "T", None, ["Les munitions partent."], {"url": long_b}),
    ]
    with built(docs, tmp_path / "ix", backend) as ix:
        assert where(ix.search("munitions", filter={"url": long_b})) == [("b", 0)]
        assert ix.search("munitions", facets=["url"]).facets == {"url": {long_a: 1, long_b: 1}}


def test_an_unknown_key_is_an_error_and_an_empty_list_matches_nothing(app_index):
    with pytest.raises(OptionError, match=r"unknown field 'nope'; known fields: "):
        app_index.search("ukraine", filter={"nope": "x"})
    assert app_index.search("ukraine", filter={"tags": []}).total == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"filter": {"tags": {"a": 1}}}, r"filter: 'tags': values are str"),
        (
            {"filter": {"urgent": None}},
            r"filter: 'urgent': values are str, numbers or bools, not None",
        ),
        ({"filter": {"month": 1}}, r"filter: unknown field 'month'"),
        ({"filter": ["tags"]}, r"filter is an expression or a dict"),
        ({"facets": ["sourc"]}, r"facets: unknown name 'sourc'; known names: 'doc_id', 'month'"),
        ({"offset": -1}, r"offset must be a whole number, 0 or more, not -1"),
        ({"offset": True}, r"offset must be"),
        (
            {"sort": "title"},
            r"sort: unknown field 'title'; known fields: 'date', 'doc_id', 'pages'",
        ),
        ({"sort": ["date", "-date"]}, r"sort: 'date' is given twice"),
        ({"sort": []}, r"sort is a field, '-field' or a list of them"),
        ({"sort": ["-"]}, r"sort fields are names"),
        ({"sort": 3}, r"sort is a field"),
        ({"recency": 0}, r"recency must be None or a number of days above 0, not 0"),
        ({"recency": float("inf")}, r"recency must be"),
        ({"recency": True}, r"recency must be"),
        ({"per_document": 0}, r"per_document must be None or a positive whole number"),
        ({"facets": ["a=b"]}, r"facets must be names without '='"),
    ],
)
def test_bad_options_are_errors_naming_them(app_index, options, message):
    with pytest.raises(ValueError, match=message):
        app_index.search("ukraine", **options)


# -- paging, sorting, one hit per document ---------------------------------------------------


def test_offset_returns_the_same_hits_as_a_longer_search(app_index):
    whole = app_index.search("munitions ukraine", limit=20)
    page = app_index.search("munitions ukraine", limit=3, offset=3)
    assert where(page) == where(whole)[3:6] and page.total == whole.total == 9
    assert page.offset == 3
    past = app_index.search("munitions ukraine", offset=50)
    assert len(past) == 0 and past.total == 9


def test_scores_never_increase_down_the_list(app_index):
    results = app_index.search("munitions ukraine", limit=20)
    assert [h.matched_all for h in results] == [True] * 7 + [False] * 2
    scores = [h.score for h in results]
    assert scores == sorted(scores, reverse=True)


def test_sort_by_date_puts_undated_last_both_ways(app_index):
    newest = app_index.search("ukraine", sort="-date", limit=20)
    assert [h.date.year if h.date else None for h in newest] == [
        2024,
        2023,
        2023,
        2023,
        2022,
        2022,
        2022,
        2021,
        None,
    ]
    oldest = app_index.search("ukraine", sort="date", limit=20)
    assert [h.date.year if h.date else None for h in oldest] == [
        2021,
        2022,
        2022,
        2022,
        2023,
        2023,
        2023,
        2024,
        None,
    ]
    # within a day, relevance
    assert where(oldest)[1:4] == [("kyiv", 0), ("kyiv", 2), ("kyiv", 1)]


def test_sort_by_a_number_field_numerically_missing_last_both_ways(app_index):
    most = app_index.search("ukraine", sort="-pages", limit=20)
    assert [h.metadata.get("pages") for h in most] == [12, 3, 3, 3, 3, 2, 2, 1.5, None]
    least = app_index.search("ukraine", sort="pages", limit=20)
    assert [h.metadata.get("pages") for h in least] == [1.5, 2, 2, 3, 3, 3, 3, 12, None]
    # equal values: relevance, as without a sort
    threes = [(h.doc_id, h.paragraph) for h in least if h.metadata.get("pages") == 3]
    assert threes == [
        w for w in where(app_index.search("ukraine", limit=20)) if w[0] in ("kyiv", "patriot")
    ]


def test_sort_by_several_fields_breaks_ties_with_the_next(app_index):
    results = app_index.search("munitions", sort=["source", "-date"], limit=20)
    assert [(h.metadata.get("source"), h.doc_id) for h in results] == [
        ("AFP", "patriot"),
        ("AFP", "kyiv"),
        ("AFP", "kyiv"),
        ("AFP", "kyiv"),
        ("Le Monde", "washington"),
        ("Reuters", "vilnius"),
        (None, "note"),
    ]


def test_a_list_field_sorts_by_its_least_or_greatest_value(app_index):
    up = app_index.search("", sort=["tags", "doc_id"], per_document=1, limit=20)
    assert [h.doc_id for h in up] == [
        "kyiv",
        "patriot",
        "vilnius",
        "washington",
        "bruxelles",
        "note",
    ]
    down = app_index.search("", sort=["-tags", "doc_id"], per_document=1, limit=20)
    assert [h.doc_id for h in down] == [
        "kyiv",
        "washington",
        "vilnius",
        "patriot",
        "bruxelles",
        "note",
    ]


def test_sort_by_doc_id_and_year(app_index):
    ids = app_index.search("ukraine", sort="-doc_id", per_document=1, limit=20)
    assert [h.doc_id for h in ids] == [
        "washington",
        "vilnius",
        "patriot",
        "note",
        "kyiv",
        "bruxelles",
    ]
    years = app_index.search("ukraine", sort=["year", "-doc_id"], per_document=1, limit=20)
    assert [h.doc_id for h in years] == [
        "bruxelles",
        "kyiv",
        "vilnius",
        "patriot",
        "washington",
        "note",
    ]


def _model_key(hit, spec):
    """A hit's sort key for ``spec`` as the docs define it, computed here from the hit."""
    name, descending = (spec[1:], True) if spec.startswith("-") else (spec, False)
    if name in ("date", "year"):
        values = (
            [] if hit.date is None else [hit.date.toordinal() if name == "date" else hit.date.year]
        )
    elif name == "doc_id":
        values = [hit.doc_id.encode("utf-8")]
    else:
        held = hit.metadata.get(name)
        held = held if isinstance(held, list) else [] if held is None else [held]
        values = [
            (0, v, "")
            if isinstance(v, (int, float)) and not isinstance(v, bool)
            else (1, unidecode(json.dumps(v) if not isinstance(v, str) else v).casefold(), v)
            for v in held
        ]
    if not values:
        return (1, 0)
    chosen = max(values) if descending else min(values)
    return (0, _Reversed(chosen) if descending else chosen)


class _Reversed:
    def __init__(self, value):
        self.value = value

    def __lt__(self, other):
        return other.value < self.value

    def __eq__(self, other):
        return self.value == other.value


@pytest.mark.parametrize("seed", range(12))
def test_random_sorts_order_the_relevance_list_as_the_model(app_index, seed):
    chance = random.Random(seed)
    fields = ["date", "year", "doc_id", "source", "tags", "pages", "urgent"]
    specs = [
        ("-" if chance.random() < 0.5 else "") + f
        for f in chance.sample(fields, chance.randint(1, 3))
    ]
    query = chance.choice(["ukraine", "munitions OR russie", "", "alliance -russie", "otan"])
    relevance = list(app_index.search(query, limit=50))
    sorted_hits = app_index.search(query, sort=specs, limit=50)
    expected = sorted(relevance, key=lambda h: [_model_key(h, spec) for spec in specs])
    assert where(sorted_hits) == where(expected), specs
    assert sorted_hits.total == len(relevance)
    for per_document in (None, 1, 2):
        kept, seen = [], Counter()
        for hit in expected:
            seen[hit.doc_id] += 1
            if per_document is None or seen[hit.doc_id] <= per_document:
                kept.append(hit)
        whole = app_index.search(query, sort=specs, per_document=per_document, limit=50)
        assert where(whole) == where(kept)
        for limit, offset in ((1, 0), (2, 1), (3, 2)):  # the first key cuts the candidates
            page = app_index.search(
                query, limit, offset=offset, sort=specs, per_document=per_document
            )
            assert where(page) == where(kept)[offset : offset + limit], (specs, per_document)
            assert page.total == whole.total


@pytest.mark.parametrize("seed", range(6))
def test_per_document_pages_by_relevance_as_the_whole_list(app_index, seed):
    chance = random.Random(seed)
    query = chance.choice(["ukraine", "munitions OR russie", "alliance -russie", "otan", ""])
    for per_document in (1, 2):
        whole = app_index.search(query, limit=50, per_document=per_document)
        for limit, offset in ((1, 0), (2, 1), (3, 3)):
            page = app_index.search(query, limit, offset=offset, per_document=per_document)
            assert where(page) == where(whole)[offset : offset + limit]
            assert page.total == whole.total


def test_a_placeholder_search_lists_every_paragraph_with_total_and_facets(app_index):
    everything = app_index.search("", limit=100, facets=["source", "year"])
    assert everything.total == len(app_index) == 16 == len(everything)
    assert where(everything) == sorted(where(everything))  # index order: id, paragraph
    assert everything.facets["source"] == {"AFP": 7, "Le Monde": 4, "Reuters": 3}
    newest = app_index.search(None, filter="source = AFP", sort="-date", per_document=1)
    assert [h.doc_id for h in newest] == ["patriot", "kyiv", "bruxelles"] and newest.total == 3
    paged = app_index.search("", limit=5, offset=5)
    assert where(paged) == where(everything)[5:10] and paged.total == 16


def test_recency_halves_relevance_per_half_life_from_the_newest_date(app_index):
    plain = {(h.doc_id, h.paragraph): h.score for h in app_index.search("russie", limit=20)}
    recent = app_index.search("russie", recency=365, limit=20)
    newest = dt.date(2024, 4, 4)
    for hit in recent:
        age = (newest - (hit.date or dt.date(2021, 6, 14))).days
        assert hit.score == pytest.approx(plain[(hit.doc_id, hit.paragraph)] * 0.5 ** (age / 365))
    assert recent[0].doc_id == "washington"
    scores = [h.score for h in recent]
    assert scores == sorted(scores, reverse=True) and recent.total == len(plain)


def test_recency_keeps_all_words_first(app_index):
    results = app_index.search("munitions ukraine", recency=30, limit=20)
    assert [h.matched_all for h in results] == [True] * 7 + [False] * 2
    scores = [h.score for h in results]
    assert scores == sorted(scores, reverse=True)


def test_a_date_filter_alone_sorted_newest_first(app_index):
    results = app_index.search("date:2023..", sort="-date", limit=20)
    assert [h.doc_id for h in results] == ["washington"] * 4 + ["patriot"] * 2 + ["vilnius"] * 3


def test_per_document_keeps_the_best_paragraphs_and_counts_documents(app_index):
    one = app_index.search("munitions", per_document=1)
    assert where(one) == [
        ("kyiv", 0),
        ("note", 0),
        ("patriot", 0),
        ("vilnius", 1),
        ("washington", 1),
    ]
    assert one.total == 5
    two = app_index.search("munitions ukraine", per_document=2, limit=20)
    assert Counter(h.doc_id for h in two) == {
        "kyiv": 2,
        "note": 1,
        "patriot": 1,
        "vilnius": 2,
        "washington": 1,
        "bruxelles": 1,
    }
    assert where(two)[:2] == [("kyiv", 0), ("kyiv", 2)] and two.total == 6


# -- facets -----------------------------------------------------------------------------

FACETS = ["year", "month", "doc_id", "source", "tags", "pages", "urgent"]


def test_facets_count_every_match_most_frequent_first(app_index):
    results = app_index.search("ukraine", limit=1, facets=FACETS)
    assert results.facets == {
        "year": {"2022": 3, "2023": 3, "2021": 1, "2024": 1},
        "month": {"2022-03": 3, "2023-07": 2, "2021-06": 1, "2023-11": 1, "2024-04": 1},
        "doc_id": {
            "kyiv": 3,
            "vilnius": 2,
            "bruxelles": 1,
            "note": 1,
            "patriot": 1,
            "washington": 1,
        },
        "source": {"AFP": 5, "Reuters": 2, "Le Monde": 1},
        "tags": {"défense": 4, "ukraine": 4, "diplomatie": 3},
        "pages": {"3": 4, "2": 2, "1.5": 1, "12": 1},
        "urgent": {"true": 4, "false": 2},
    }
    assert list(results.facets["tags"]) == ["défense", "ukraine", "diplomatie"]


def test_with_per_document_facets_count_documents(app_index):
    results = app_index.search("ukraine", facets=["year", "source", "doc_id"], per_document=1)
    assert results.facets == {
        "year": {"2023": 2, "2021": 1, "2022": 1, "2024": 1},
        "source": {"AFP": 3, "Le Monde": 1, "Reuters": 1},
        "doc_id": dict.fromkeys(
            ["bruxelles", "kyiv", "note", "patriot", "vilnius", "washington"], 1
        ),
    }


def by_hand(hits, name, documents):
    """Counts made from an unlimited search's hits."""
    counts = Counter()
    seen = set()
    for hit in hits:
        if documents and hit.doc_id in seen:
            continue
        seen.add(hit.doc_id)
        if name == "year":
            values = [f"{hit.date.year:04d}"] if hit.date else []
        elif name == "month":
            values = [hit.date.isoformat()[:7]] if hit.date else []
        elif name == "doc_id":
            values = [hit.doc_id]
        else:
            value = hit.metadata.get(name)
            items = value if isinstance(value, list) else [value]
            values = [v if isinstance(v, str) else json.dumps(v) for v in items if v is not None]
        counts.update(values)
    return dict(counts)


@pytest.mark.parametrize(
    "query", ["ukraine", "munitions OR russie", "otan", "alliance -russie", "date:2022..2023"]
)
@pytest.mark.parametrize(
    "options", [{}, {"filter": {"source": "AFP"}}, {"per_document": 1}, {"sort": "date"}]
)
def test_facet_counts_equal_counts_by_hand(app_index, query, options):
    results = app_index.search(query, facets=FACETS, limit=1, **options)
    everything = app_index.search(query, limit=10_000, **options)
    per_document = "per_document" in options
    for name in FACETS:
        assert results.facets[name] == by_hand(everything, name, per_document), name
        counts = list(results.facets[name].items())
        assert counts == sorted(counts, key=lambda item: (-item[1], item[0]))


# -- hits, results, JSON, pickling --------------------------------------------------------


def test_a_hit_matched_by_its_title_shows_the_title_highlights(app_index):
    [hit] = app_index.search("soixante", limit=1)
    assert hit.title_highlights == [(0, 8)] and hit.title[0:8] == "Soixante"
    alliance = app_index.search("alliance ukraine", limit=1)[0]
    assert (alliance.doc_id, alliance.paragraph) == ("washington", 1)
    assert alliance.title_highlights == [(25, 33)] and alliance.highlights == [(56, 63)]


def test_hit_to_dict_is_json_ready(app_index):
    hit = app_index.search("alliance ukraine", limit=1)[0]
    data = hit.to_dict()
    assert data == {
        "doc_id": "washington",
        "title": "Soixante-quinze ans de l'Alliance",
        "date": "2024-04-04",
        "paragraph": 1,
        "page": None,
        "score": hit.score,
        "matched_all": True,
        "text": "Les Alliés promettent des munitions et des missiles à l'Ukraine.",
        "highlights": [[56, 63]],
        "title_highlights": [[25, 33]],
        "snippet": "Les Alliés promettent des munitions et des missiles à l'[Ukraine].",
        "metadata": {
            "source": "Le Monde",
            "tags": ["diplomatie", "ukraine"],
            "pages": 12,
            "urgent": True,
        },
    }
    assert json.loads(json.dumps(data)) == data


def test_results_to_dict_round_trips_through_json(app_index):
    results = app_index.search("munitons", limit=2, offset=1, facets=["year"])
    data = results.to_dict()
    assert list(data) == ["query", "total", "offset", "suggestion", "partial", "facets", "hits"]
    assert data["query"] == "munitons" and data["suggestion"] == "munitions"
    assert data["total"] == 7 and data["offset"] == 1 and data["partial"] is False
    assert data["facets"] == {"year": {"2022": 3, "2023": 2, "2024": 1}}
    assert [(h["doc_id"], h["paragraph"]) for h in data["hits"]] == where(results)
    assert json.loads(json.dumps(data)) == data
    empty = app_index.search("xylophone", facets=["year"]).to_dict()
    assert empty["hits"] == [] and empty["total"] == 0 and empty["facets"] == {"year": {}}


def test_results_pickle_and_outlive_the_index(tmp_path, backend):
    with built(DOCUMENTS, tmp_path / "ix", backend) as ix:
        results = ix.search("ukraine", facets=["source"], offset=2)
    again = pickle.loads(pickle.dumps(results))
    assert again.total == results.total == 9
    assert list(again) == list(results) and again.facets == results.facets
    assert again.offset == 2 and again.to_dict() == results.to_dict()


# -- documents, more like this --------------------------------------------------------------


def test_document_returns_paragraphs_in_order_with_metadata(app_index):
    assert app_index.document("vilnius") == DOCUMENTS[1]
    assert app_index.document("note") == DOCUMENTS[5]
    assert app_index.document("zz") is None
    assert app_index.documents == 6 and len(app_index) == 16


def test_documents_counts_after_deletes(tmp_path, backend):
    with built(DOCUMENTS, tmp_path / "ix", backend) as ix:
        assert ix.delete(["kyiv"]) == 3
        assert ix.documents == 5 and ix.document("kyiv") is None
        ix.add([Document("new", "T", None, ["un", "deux"])])
        assert ix.documents == 6 and len(ix) == 15


def test_more_like_a_paragraph_finds_other_documents(app_index):
    results = app_index.more_like("washington", 1)
    assert results.query == "alli missil munition ukrain"
    assert "washington" not in {h.doc_id for h in results}
    assert where(results)[:3] == [("vilnius", 1), ("vilnius", 2), ("kyiv", 0)]
    assert app_index.more_like("washington", limit=2).total > 2
    assert len(app_index.more_like("zz")) == 0
    with pytest.raises(ValueError, match=r"paragraph must be None or 0 to 3 for 'washington'"):
        app_index.more_like("washington", 4)


# -- as you type --------------------------------------------------------------------------


def test_prefix_completes_the_last_word_and_marks_it(app_index):
    results = app_index.search("muni", prefix=True, limit=20)
    assert where(results) == where(app_index.search("munitions", limit=20))
    assert results[0].highlights == [(17, 26)] and results[0].text[17:26] == "munitions"
    assert app_index.search("muni").total == 0  # off by default


def test_prefix_ranks_completions_below_the_word_itself(tmp_path, backend):
    docs = [
        Document("exact", "T", None, ["Le mot sommet."]),
        Document("longer", "T", None, ["Les sommets de la semaine."]),
        Document("other", "T", None, ["La somme payée."]),
    ]
    with built(docs, tmp_path / "ix", backend) as ix:
        results = ix.search("somm", prefix=True)
        assert where(results) == [("other", 0), ("exact", 0), ("longer", 0)]
        assert results[0].highlights == [(3, 8)]


@pytest.mark.parametrize("query", ["muni ", "muni.", "mu", '"muni', "otan -muni"])
def test_prefix_only_for_a_last_word_still_being_typed(app_index, query):
    assert where(app_index.search(query, prefix=True)) == where(app_index.search(query))


# -- pages as written ---------------------------------------------------------------------

PAGE = (
    "# Les Alliés livrent des obus\n\n"
    "InternationalTunisie\n\n"
    "General view of the meeting\n\n"
    "Les Alliés ont livré des obus le 3 avril 2024.\n"
)


def test_clean_false_keeps_every_paragraph_of_a_page(tmp_path):
    page = tmp_path / "obus.txt"
    page.write_text(PAGE, "utf-8")
    [cleaned] = nato_search.read_documents(page)
    assert cleaned.paragraphs == ["Les Alliés ont livré des obus le 3 avril 2024."]
    [plain] = nato_search.read_documents(page, clean=False)
    assert plain.title == "Les Alliés livrent des obus" and plain.date == dt.date(2024, 4, 3)
    assert plain.paragraphs == [
        "InternationalTunisie",
        "General view of the meeting",
        "Les Alliés ont livré des obus le 3 avril 2024.",
    ]


def test_cli_index_no_clean(tmp_path, capsys):
    from nato_search.cli import main

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "obus.txt").write_text(PAGE, "utf-8")
    index = str(tmp_path / "ix")
    assert main(["index", str(tmp_path / "docs"), "--index", index, "--no-clean"]) == 0
    assert capsys.readouterr().out == f"indexed 3 paragraphs from 1 file (1 text) into {index}\n"
    assert main(["index", str(tmp_path / "docs"), "--index", index, "--rebuild"]) == 0
    assert capsys.readouterr().out == f"indexed 1 paragraphs from 1 file (1 text) into {index}\n"


# -- threads ----------------------------------------------------------------------------


def test_threads_that_first_need_document_numbers_agree(tmp_path, backend):
    """The document numbers are made by the first search that needs them (Whoosh); threads
    racing to make them, or to borrow shard connections (Xapian), all get the same answers."""
    from concurrent.futures import ThreadPoolExecutor

    with built(DOCUMENTS, tmp_path / "ix", backend) as ix:

        def search(_):
            results = ix.search("ukraine", per_document=1, facets=["doc_id", "tags"], limit=20)
            return where(results), results.total, results.facets, ix.documents

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(search, range(32)))
    assert all(answer == answers[0] for answer in answers)
    assert answers[0][1] == 6 and answers[0][3] == 6


# -- metadata, stored once per document ---------------------------------------------------


def folder_size(path):
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def test_metadata_is_stored_once_per_document_and_every_hit_has_it(tmp_path, backend):
    """64 KiB of metadata on a document of 200 paragraphs costs about 64 KiB, not 200 times
    that; every paragraph's hit (after updates and a merge too) carries it."""
    rng = random.Random(9)
    notes = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(60_000))
    metadata = {"source": "AFP", "notes": notes, "tags": ["a", "b"]}
    big = Document("big", "Gros", None, [f"Les munitions {n}." for n in range(200)], metadata)
    small = Document("small", "Petit", None, ["Les munitions."] * 3, {"source": "Reuters"})
    with built([big, small], tmp_path / "ix", backend) as ix:
        assert folder_size(tmp_path / "ix") < 2_000_000
        for _ in range(3):  # new segments, then a merge of small ones
            ix.update([small])
        hits = ix.search("munitions", limit=203)
        assert len(hits) == 203
        for hit in hits:
            assert hit.metadata == (metadata if hit.doc_id == "big" else {"source": "Reuters"})
        assert ix.document("big").metadata == metadata
        assert ix.search("munitions", filter={"tags": "b"}).total == 200


def test_metadata_larger_than_the_limit_is_refused_naming_the_document(tmp_path):
    from nato_search.readers.corpus import MAX_METADATA_BYTES

    with pytest.raises(ValueError, match=r"Document 'a': metadata takes [\d,]+ bytes as JSON"):
        Document("a", "T", None, ["x"], {"notes": "é" * MAX_METADATA_BYTES})
    Document("a", "T", None, ["x"], {"notes": "x" * (MAX_METADATA_BYTES - 20)})
    source = tmp_path / "big.jsonl"
    line = json.dumps({"id": "a", "text": "x", "notes": "y" * (MAX_METADATA_BYTES + 1)})
    source.write_text('{"id": "ok", "text": "x"}\n' + line + "\n", "utf-8")
    with pytest.raises(CorpusError, match=r"big\.jsonl:2: document 'a': metadata takes"):
        nato_search.build_index(source, tmp_path / "ix", strict=True)


def test_long_ids_and_values_work_alike_on_every_backend(tmp_path, backend):
    """Xapian's terms hold 245 bytes: longer ids and values are cut and hashed there, and
    facets still show them whole."""
    long_id = "https://example.org/" + "é" * 300
    value = "v" * 1000
    documents = [
        Document(long_id, "Long", None, ["Les munitions.", "Encore des munitions."], {"k": value}),
        Document(long_id[:-1], "Long", None, ["Les munitions."], {"k": [value + "x", "court"]}),
    ]
    with built(documents, tmp_path / "ix", backend) as ix:
        results = ix.search("munitions", facets=["k", "doc_id"], per_document=1)
        assert results.facets == {
            "k": {"court": 1, value: 1, value + "x": 1},
            "doc_id": {long_id: 1, long_id[:-1]: 1},
        }
        assert ix.search("munitions", filter={"k": value}).total == 2
        assert ix.search("munitions", filter={"doc_id": long_id[:-1]}).total == 1
        assert ix.document(long_id).paragraphs[1] == "Encore des munitions."
        assert ix.documents == 2
        assert ix.delete([long_id]) == 2
        assert ix.search("munitions").total == 1
