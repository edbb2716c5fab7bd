"""A lead that is not about its headline is left out of the score (h25page).

Feeds and crawls put pages that are not the article under a real headline: a
consent notice, a paywall, "Continue reading". Such an article is scored on
its headline alone, in any language; a real lead, even one that repeats no
word of its headline, is kept. The stored text is not touched.
"""

from __future__ import annotations

import pytest

from newsdesk.coverage import semantic
from newsdesk.coverage.cluster import article_features
from newsdesk.coverage.engine import Params
from newsdesk.coverage.evaluate import Pair, pairs_score
from newsdesk.coverage.text import content_stems, lead_off_topic, text_features
from newsdesk.flow import articles_finish
from newsdesk.models import Article
from tests.support.articles import make_article, make_english_article, make_source

EN_TITLE = "Carlos Ghosn says his family played no role in his escape from Japan"
EN_COOKIES = (
    "By continuing to browse this site you agree to our use of cookies on your device as set out in our "
    "cookie policy. You can change your cookie settings at any time."
)
EN_REAL = (
    "The former Nissan chairman told reporters in Beirut that he alone had organised his flight from "
    "Japan, where he was awaiting trial."
)
# A real lead that repeats no word of its headline (an earthquake told in other words).
EN_QUAKE_TITLE = "Earthquake shakes southern Turkey"
EN_QUAKE_LEAD = (
    "A powerful tremor struck Hatay province on Monday morning, collapsing several buildings and sending "
    "residents into the streets, officials said."
)
PL_TITLE = "Sylwestrowy pokaz fajerwerków w Dubaju"
PL_CONSENT = (
    "Drogi Użytkowniku! Zanim przejdziesz dalej, prosimy o zgodę na przetwarzanie Twoich danych osobowych "
    "oraz na zapisywanie plików cookie przez nas i naszych zaufanych partnerów."
)
PL_REAL = "Tysiące turystów oglądało fajerwerki nad najwyższym budynkiem świata, Burdż Chalifa."
PL_OTHER_WORDS = (
    "O północy tysiące turystów podziwiało sztuczne ognie nad Burdż Chalifa, najwyższym budynkiem świata, "
    "witając Nowy Rok."
)

needs_use = pytest.mark.skipif(
    not all(map(semantic._importable, semantic.USE_V3.packages)), reason="the default install's encoder is absent"
)


@pytest.fixture
def use(settings):
    settings.NEWSDESK_COVERAGE_SEMANTIC = "on"
    settings.NEWSDESK_COVERAGE_SEMANTIC_MODEL = semantic.USE_V3.key


def test_a_lead_without_a_word_of_its_headline_is_flagged_in_any_language():
    assert lead_off_topic(title=EN_TITLE, lead=EN_COOKIES)
    assert lead_off_topic(title=PL_TITLE, lead=PL_CONSENT)
    # A real lead names the subject again, inflected or not ("fajerwerków", "fajerwerki").
    assert not lead_off_topic(title=EN_TITLE, lead=EN_REAL)
    assert not lead_off_topic(title=PL_TITLE, lead=PL_REAL)
    # A headline of fewer than three content words says too little to judge by.
    assert not lead_off_topic(title="News Brief", lead=EN_COOKIES)
    assert not lead_off_topic(title=EN_TITLE, lead="")


def test_figures_and_function_words_are_no_shared_content():
    assert content_stems("Copyright 2020 by the Associated Press") == {"copyri", "associ", "press"}
    assert lead_off_topic(title="Federal officials reach deal on 2020 aid package", lead="Copyright 2020 NPR.")
    # Scripts written without spaces share their character pairs.
    assert not lead_off_topic(title="東京で大きな地震が発生した", lead="東京では今朝、震度五の地震があった。")


