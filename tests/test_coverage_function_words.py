"""Function words of every language the graded pairs hold, and month names that are names.

A language that is a small share of the index gives its function words a
high idf, so two unrelated texts in it would share a score's worth of
"which" and "was"; and a month name is a date only where the text writes it
as one ("May 5"), not in "Theresa May".
"""

from __future__ import annotations

import pytest

from newsdesk.coverage.engine import Params, particulars_relation
from newsdesk.coverage.particulars import text_particulars
from newsdesk.coverage.text import _stem, text_features, text_fold

# Per language: a sentence of our own, function words it holds, content words it holds.
SENTENCES = {
    "de": (
        "Die Stadtverwaltung hatte bereits gestern die Brücke gesperrt, sagte dieser Sprecher",
        ["hatte", "bereits", "gestern", "sagte", "dieser"],
        ["stadtverwaltung", "brücke", "gesperrt", "sprecher"],
    ),
    "tr": (
        "Belediye tarafından yapılan açıklamada köprünün ayrıca yeniden onarılacağı belirtildi",
        ["tarafından", "ayrıca"],
        ["belediye", "açıklamada", "köprünün", "onarılacağı"],
    ),
    "pl": (
        "Minister, który był wczoraj w Sejmie, powiedział także, że reforma będzie gotowa",
        ["który", "był", "wczoraj", "powiedział", "także", "będzie"],
        ["minister", "sejmie", "reforma", "gotowa"],
    ),
    "es": (
        "El alcalde también dijo que las obras fueron aprobadas durante el pleno municipal",
        ["también", "dijo", "fueron", "durante"],
        ["alcalde", "obras", "aprobadas", "pleno", "municipal"],
    ),
    "fr": (
        "Le maire a également été reçu après la réunion, selon la préfecture",
        ["également", "été", "après", "selon"],
        ["maire", "réunion", "préfecture"],
    ),
    "ar": (
        "قال الوزير إن الحكومة التي تشكلت خلال الأسبوع ستعلن خطتها",
        ["قال", "إن", "التي", "خلال"],
        ["الوزير", "الحكومة", "تشكلت", "ستعلن"],
    ),
}


@pytest.mark.parametrize("lang", sorted(SENTENCES))
def test_function_words_of_each_language_are_not_terms(lang):
    sentence, function_words, content_words = SENTENCES[lang]
    terms = text_features(title=sentence).terms
    for word in function_words:
        assert _stem(text_fold(word)) not in terms, (lang, word)
    for word in content_words:
        assert _stem(text_fold(word)) in terms, (lang, word)


def test_two_unrelated_polish_texts_share_no_function_word():
    # One about taxes, one about football: only their grammar is alike.
    a = text_features(title="Rząd, który był krytykowany, powiedział także, że podatki będą niższe od przyszłego roku")
    b = text_features(title="Piłkarze, którzy byli zmęczeni, mówili także, że mecz będzie dla nich bardzo trudny")
    assert set(a.terms) & set(b.terms) == set()


def test_names_that_are_function_words_in_another_language_stay_names():
    # "kim" (Turkish "who"), "roku" (Polish "year"), "notre" (French "our"), "gore" (Turkish "after").
    features = text_features(title="Markets", body="Talks between Kim Jong Un, Roku, Al Gore and Notre Dame officials")
    for name in ("kim", "roku", "gore", "notre"):
        assert name in features.terms and name in features.names, name


@pytest.mark.parametrize(
    ("text", "mark"),
    [
        ("Talks resume on May 5 in Brussels", "m:may"),
        ("Die Gespräche beginnen am 5. Mai in Brüssel", "m:mai"),
        ("Görüşmeler 16 Mayıs'ta başlayacak", "m:mayis"),
        ("The plant closed in May 2019", "m:may"),
        ("Das Werk schloss im Mai 2019", "m:mai"),
    ],
)
def test_a_month_next_to_a_day_or_a_year_is_marked_a_date(text, mark):
    assert mark in text_particulars(title=text)


def test_a_month_name_that_is_a_name_is_no_date():
    parts = text_particulars(title="Theresa May meets the party leaders", body="May said the talks went well.")
    assert not any(p.startswith("m:") for p in parts), parts


def test_a_shared_name_that_is_a_month_counts_as_who_unless_a_side_wrote_it_as_a_date():
    params = Params()
    # Two sides apart on where, when (year, day), sharing a figure and one name.
    a = frozenset({"p:GB", "y:2019", "d:03-01", "n:12"})
    b = frozenset({"p:FR", "y:2016", "d:04-02", "n:12"})
    names_a, names_b = {"may", "theres"}, {"may", "emmanu"}
    # "Theresa May" on both sides: one name shared, with the figure two kinds agree; not many apart.
    _, many = particulars_relation(a, b, names_a, names_b, params=params)
    assert not many
    # One side wrote "May 3": the month is a date, no name is shared, and the two are many kinds apart.
    _, many = particulars_relation(a | {"m:may"}, b, names_a, names_b, params=params)
    assert many
