"""One language rule (newsdesk/languages.py): declared versus detected, shown and filtered alike."""

from __future__ import annotations

import pytest
from django.urls import reverse
from lxml import html

from newsdesk.ingest.parse import ParsedItem
from newsdesk.ingest.store import articles_upsert
from newsdesk.languages import language_name, language_note, original_language
from newsdesk.models import Article, Source
from tests.support.articles import make_article, make_english_article, make_source, make_story


@pytest.mark.parametrize(
    ("language", "declared", "expected"),
    [
        ("en", "es", "es"),  # the outlet's own English version: the seed card
        ("en", "es-MX", "es"),  # declared codes are read normalised
        ("pt", "es", "pt"),  # the detector was confident it is Portuguese
        ("es", "", "es"),
        ("", "fr", "fr"),
        ("en", "en", "en"),
        ("en", "", "en"),
    ],
)
def test_original_language_rule(language, declared, expected):
    assert original_language(language=language, declared=declared) == expected


def test_language_note_says_when_declared_and_detected_disagree():
    assert language_note(language="en", declared="es", detected="en") == ("Declared Spanish; the text is in English")
    assert language_note(language="pt", declared="es", detected="pt") == "Declared Spanish; detected Portuguese"
    assert "not confident" in language_note(language="es", declared="es", detected="pt")
    assert language_note(language="es", declared="es", detected="es") == ""
    assert language_note(language="es", declared="", detected="es") == ""
    assert language_name("es") == "Spanish" and language_name("xx") == "XX"


@pytest.fixture
def seedlike(db) -> Article:
    """El Financiero, declared ES, English text (as the seed card once enriched)."""
    source = make_source(name="El Financiero", country="MX", language="es")
    return make_english_article(
        source=source,
        title="Critical minerals should not be negotiated separately",
        summary="The U.S. government emphasizes the importance of securing critical minerals.",
        language_declared="es",
        language_detected="en",
        story=make_story(sources=1),
    )


def _titles(client, query: str) -> list[str]:
    doc = html.fromstring(client.get(f"/?{query}").content)
    return [h.text for h in doc.xpath("//article[contains(@class,'card')]//h2")]


def test_lang_filter_uses_the_original_language(client, seedlike):
    english = make_source(name="BBC", country="GB", language="en")
    make_article(source=english, title_en="UK news", title_orig="UK news", language="en", language_declared="en")
    assert _titles(client, "lang=es") == ["Critical minerals should not be negotiated separately"]
    assert _titles(client, "lang=en") == ["UK news"]
    assert _titles(client, "q=lang:es") == ["Critical minerals should not be negotiated separately"]


def test_card_and_story_page_show_the_same_language(client, seedlike):
    card = html.fromstring(client.get("/").content).xpath("//article[contains(@class,'card')]")[0]
    assert card.xpath(".//span[@class='lang']")[0].text == "(ES)"
    assert card.xpath(".//span[@class='lang']")[0].get("title") == "Original language: Spanish"
    assert card.xpath(".//span[@class='lang-note']")[0].text == "Declared Spanish; the text is in English"
    page = html.fromstring(client.get(reverse("story", args=[seedlike.story_id])).content)
    member = page.xpath("//li[contains(@class,'member')]")[0]
    assert member.xpath(".//span[@class='lang']")[0].text == "(ES)"
    assert "Declared Spanish; the text is in English" in member.text_content()


def test_language_filter_lists_language_names(client, seedlike):
    doc = html.fromstring(client.get("/").content)
    options = {o.get("value"): o.text for o in doc.xpath("//select[@id='f-lang']/option") if o.get("value")}
    assert options == {"es": "Spanish"}


def test_store_keeps_language_codes_normalised(db):
    source = Source.objects.create(name="Folha", url="https://folha.example/rss", country="BR", language="pt-BR")
    articles_upsert(source=source, items=[ParsedItem(title="Uma notícia", dedupe_key="k1", language="")])
    articles_upsert(source=source, items=[ParsedItem(title="Outra notícia", dedupe_key="k2", language="PT_br")])
    assert set(Article.objects.values_list("language_declared", "language")) == {("pt", "pt")}
