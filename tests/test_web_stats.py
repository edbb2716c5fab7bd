"""The stats page: per-day charts by language and country, and source health."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from lxml import html

from newsdesk.enrich.breaker import breaker_failure
from newsdesk.enrich.redisstate import redis_state_clear
from newsdesk.models import FetchAttempt, ProviderUsage, Source, SourceKind
from newsdesk.web.charts import stacked_days
from tests.support.articles import make_article, make_source

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_web_cache")]


def test_stacked_days_geometry():
    start = date(2026, 2, 1)
    counts = {(start, "ES"): 3, (start, "FR"): 1, (start + timedelta(days=1), "ES"): 2}
    chart = stacked_days(counts=counts, start=start, days=3, width=300, height=100)
    assert chart.max_value == 4
    day0 = [b for b in chart.bars if b.x < 100]
    assert sum(b.height for b in day0) == pytest.approx(100)
    assert {b.label for b in day0} == {"Feb 1: ES 3", "Feb 1: FR 1"}
    assert [(label, total) for label, _, total in chart.legend] == [("ES", 5), ("FR", 1)]


def test_stacked_days_folds_the_tail_into_other():
    start = date(2026, 2, 1)
    counts = {(start, f"L{i}"): 10 - i for i in range(9)}
    chart = stacked_days(counts=counts, start=start, days=1, top=3)
    assert [label for label, _, _ in chart.legend] == ["L0", "L1", "L2", "other"]
    assert chart.legend[-1][2] == sum(10 - i for i in range(3, 9))


def test_stats_page(client, settings):
    settings.NEWSDESK_STATS_CACHE_SECONDS = 0
    now = timezone.now()
    mx = make_source(name="El Financiero", country="MX", language="es")
    fr = make_source(name="Le Monde", country="FR", language="fr", error_count=3, last_error="HTTP 503")
    for i in range(3):
        make_article(source=mx, published_at=now - timedelta(days=i))
    make_article(source=fr, published_at=now - timedelta(days=1))
    make_article(source=fr, published_at=now - timedelta(days=45))  # outside the window
    FetchAttempt.objects.create(source=fr, outcome=FetchAttempt.Outcome.ERROR)
    FetchAttempt.objects.create(source=fr, outcome=FetchAttempt.Outcome.OK)
    response = client.get(reverse("stats"))
    assert response.status_code == 200
    doc = html.fromstring(response.content.decode())
    lang_titles = doc.xpath('//figure[@aria-labelledby="by-lang-caption"]//rect/title/text()')
    assert sum(int(t.rsplit(" ", 1)[1]) for t in lang_titles if ": Spanish " in t) == 3
    assert sum(int(t.rsplit(" ", 1)[1]) for t in lang_titles if ": French " in t) == 1
    country_legend = doc.xpath('//figure[@aria-labelledby="by-country-caption"]//ul[@class="legend"]')[0].text_content()
    assert "Mexico" in country_legend and "France" in country_legend
    rows = {r.xpath("th/text()")[0]: r for r in doc.xpath("//table[@class='health']/tbody/tr")}
    assert rows["Le Monde"].get("class") == "health-failing"
    assert "2 (1 failed)" in rows["Le Monde"].text_content()
    assert "HTTP 503" in rows["Le Monde"].text_content()
    assert rows["El Financiero"].get("class") == "health-new"


def test_stats_page_when_empty(client):
    response = client.get(reverse("stats"))
    assert response.status_code == 200
    assert b"No articles in the last 30 days" in response.content


def test_drop_outlets_are_not_listed_as_feeds(client):
    """'Demo Wire' came from a drop: no URL, never polled, so not 'new / never' among the feeds."""
    inbox = Source.objects.create(name="Demo inbox", kind=SourceKind.DROP, inbox="demo")
    wire = Source.objects.create(name="Demo Wire", kind=SourceKind.FEED, url="", parent=inbox, country="CL")
    make_article(source=wire)
    doc = html.fromstring(client.get(reverse("stats")).content.decode())
    health = {r.xpath("th/text()")[0]: r for r in doc.xpath("//table[@aria-labelledby='health']/tbody/tr")}
    assert set(health) == {"Demo inbox"}
    assert "drop inbox" in health["Demo inbox"].text_content()
    outlets = doc.xpath("//table[@aria-labelledby='drop-outlets']/tbody/tr")
    assert len(outlets) == 1
    text = " ".join(outlets[0].text_content().split())
    assert text.startswith("Demo Wire") and "Chile" in text and "Demo inbox" in text


def test_counts_read_as_english(client):
    """'1 article', not '1 articles'; a success seconds ago is 'just now', not '0 minutes ago'."""
    source = make_source(name="El Financiero", last_success_at=timezone.now())
    make_article(source=source, published_at=timezone.now())
    text = html.fromstring(client.get(reverse("stats")).content.decode()).text_content()
    assert re.search(r"Tallest day: 1 article(?!s)", text)
    assert "1 articles" not in text
    assert "just now" in text and "0\xa0minutes ago" not in text and "0 minutes ago" not in text


def test_translation_providers_state_use_and_budget(client, settings):
    redis_state_clear()
    settings.NEWSDESK_TRANSLATORS = ["google", "deepl", "mymemory"]
    settings.NEWSDESK_DEEPL_KEY = ""
    settings.NEWSDESK_TRANSLATION_DAILY_CHARS = "google=2000000,deepl=16000,mymemory=45000"
    ProviderUsage.objects.create(provider="google", day=timezone.now().date(), calls=12, characters=500000)
    ProviderUsage.objects.create(provider="mymemory", day=timezone.now().date(), calls=90, characters=45000)
    breaker_failure(provider="google", reason="google: HTTP 503", retry_after=300)
    try:
        doc = html.fromstring(client.get(reverse("stats")).content.decode())
    finally:
        redis_state_clear()
    rows = {r.get("data-provider"): " ".join(r.text_content().split()) for r in doc.xpath("//tr[@data-provider]")}
    assert list(rows) == ["google", "deepl", "mymemory"]
    assert "circuit open until" in rows["google"] and "HTTP 503" in rows["google"]
    assert "12 500,000 2,000,000 (25% used)" in rows["google"]
    assert "not configured" in rows["deepl"] and "NEWSDESK_DEEPL_KEY is not set" in rows["deepl"]
    assert "budget spent" in rows["mymemory"] and "45,000 of 45,000 characters used today" in rows["mymemory"]


def test_page_title_is_just_the_title(client):
    doc = html.fromstring(client.get(reverse("stats")).content.decode())
    assert doc.findtext(".//title") == "Stats · Newsdesk"
    assert len(doc.xpath("//h2[@id='translation']")) == 1
