"""The whole chain on tricky inputs taken from the seeds."""

from nato_search.text.analyzer import analyze


def test_elision_compound_stopwords_and_folding_together():
    text = "Le Conseil OTAN-Ukraine s’est réuni aujourd’hui pour l’occasion d’œuvrer"
    assert analyze(text) == [
        ("conseil", 0, 3, 10),
        ("otan", 1, 11, 15),
        ("ukrain", 2, 16, 23),
        ("reuni", 3, 30, 35),
        ("aujourd'hui", 4, 36, 47),
        ("occasion", 5, 55, 63),
        ("oeuvr", 6, 66, 72),  # œuvrer meets œuvre (Savoy's -er rule)
    ]


def test_quotes_and_non_breaking_spaces_from_the_seeds():
    text = (
        "« Les Ukrainiens ne manquent pas de courage, ils manquent de munitions »,\u00a0a déclaré"
    )
    assert analyze(text) == [
        ("ukrainien", 0, 6, 16),
        ("manquent", 1, 20, 28),
        ("courag", 2, 36, 43),
        ("manquent", 3, 49, 57),
        ("munition", 4, 61, 70),
        ("declar", 5, 76, 83),
    ]


def test_the_verb_form_a_t_il_disappears_entirely():
    assert analyze("a-t-il fait observer") == [("fait", 0, 7, 11), ("observ", 1, 12, 20)]


def test_query_typed_without_accents_or_with_a_straight_apostrophe_matches():
    assert [t for t, *_ in analyze("l'Ukraine Allies aerienne oeuvrer")] == [
        t for t, *_ in analyze("l’Ukraine Alliés aérienne œuvrer")
    ]


def test_numbers_and_acronyms_survive():
    assert [t for t, *_ in analyze("40 milliards d’euros, DIANA et JATEC en 2024")] == [
        "40",
        "milliard",
        "euro",
        "diana",
        "jatec",
        "2024",
    ]


def test_invisible_characters_do_not_split_words_for_the_analyzer():
    from nato_search.text.analyzer import analyze

    assert analyze("Les muni\u00adtions de l’\u200bUkraine") == [
        ("munition", 0, 4, 14),
        ("ukrain", 1, 20, 28),
    ]
    assert analyze("elles disent") == [("disent", 0, 6, 12)]  # elles is a stopword
