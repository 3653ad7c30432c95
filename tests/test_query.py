import datetime as dt

import pytest

from nato_search.query.syntax import (
    MAX_LEXEMES,
    MAX_TERMS,
    MAX_WORDS,
    AllOf,
    AnyOf,
    DateRange,
    Query,
    Terms,
    parse,
    parse_date_range,
)
from nato_search.text.analyzer import analyze


def terms_of(text):
    return [t for t, *_ in analyze(text)]


def p(text):
    return parse(text, terms_of)


def test_plain_words_are_separate_clauses_and_stopwords_drop_out():
    q = p("Qui sont les Alliés de l’Ukraine ?")
    assert q.include == [Terms("Alliés", ("alli",)), Terms("l’Ukraine", ("ukrain",))]
    assert q.exclude == [] and q.dates == []


def test_a_number_in_groups_of_three_digits_is_one_word():
    q = p("13 000 soldats -2 500 000 (1\u202f000) 2014 300")
    assert q.include == [
        Terms("13 000", ("13000",)),
        Terms("soldats", ("soldat",)),
        AllOf((Terms("1\u202f000", ("1000",)),)),
        Terms("2014", ("2014",)),
        Terms("300", ("300",)),
    ]
    assert q.exclude == [Terms("2 500 000", ("2500000",))]


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


def test_date_filter_is_taken_out_of_the_words():
    q = p("date:2024 munitions")
    assert q.dates == [DateRange(dt.date(2024, 1, 1), dt.date(2024, 12, 31))]
    assert q.include == [Terms("munitions", ("munition",))]


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


# --- dates that are no period are errors ----------------------------------------------


@pytest.mark.parametrize(
    "query, message",
    [
        ("date:2024-02-30", "date:2024-02-30: February 2024 has no day 30"),
        ("date:2023-02-29", "date:2023-02-29: February 2023 has no day 29"),
        ("date:2024-04-31", "date:2024-04-31: April 2024 has no day 31"),
        ("date:2024-06-00", "date:2024-06-00: June 2024 has no day 0"),
        ("date:2024-13", "date:2024-13: there is no month 13"),
        ("date:2024-00", "date:2024-00: there is no month 0"),
        ("date:0000", "date:0000: there is no year 0000"),
        ("date:2024..2023", "date:2024..2023: the range ends before it starts"),
        ("date:2024-06-13..2024-06-12", "date:2024-06-13..2024-06-12: the range ends before"),
        ("date:2024-01..2024-02-30", "date:2024-01..2024-02-30: February 2024 has no day 30"),
        ("date:foo", "date:foo: expected date:YYYY[-MM[-DD]][..YYYY[-MM[-DD]]]"),
        ("date:24", "date:24: expected date:YYYY"),
        ("date:13/06/2024", "date:13/06/2024: expected date:YYYY"),
        ("date:..", r"date:..: expected date:YYYY"),
        ("date:2024...2025", "date:2024...2025: expected date:YYYY"),
        ("otan DATE:2024-02-30 ukraine", "DATE:2024-02-30: February 2024 has no day 30"),
    ],
)
def test_a_date_filter_that_is_no_period_is_a_value_error_saying_why(query, message):
    with pytest.raises(ValueError) as error:
        p(query)
    assert str(error.value).startswith(message)


def test_open_ended_and_repeated_date_filters_keep_working():
    assert p("date:2024..").dates == [DateRange(dt.date(2024, 1, 1), dt.date.max)]
    assert p("date:..2023").dates == [DateRange(dt.date.min, dt.date(2023, 12, 31))]
    # Several filters all apply: their overlap is kept, and an empty one is no day at all.
    assert p("date:2024 date:2023-11..2024-06").dates == [
        DateRange(dt.date(2024, 1, 1), dt.date(2024, 6, 30))
    ]
    assert p("date:2023 date:2024").dates == [DateRange(dt.date(2024, 1, 1), dt.date(2023, 12, 31))]


# --- exclusions in brackets and beside OR (Lucene's classic parser) --------------------

UKRAINE = Terms("ukraine", ("ukrain",))
RUSSIE = Terms("russie", ("russi",))
OTAN = Terms("otan", ("otan",))
CHINE = Terms("chine", ("chin",))