@needs_use
def test_the_encoder_keeps_a_real_lead_the_words_alone_would_drop(use):
    assert lead_off_topic(title=EN_QUAKE_TITLE, lead=EN_QUAKE_LEAD)  # no shared word...
    assert not semantic.lead_unrelated(title=EN_QUAKE_TITLE, lead=EN_QUAKE_LEAD, language="en")  # ...but about it
    assert lead_off_topic(title=PL_TITLE, lead=PL_OTHER_WORDS)
    assert not semantic.lead_unrelated(title=PL_TITLE, lead=PL_OTHER_WORDS, language="pl")
    assert semantic.lead_unrelated(title=EN_TITLE, lead=EN_COOKIES, language="en")
    assert semantic.lead_unrelated(title=PL_TITLE, lead=PL_CONSENT, language="pl")
    # A model without a measured threshold, or a language it does not read, always keeps the lead.
    assert not semantic.lead_unrelated(title=PL_TITLE, lead=PL_CONSENT, language="sw")


@needs_use
@pytest.mark.django_db
def test_an_article_under_a_consent_notice_is_scored_on_its_headline_alone(use):
    source = make_source(language="pl", country="PL", enabled=False)
    walled = make_article(
        source=source, language="pl", title_orig=PL_TITLE, summary_orig=PL_CONSENT, title_en="", summary_en=""
    )
    walled.translation_status = "pending"
    real = make_article(
        source=source, language="pl", title_orig=PL_TITLE, summary_orig=PL_OTHER_WORDS, title_en="", summary_en=""
    )
    real.translation_status = "pending"
    assert article_features(article=walled, grams=False).terms == text_features(title=PL_TITLE, grams=False).terms
    assert semantic.article_semantic_text(walled) == PL_TITLE
    assert "Chalifa" in semantic.article_semantic_text(real)  # the real lead is read
    assert set(article_features(article=real, grams=False).terms) > set(text_features(title=PL_TITLE).terms)
    walled.refresh_from_db()
    assert walled.summary_orig == PL_CONSENT  # what the card shows is untouched


@needs_use
@pytest.mark.django_db
def test_without_the_encoder_the_lead_is_read(settings):
    settings.NEWSDESK_COVERAGE_SEMANTIC = "off"
    source = make_source(language="en", country="US", enabled=False)
    walled = make_english_article(source=source, title=EN_TITLE, summary=EN_COOKIES)
    assert "cookie" in article_features(article=walled, grams=False).terms


@needs_use
def test_a_graded_pair_reads_the_headline_not_the_paywall(use):
    pairs = [
        Pair(a_title=EN_TITLE, a_body=EN_COOKIES, b_title=EN_TITLE, b_body=EN_REAL, overall=1.0),
        Pair(a_title=EN_TITLE, a_body=EN_COOKIES, b_title=EN_QUAKE_TITLE, b_body=EN_QUAKE_LEAD, overall=4.0),
    ]
    params = Params(semantic_weight=semantic.USE_V3.weight, semantic_floor=semantic.USE_V3.floor)
    read: list[str] = []

    def embed(texts: list[str]):
        read.extend(texts)
        return semantic.encoder().embed(texts)

    same, other = pairs_score(pairs, params=params, embed=embed)
    assert not any("cookie" in text and "Ghosn" in text for text in read)  # the notice is never embedded with it
    assert EN_TITLE in read  # the headline alone is
    assert same > 0.5 > other


@needs_use
@pytest.mark.django_db(transaction=True)
def test_a_report_under_a_cookie_wall_joins_its_story(use):
    source = make_source(language="en", country="US", enabled=False)
    other = make_source(language="en", country="GB", enabled=False)
    real = make_english_article(source=source, title=EN_TITLE, summary=EN_REAL)
    walled = make_english_article(
        source=other, title="Fugitive Ghosn says relatives had no part in escape", summary=EN_COOKIES
    )
    result = articles_finish(article_ids=[real.id, walled.id])
    assert not result.failed
    real, walled = Article.objects.get(id=real.id), Article.objects.get(id=walled.id)
    assert real.story_id == walled.story_id
    assert walled.summary_orig == EN_COOKIES
