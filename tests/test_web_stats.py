"""The stats page: per-day charts by language and country, and source health."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from lxml import html

from newsdesk.models import FetchAttempt
from newsdesk.web.charts import stacked_days
from tests.support.articles import make_article, make_source

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Charts are cached in Redis, which outlives each test's database.
    cache.delete_many(["newsdesk:web:stats:lang", "newsdesk:web:stats:country"])


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
    assert sum(int(t.rsplit(" ", 1)[1]) for t in lang_titles if ": ES " in t) == 3
    assert sum(int(t.rsplit(" ", 1)[1]) for t in lang_titles if ": FR " in t) == 1
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
