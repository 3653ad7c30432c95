"""Fields in the query language: ``title:`` and ``text:`` scope words and phrases (exactly,
on every backend: a phrase side by side in the text but only in order in the title is in
the text), a metadata key filters as the expression form does, anything else with a
colon is read as before; highlights follow the scope."""

import json

import pytest
from app_corpus import DOCUMENTS
from backends import BACKENDS, built
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nato_search import Document
from nato_search.engines.fields import body_start, indexed_text
from nato_search.query.syntax import FieldFilter, Terms, parse
from nato_search.text.analyzer import analyze, french_analyzer

KEYS = ("doc_id", "source", "tags", "pages")


def terms_of(text):
    return [t for t, *_ in analyze(text)]


def p(text):
    return parse(text, terms_of, KEYS)


@pytest.fixture(scope="module", params=BACKENDS)
def ix(request, tmp_path_factory):
    with built(DOCUMENTS, tmp_path_factory.mktemp("fields") / "ix", request.param) as index:
        yield index


def where(results):
    return [(hit.doc_id, hit.paragraph) for hit in results]


# -- parsing ------------------------------------------------------------------------------


def test_scopes_are_read_into_the_words():
    assert p("title:otan ukraine").include == [
        Terms("otan", ("otan",), scope="title"),
        Terms("ukraine", ("ukrain",)),
    ]
    assert p('text:"sommet de Vilnius"').include == [
        Terms("sommet de Vilnius", ("sommet", "vilniu"), scope="text")
    ]
    excluded = p("-title:russie otan")
    assert excluded.include == [Terms("otan", ("otan",))]
    assert excluded.exclude == [Terms("russie", ("russi",), scope="title")]
    (group,) = p("title:(otan OR alliance)").include
    assert {t.scope for t in group.clauses[0].clauses} == {"title"}


def test_metadata_keys_are_read_as_filters():
    query = p('source:AFP -tags:sport tags:(défense OR "haute mer") doc_id:kyiv otan')
    assert query.include == [Terms("otan", ("otan",))]
    assert query.filters == [
        FieldFilter("source", ("AFP",), False, 0),
        FieldFilter("tags", ("sport",), True, 11),
        FieldFilter("tags", ("défense", "haute mer"), False, 23),
        FieldFilter("doc_id", ("kyiv",), False, 53),
    ]
    assert p('source:"Agence France-Presse"').filters == [
        FieldFilter("source", ("Agence France-Presse",), False, 0)
    ]


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ('source:-"AFP" otan', "-source:AFP otan"),
        ("tags:-(défense OR ukraine) otan", "-tags:(défense OR ukraine) otan"),
        ("title:-russie otan", "-title:russie otan"),
        ('title:-"mer noire" otan', '-title:"mer noire" otan'),
    ],
)
def test_a_dash_after_the_colon_negates(written, meant):
    found, expected = p(written), p(meant)
    assert (found.include, found.exclude) == (expected.include, expected.exclude)
    assert [(f.field, f.values, f.negated) for f in found.filters] == [
        (f.field, f.values, f.negated) for f in expected.filters
    ]


def test_a_value_keeps_its_own_dash():
    assert p("pages:-5").filters == [FieldFilter("pages", ("-5",), False, 0)]


@pytest.mark.parametrize(
    "text",
    ["12:30", "http://otan.int", "sourc:AFP", "titre:otan", "title: otan", "source: AFP"],
)
def test_any_other_word_with_a_colon_is_read_as_before(text):
    assert p(text) == parse(text, terms_of, ())
    assert not p(text).filters
    assert all(not t.scope for t in p(text).terms())


@pytest.mark.parametrize("text", ["otan OR source:AFP", "-(source:AFP otan)", "(a OR tags:x) b"])
def test_a_field_where_it_could_only_widen_or_invert_is_an_error(text):
    with pytest.raises(ValueError, match="a metadata field filters the whole query"):
        p(text)


def test_a_field_in_plain_brackets_filters_the_whole_query():
    assert p("(source:AFP otan)").filters == [FieldFilter("source", ("AFP",), False, 1)]


def test_a_scope_inside_a_scope_is_a_word():
    (group,) = p("title:(otan text:russie)").include
    assert [(t.text, t.scope) for t in group.clauses] == [
        ("otan", "title"),
        ("text:russie", "title"),
    ]


