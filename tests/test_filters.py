"""Filter expressions: the grammar and its errors, each operator and combination on every
backend against a by-hand predicate, the dict form agreeing with the expression form, and
hostile values matched as whole exact terms."""

import datetime as dt

import pytest
from app_corpus import DOCUMENTS
from backends import BACKENDS, built
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nato_search.errors import OptionError
from nato_search.query.filters import And, Condition, Not, Or, parse, quote

QUERY = "munitions OR ukraine OR russie OR otan OR alliance OR sommet OR note OR défense"
BY_ID = {d.id: d for d in DOCUMENTS}


@pytest.fixture(scope="module", params=BACKENDS)
def ix(request, tmp_path_factory):
    with built(DOCUMENTS, tmp_path_factory.mktemp("filters") / "ix", request.param) as index:
        yield index


def values(doc, key):
    value = doc.metadata.get(key)
    found = value if isinstance(value, list) else [value]
    return [v for v in found if v is not None]


def number(doc, key):
    return [v for v in values(doc, key) if isinstance(v, int | float) and not isinstance(v, bool)]


CASES = {
    "source = AFP": lambda d: "AFP" in values(d, "source"),
    "source != AFP": lambda d: "AFP" not in values(d, "source"),
    "pages > 2": lambda d: any(v > 2 for v in number(d, "pages")),
    "pages >= 3": lambda d: any(v >= 3 for v in number(d, "pages")),
    "pages < 3": lambda d: any(v < 3 for v in number(d, "pages")),
    "pages <= 1.5": lambda d: any(v <= 1.5 for v in number(d, "pages")),
    "pages = 12": lambda d: 12 in number(d, "pages"),
    "tags IN [ukraine, diplomatie]": lambda d: {"ukraine", "diplomatie"} & set(values(d, "tags")),
    "tags NOT IN [défense]": lambda d: "défense" not in values(d, "tags"),
    "tags EXISTS": lambda d: bool(values(d, "tags")),
    "urgent NOT EXISTS": lambda d: not values(d, "urgent"),
    "urgent = true": lambda d: True in values(d, "urgent"),
    "doc_id IN [kyiv, note, zz]": lambda d: d.id in ("kyiv", "note"),
    "doc_id != kyiv": lambda d: d.id != "kyiv",
    "doc_id EXISTS": lambda d: True,
    "date = 2023-07-11": lambda d: d.date == dt.date(2023, 7, 11),
    "date > 2023-07-11": lambda d: d.date is not None and d.date > dt.date(2023, 7, 11),
    "date < 2022-03-01": lambda d: d.date is not None and d.date < dt.date(2022, 3, 1),
    "NOT date >= 2023-01-01": lambda d: not (d.date and d.date >= dt.date(2023, 1, 1)),
    "date EXISTS": lambda d: d.date is not None,
    "year = 2023": lambda d: d.date is not None and d.date.year == 2023,
    "year IN [2021, 2024]": lambda d: d.date is not None and d.date.year in (2021, 2024),
    "year != 2023": lambda d: not (d.date and d.date.year == 2023),
    "year >= 2023": lambda d: d.date is not None and d.date.year >= 2023,
    "year <= 2022": lambda d: d.date is not None and d.date.year <= 2022,
    "source = AFP AND pages >= 3 AND NOT tags = ukraine": lambda d: (
        "AFP" in values(d, "source")
        and any(v >= 3 for v in number(d, "pages"))
        and "ukraine" not in values(d, "tags")
    ),
    "source = Reuters OR source = 'Le Monde' AND urgent = true": lambda d: (
        "Reuters" in values(d, "source")
        or ("Le Monde" in values(d, "source") and True in values(d, "urgent"))
    ),
    '(source = Reuters OR source = "Le Monde") and year < 2024': lambda d: (
        bool({"Reuters", "Le Monde"} & set(values(d, "source"))) and d.date.year < 2024
    ),
    "not (tags exists or date exists)": lambda d: not values(d, "tags") and d.date is None,
    "pages > 100": lambda d: False,
    "tags IN []": lambda d: False,
}


@pytest.mark.parametrize("expression", list(CASES))
def test_each_operator_and_combination_keeps_what_it_says(ix, expression):
    everything = ix.search(QUERY, 100)
    wanted = [(h.doc_id, h.paragraph) for h in everything if CASES[expression](BY_ID[h.doc_id])]
    results = ix.search(QUERY, 100, filter=expression, facets=["source"])
    assert sorted((h.doc_id, h.paragraph) for h in results) == sorted(wanted)
    assert results.total == len(wanted)
    counted = {}
    for doc_id, _ in wanted:
        for source in values(BY_ID[doc_id], "source"):
            counted[source] = counted.get(source, 0) + 1
    assert results.facets["source"] == dict(sorted(counted.items(), key=lambda i: (-i[1], i[0])))