@pytest.mark.parametrize(
    "text, include, exclude",
    [
        # An exclusion beside OR excludes from the group it stands in.
        ("otan OR -russie", [OTAN], [RUSSIE]),
        ("-russie OR otan", [OTAN], [RUSSIE]),
        ("-russie OR -chine", [], [RUSSIE, CHINE]),
        ("otan OR -russie OR ukraine", [AnyOf((OTAN, UKRAINE))], [RUSSIE]),
        # A group that is the only positive clause hands its exclusions to the query.
        ("(ukraine -russie)", [AllOf((UKRAINE,))], [RUSSIE]),
        ("(ukraine -russie) -chine", [AllOf((UKRAINE,))], [CHINE, RUSSIE]),
        # Beside other clauses, or inside OR, the group keeps them: they apply within it.
        ("otan (ukraine -russie)", [OTAN, AllOf((UKRAINE,), (RUSSIE,))], []),
        ("otan OR (ukraine -russie)", [AnyOf((OTAN, AllOf((UKRAINE,), (RUSSIE,))))], []),
        ("(otan OR ukraine -russie)", [AllOf((AnyOf((OTAN, UKRAINE)),))], [RUSSIE]),
        (
            "otan ((ukraine OR -russie) chine)",
            [OTAN, AllOf((AllOf((UKRAINE,), (RUSSIE,)), CHINE))],
            [],
        ),
        # A group of exclusions only hands them to the group around it.
        ("(-russie)", [], [RUSSIE]),
        ("otan (-russie)", [OTAN], [RUSSIE]),
        ("otan OR (-russie -chine)", [OTAN], [RUSSIE, CHINE]),
        ("otan (ukraine (-russie))", [OTAN, AllOf((UKRAINE,), (RUSSIE,))], []),
        ("-(-russie)", [], [RUSSIE]),
        # A negated group with exclusions is excluded whole.
        ("otan -(ukraine -russie)", [OTAN], [AllOf((UKRAINE,), (RUSSIE,))]),
    ],
)
def test_exclusions_apply_to_the_group_they_stand_in(text, include, exclude):
    q = p(text)
    assert (q.include, q.exclude, q.dates) == (include, exclude, [])


def test_excluded_words_are_never_highlighted_at_any_depth():
    q = p('otan OR -russie (ukraine -"mer noire" OR -chine) -(paix (guerre -kiev))')
    assert sorted(t.text for t in q.terms()) == ["otan", "ukraine"]


def test_all_of_exclude_defaults_to_nothing():
    assert AllOf((OTAN,)) == AllOf((OTAN,), ()) and AllOf((OTAN,)).exclude == ()
    assert Query("x", [AllOf((OTAN,), (RUSSIE,))]).include[0].exclude == (RUSSIE,)


# --- long queries cost what a page does --------------------------------------------------


def test_only_max_words_words_are_analyzed_and_max_lexemes_read():
    seen = []

    def counting(text):
        seen.append(text)
        return terms_of(text)

    parse("le " * 1_000_000 + "munitions", counting)
    assert len(seen) == MAX_WORDS
    seen.clear()
    q = parse('"" ' * 500_000 + "munitions", counting)
    assert (len(seen), q.include) == (MAX_WORDS, [])
    # Brackets count as lexemes: the word and the date past the limit are not read.
    q = parse("( " * MAX_LEXEMES + "munitions date:2024", terms_of)
    assert (list(q.terms()), q.dates) == ([], [])
    q = parse("( " * (MAX_LEXEMES - 2) + "munitions date:2024", terms_of)
    assert [t.terms for t in q.terms()] == [("munition",)] and len(q.dates) == 1


# --- exclusions at the search level, on the seeds ------------------------------------------------


def found(index, query):
    return sorted((hit.doc_id[:3], hit.paragraph) for hit in index.search(query, limit=100))


def test_an_exclusion_beside_or_excludes_on_the_seeds(seeds_index):
    assert found(seeds_index, "otan OR -russie") == found(seeds_index, "otan -russie")
    assert found(seeds_index, "otan OR -russie") == [
        ("000", 0), ("000", 1), ("000", 3), ("000", 4), ("001", 0), ("001", 1), ("002", 0),
        ("002", 1), ("002", 2), ("003", 3), ("004", 0), ("004", 1), ("004", 2), ("004", 3),
    ]  # fmt: skip
    hits = seeds_index.search("stoltenberg OR -ukraine", limit=100)
    assert [(h.doc_id[:3], h.paragraph) for h in hits] == [("002", 2)]
    assert [hits[0].text[s:e] for s, e in hits[0].highlights] == ["Stoltenberg"]


def test_a_group_of_one_exclusion_excludes_on_the_seeds(seeds_index):
    assert found(seeds_index, "(ukraine -russie)") == found(seeds_index, "ukraine -russie")
    assert found(seeds_index, "(stoltenberg -ukraine)") == [("002", 2)]
    assert found(seeds_index, "stoltenberg (-ukraine)") == [("002", 2)]


@pytest.mark.parametrize(
    "query, expected",
    [
        # patriot: (003, 2); stoltenberg without ukraine: (002, 2).
        ("patriot OR (stoltenberg -ukraine)", [("002", 2), ("003", 2)]),
        # munitions: (002, 1), (003, 1); ukraine without russie: 12 paragraphs.
        (
            "munitions OR (ukraine -russie)",
            [
                ("000", 0), ("000", 1), ("000", 3), ("000", 4), ("001", 0), ("001", 1),
                ("002", 1), ("003", 1), ("003", 3), ("004", 0), ("004", 1), ("004", 2),
                ("004", 3),
            ],
        ),
    ],
)  # fmt: skip
def test_an_exclusion_inside_a_group_beside_or_excludes_on_the_seeds(seeds_index, query, expected):
    assert found(seeds_index, query) == expected