@pytest.mark.parametrize(
    "title",
    ["Sommet de l'OTAN à Vilnius", "les de la", "Sud-Ouest : l’après-guerre, 12 000 morts", ""],
)
def test_the_body_starts_where_the_indexed_text_puts_the_paragraph(title):
    analyzer = french_analyzer()
    start = body_start(title, analyzer)
    spans = analyze(indexed_text(title, "Munitions livrées"), analyzer, "index")
    text_from = len(indexed_text(title, ""))  # the title and the break
    body = [(term, pos) for term, pos, begin, _ in spans if begin >= text_from]
    assert body == [("munition", start), ("livr", start + 1)]
    assert all(pos < start - 1 for _, pos, begin, _ in spans if begin < len(title))


# -- searching, on every backend -------------------------------------------------------------


def test_title_and_text_scope_words(ix):
    assert sorted(where(ix.search("title:otan"))) == [
        ("vilnius", 0),
        ("vilnius", 1),
        ("vilnius", 2),
    ]
    every = set(where(ix.search("munitions", limit=50)))
    in_title = set(where(ix.search("title:munitions", limit=50)))
    in_text = set(where(ix.search("text:munitions", limit=50)))
    assert in_title == {("kyiv", 0), ("kyiv", 1), ("kyiv", 2)}
    assert ("kyiv", 1) not in in_text and ("kyiv", 0) in in_text
    assert in_title | in_text == every
    assert set(where(ix.search("-title:munitions munitions", limit=50))) == every - in_title


def test_scoped_words_score_as_the_words(ix):
    scores = {(h.doc_id, h.paragraph): h.score for h in ix.search("munitions", limit=50)}
    for hit in ix.search("title:munitions", limit=50):
        assert hit.score == pytest.approx(scores[hit.doc_id, hit.paragraph])


def test_a_phrase_is_in_the_title_or_the_text_where_its_words_stand_together(ix):
    # "sommet … Vilnius" is in order in the title, side by side only in paragraph 0
    assert where(ix.search('"sommet de Vilnius"')) == [("vilnius", 0)]
    assert where(ix.search('text:"sommet de Vilnius"')) == [("vilnius", 0)]
    assert ix.search('title:"sommet de Vilnius"').total == 0
    assert sorted(where(ix.search('title:"sommet de l\'OTAN"'))) == [
        ("vilnius", 0),
        ("vilnius", 1),
        ("vilnius", 2),
    ]
    assert sorted(where(ix.search('title:"défense aérienne"'))) == [("patriot", 0), ("patriot", 1)]
    assert where(ix.search('text:"défense aérienne"')) == [("patriot", 1)]


def test_highlights_follow_the_scope(ix):
    hit = next(h for h in ix.search("title:munitions") if h.paragraph == 0)
    assert hit.title_highlights == [(0, 9)] and hit.highlights == []
    hit = next(h for h in ix.search("text:munitions") if (h.doc_id, h.paragraph) == ("kyiv", 0))
    assert hit.title_highlights == [] and hit.highlights == [(17, 26)]
    hit = next(h for h in ix.search("munitions") if (h.doc_id, h.paragraph) == ("kyiv", 0))
    assert hit.title_highlights == [(0, 9)] and hit.highlights == [(17, 26)]


@pytest.mark.parametrize(
    ("query", "expression", "words"),
    [
        ("source:AFP munitions", "source = AFP", "munitions"),
        ("-source:AFP munitions", "source != AFP", "munitions"),
        ("tags:(diplomatie OR défense) ukraine", "tags IN [diplomatie, défense]", "ukraine"),
        ('source:"Le Monde" alliance', "source = 'Le Monde'", "alliance"),
        ("pages:3 ukraine", "pages = 3", "ukraine"),
        ("doc_id:note munitions", "doc_id = note", "munitions"),
        ("source:AFP -tags:ukraine", "source = AFP AND NOT tags = ukraine", ""),
    ],
)
def test_a_metadata_key_in_the_query_filters_as_the_expression_does(ix, query, expression, words):
    fielded = ix.search(query, limit=50, facets=["source"])
    filtered = ix.search(words, limit=50, filter=expression, facets=["source"])
    assert where(fielded) == where(filtered) and fielded.total == filtered.total > 0
    assert fielded.facets == filtered.facets


def test_fields_in_the_query_and_the_filter_both_hold(ix):
    both = ix.search("source:AFP ukraine", filter="pages >= 3", limit=50)
    assert where(both) == where(
        ix.search("ukraine", filter="source = AFP AND pages >= 3", limit=50)
    )