def test_per_document_and_sort_apply_after_the_filter(ix):
    results = ix.search(QUERY, 100, filter="year >= 2022 AND NOT doc_id = vilnius", sort="-date")
    assert [h.doc_id for h in results][:1] == ["washington"]
    assert {h.doc_id for h in results} == {"washington", "patriot", "kyiv"}
    assert ix.search(QUERY, filter="source = AFP", per_document=1).total == 3


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("sourc = AFP", r"filter: unknown field 'sourc' at position 1; known fields: 'date', "),
        ("source = AFP OR x.y EXISTS", r"unknown field 'x\.y' at position 17"),
        ("pages >= dix", r"filter: 'pages' >= needs a number, not 'dix' at position 1"),
        ("doc_id > a", r"filter: doc_id compares with =, !=, IN, not >"),
        ("date = 2024-02-30", r"filter: date is a day, YYYY-MM-DD, not '2024-02-30'"),
        ("date > 2024", r"filter: date is a day, YYYY-MM-DD"),
        ("year = 24.5", r"filter: year is a number from 1 to 9999"),
        ("x" * 200 + " = 1", r"unknown field 'x{58}…"),
    ],
)
def test_unknown_fields_and_values_a_field_cannot_compare_are_errors(ix, expression, message):
    with pytest.raises(OptionError, match=message) as raised:
        ix.search(QUERY, filter=expression)
    assert raised.value.option == "filter"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "filter: empty expression"),
        (
            "source",
            "expected an operator (=, !=, >, >=, <, <=, IN, EXISTS) after 'source' at "
            "position 7 (the end)",
        ),
        ("source = AFP AND pages >=", "expected a value after '>=' at position 26 (the end)"),
        ("source = AFP AND pages >= ", "expected a value after '>=' at position 27"),
        ("source = AFP pages = 3", "unexpected 'pages' at position 14"),
        ("(source = AFP", "expected ')' to close the '(' (position 1) at position 14"),
        ("tags IN [a, b", "expected ']' to close the list (position 6) at position 14"),
        ("tags IN a", "expected '[' after IN (position 6) at position 9"),
        ("tags NOT = a", "expected IN or EXISTS after 'tags' at position 10, found '='"),
        ("source = 'AFP", "an unclosed quote at position 10"),
        ("source ! AFP", "unexpected '!' at position 8"),
        ("AND source = AFP", "expected a field at position 1, found 'AND'"),
        ("NOT " * 70 + "a = b", "nested deeper than 64"),
    ],
)
def test_a_syntax_error_names_its_position(expression, message):
    with pytest.raises(OptionError) as raised:
        parse(expression)
    assert message in str(raised.value)


def test_the_grammar():
    a, b, c = (Condition(f, "=", ("v",), p) for f, p in (("a", 1), ("b", 10), ("c", 20)))
    assert parse("a = v OR b = v AND c = v").tree == Or((a, And((b, c))))
    assert parse("(a = v or b = v) and not c = v").tree.parts[1] == Not(
        Condition("c", "=", ("v",), 26)
    )
    assert parse("a != v").tree == Not(Condition("a", "=", ("v",), 1))
    assert parse("a>=10").tree == Condition("a", ">=", ("10",), 1)
    assert parse('"my key" IN ["x y", \'it\\\'s\', "a\\"b", c]').tree == Condition(
        "my key", "IN", ("x y", "it's", 'a"b', "c"), 1
    )
    assert parse("a NOT IN [x]").tree == Not(Condition("a", "IN", ("x",), 1))
    assert parse("a not exists").tree == Not(Condition("a", "EXISTS", (), 1))
    assert parse("a = 'and'").tree == Condition("a", "=", ("and",), 1)
    for value in ['a"b', "x\\y", "it's", "", "a = b OR c"]:
        assert parse(f"k = {quote(value)}").tree == Condition("k", "=", (value,), 1)


def test_unknown_facet_names_are_errors_listing_the_known_ones(ix):
    with pytest.raises(OptionError, match=r"facets: unknown name 'sourc'; known names: 'doc_id'"):
        ix.search(QUERY, facets=["year", "sourc"])


KEYS = {
    "source": ["AFP", "Reuters", "Le Monde", "afp"],
    "tags": ["défense", "ukraine", "diplomatie", "x"],
    "pages": [3, 2, 1.5, 12, "3", 4],
    "urgent": [True, False],
    "doc_id": ["kyiv", "note", "zz"],
}


def expression_of(filter, style):
    """The dict form as an expression: IN lists, or ORs of equalities."""
    parts = []
    for key, wanted in filter.items():
        texts = [v if isinstance(v, str) else str(v).lower() for v in wanted]
        if style:
            parts.append(f"{key} IN [{', '.join(map(quote, texts))}]")
        else:
            parts.append("(" + " OR ".join(f"{key} = {quote(t)}" for t in texts) + ")")
    return " AND ".join(parts)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    filter=st.dictionaries(
        st.sampled_from(sorted(KEYS)),
        st.none(),
        min_size=1,
    ).flatmap(
        lambda keys: st.fixed_dictionaries(
            {k: st.lists(st.sampled_from(KEYS[k]), min_size=1, max_size=3) for k in keys}
        )
    ),
    style=st.booleans(),
)
def test_the_dict_form_and_the_expression_form_agree(ix, filter, style):
    by_dict = ix.search(QUERY, 100, filter=filter, facets=["tags"])
    by_expression = ix.search(QUERY, 100, filter=expression_of(filter, style), facets=["tags"])
    assert [(h.doc_id, h.paragraph) for h in by_dict] == [
        (h.doc_id, h.paragraph) for h in by_expression
    ]
    assert by_dict.total == by_expression.total and by_dict.facets == by_expression.facets
