import datetime as dt

import pytest

from nato_search.analysis import analyze
from nato_search.query import MAX_TERMS, AllOf, AnyOf, DateRange, Terms, parse, parse_date_range


def terms_of(text):
    return [t for t, *_ in analyze(text)]


def p(text):
    return parse(text, terms_of)


def test_plain_words_are_separate_clauses_and_stopwords_drop_out():
    q = p("Qui sont les Alliés de l’Ukraine ?")
    assert q.include == [Terms("Alliés", ("alli",)), Terms("l’Ukraine", ("ukrain",))]
    assert q.exclude == [] and q.dates == []


def test_phrase_and_compound_keep_their_terms_together():
    q = p('"ministres des affaires" OTAN-Ukraine')
    assert q.include == [
        Terms("ministres des affaires", ("ministr", "affair")),
        Terms("OTAN-Ukraine", ("otan", "ukrain")),
    ]


def test_exclusions_words_and_phrases():
    q = p('ukraine -russie -"mer noire"')
    assert q.include == [Terms("ukraine", ("ukrain",))]
    assert q.exclude == [Terms("russie", ("russi",)), Terms("mer noire", ("mer", "noir"))]


def test_or_groups_alternatives():
    q = p("otan OR nato OR alliance ukraine")
    assert q.include == [
        AnyOf(
            (Terms("otan", ("otan",)), Terms("nato", ("nato",)), Terms("alliance", ("allianc",)))
        ),
        Terms("ukraine", ("ukrain",)),
    ]


def test_parentheses_group_and_negate():
    q = p("(otan OR nato) -(russie chine)")
    assert q.include == [AllOf((AnyOf((Terms("otan", ("otan",)), Terms("nato", ("nato",)))),))]
    assert q.exclude == [AllOf((Terms("russie", ("russi",)), Terms("chine", ("chin",))))]


@pytest.mark.parametrize(
    "value, start, end",
    [
        ("2024", dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
        ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        ("2024-06-13", dt.date(2024, 6, 13), dt.date(2024, 6, 13)),
        ("2023-11..2024-06", dt.date(2023, 11, 1), dt.date(2024, 6, 30)),
        ("2024..", dt.date(2024, 1, 1), dt.date.max),
        ("..2022", dt.date.min, dt.date(2022, 12, 31)),
    ],
)
def test_date_ranges(value, start, end):
    assert parse_date_range(value) == DateRange(start, end)


@pytest.mark.parametrize("value", ["", "..", "24", "2024-13", "2024-02-30", "2025..2024", "hier"])
def test_malformed_dates_are_none(value):
    assert parse_date_range(value) is None


def test_date_filter_is_taken_out_of_the_words_and_bad_ones_stay_words():
    q = p("date:2024 munitions date:demain")
    assert q.dates == [DateRange(dt.date(2024, 1, 1), dt.date(2024, 12, 31))]
    assert q.include == [
        Terms("munitions", ("munition",)),
        Terms("date:demain", ("date", "demain")),
    ]


@pytest.mark.parametrize(
    "text, words",
    [
        ('"munitions ukraine', [("munitions ukraine", ("munition", "ukrain"))]),
        ("(munitions (ukraine", [None]),
        ("munitions) ukraine)", [("munitions", ("munition",)), ("ukraine", ("ukrain",))]),
        (
            "munitions:* ~ukraine^2",
            [("munitions:*", ("munition",)), ("~ukraine^2", ("ukrain", "2"))],
        ),
        ("OR munitions OR", [("munitions", ("munition",))]),
        ("- -- ---", []),
    ],
)
def test_stray_syntax_never_fails(text, words):
    q = p(text)
    if words == [None]:
        assert len(q.include) == 1 and isinstance(q.include[0], AllOf)
    else:
        assert [(t.text, t.terms) for t in q.include] == words


def test_huge_and_deeply_nested_queries_are_capped():
    q = p(" ".join(f"mot{i}" for i in range(2000)))
    assert sum(len(t.terms) for t in q.terms()) == MAX_TERMS
    q = p("(" * 5000 + "munitions" + ")" * 5000)
    assert [t.terms for t in q.terms()] == [("munition",)]


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_empty_query_is_a_value_error(text):
    with pytest.raises(ValueError, match="empty query"):
        p(text)


def test_all_stopword_query_parses_to_nothing():
    q = p("le la les de")
    assert (q.include, q.exclude, q.dates) == ([], [], [])