def test_a_query_of_fields_alone_lists_what_they_keep(ix):
    listed = ix.search("source:AFP", limit=50)
    assert listed.total == 7
    assert where(listed) == where(ix.search("", filter="source = AFP", limit=50))


def test_an_unknown_name_with_a_colon_stays_words(ix):
    assert ix.search("sourc:AFP").total == 0  # as before: the words 'sourc' and 'afp'


@given(
    st.lists(
        st.tuples(
            st.booleans(),
            st.sampled_from(["source", "tags", "pages"]),
            st.lists(
                st.sampled_from(["AFP", "Reuters", "défense", "ukraine", "3", "12"]),
                min_size=1,
                max_size=2,
            ),
        ),
        min_size=1,
        max_size=3,
    )
)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_query_fields_and_expressions_agree(ix, fields):
    query, expression = [], []
    for negated, key, values in fields:
        quoted = [f'"{v}"' for v in values]
        written = quoted[0] if len(values) == 1 else f"({' OR '.join(quoted)})"
        query.append(f"{'-' if negated else ''}{key}:{written}")
        condition = f"{key} IN [{', '.join(quoted)}]"
        expression.append(f"NOT {condition}" if negated else condition)
    fielded = ix.search(" ".join(query), limit=100)
    filtered = ix.search("", filter=" AND ".join(expression), limit=100)
    assert (fielded.total, where(fielded)) == (filtered.total, where(filtered))


def test_scopes_and_fields_over_http_and_the_cli(tmp_path, capsys):
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from nato_search import build_index
    from nato_search.cli import main
    from nato_search.web.app import create_app

    folder = tmp_path / "ix"
    build_index(DOCUMENTS, folder).close()
    with TestClient(create_app(str(folder))) as client:
        answer = client.get("/search", params={"q": "title:munitions source:AFP"}).json()
    assert sorted((h["doc_id"], h["paragraph"]) for h in answer["hits"]) == [
        ("kyiv", 0),
        ("kyiv", 1),
        ("kyiv", 2),
    ]
    assert main(["--index", str(folder), "--json", "--", "text:munitions", "-source:AFP"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert sorted((h["doc_id"], h["paragraph"]) for h in found["hits"]) == [
        ("note", 0),
        ("vilnius", 1),
        ("washington", 1),
    ]


def test_a_document_without_a_title_has_only_text(tmp_path, backend):
    untitled = Document("u", "", None, ["Les munitions arrivent."])
    with built([untitled, DOCUMENTS[0]], tmp_path / "ix", backend) as index:
        assert where(index.search("text:munitions"))[0] == ("u", 0)
        assert ("u", 0) not in where(index.search("title:munitions"))


def test_title_weight_counts_the_titles_words_that_many_times(tmp_path):
    from nato_search import RankingSettings

    documents = [
        Document("t", "Munitions", None, ["Les obus arrivent."]),
        Document("p", "", None, ["Les munitions arrivent."]),
    ]
    scores = {}
    for weight in (0.0, 1.0, 2.0):
        settings = RankingSettings(title_weight=weight)
        with built(documents, tmp_path / f"ix{weight}", "whoosh", settings) as index:
            scores[weight] = {h.doc_id: h.score for h in index.search("munitions")}
    # t: its title's word alone; p: the same word in a paragraph of the same length
    assert scores[1.0]["t"] < scores[1.0]["p"]  # t is one word longer (the title's)
    assert scores[0.0]["t"] == 0.0 and scores[0.0]["p"] > 0
    assert scores[2.0]["t"] > scores[1.0]["t"]


def test_xapian_shards_refuse_another_title_weight(tmp_path):
    pytest.importorskip("xapian")
    from nato_search import RankingSettings

    with pytest.raises(ValueError, match="title_weight=2: Xapian shards count a title"):
        with built(DOCUMENTS, tmp_path / "ix", "xapian", RankingSettings(title_weight=2.0)):
            pass


def test_a_word_longer_than_a_xapian_term_is_indexed_and_found(tmp_path, backend):
    long = "b" * 300  # Xapian refuses terms over 245 bytes: such a word is cut and hashed
    documents = [
        Document("x", f"Titre {long}", None, [f"Texte {long} fin."]),
        Document("y", "Autre", None, [f"Texte {'b' * 299}c fin."]),  # the same first 240 bytes
    ]
    with built(documents, tmp_path / "ix", backend) as index:
        assert where(index.search(long)) == [("x", 0)]
        assert where(index.search(f"title:{long}")) == [("x", 0)]
        assert where(index.search(f'text:"{long} fin"')) == [("x", 0)]
