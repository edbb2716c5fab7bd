"""The dashboard page: cards, filters in the URL, partial updates, safety."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from lxml import html

from newsdesk.models import TranslationStatus
from tests.support.articles import make_article, make_source, make_story

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_web_cache")]


NASTY_VALUES = [
    "",
    " ",
    "'",
    '"',
    "\x00",
    "a\x00b",
    "\ufffe",
    "%",
    "%00",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "9" * 40,
    "-1",
    "0",
    "1e9",
    "NaN",
    "2026-02-30",
    "2026-13-01",
    "99999-01-01",
    "\u202e",
    "ü" * 500,
    "x" * 5000,
    "covered\x00",
    "../../etc/passwd",
    "{{ 7*7 }}",
    "\\",
    "&&!!",
    '"unterminated',
    "-",
    "source:",
    'country:"',
    "lang:zzzzzz",
]
PARAMS = ["q", "country", "lang", "source", "category", "from", "to", "status", "coverage", "sort", "before"]


def _doc(response):
    return html.fromstring(response.content.decode())


def test_card_shows_seed_format(client):
    """A card reads like the seed: 'Feb 9 • 11:00 UTC 🇲🇽 Mexico El Financiero (ES)', English
    headline and summary, Similar Coverage with the other outlets' count, original link."""
    source = make_source(name="El Financiero", country="MX", language="es")
    story = make_story(sources=4)
    article = make_article(source=source, story=story, url="https://www.elfinanciero.com.mx/a/1")
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    card = _doc(response).get_element_by_id(f"a{article.id}")
    meta = " ".join(card.find_class("meta")[0].text_content().split())
    assert meta == "Feb 9 • 11:00 UTC 🇲🇽 Mexico El Financiero (ES)"
    assert card.find_class("headline")[0].text_content() == "Critical minerals should not be negotiated separately"
    assert "securing critical minerals" in card.find_class("summary")[0].text_content()
    coverage = card.find_class("coverage")[0]
    assert coverage.text_content() == "📡 Similar Coverage (3)"
    assert coverage.get("href") == reverse("story", args=[story.id])
    assert card.find_class("original-link")[0].get("href") == "https://www.elfinanciero.com.mx/a/1"
    original = card.find_class("original")[0]
    assert original.tag == "details"
    assert original.get("open") is None
    assert "Los minerales críticos" in original.text_content()
    assert not card.find_class("badge")


@pytest.mark.parametrize("status", [TranslationStatus.PENDING, TranslationStatus.FAILED])
def test_untranslated_card_has_badge_and_original_text(client, status):
    source = make_source()
    article = make_article(source=source, title_en="", summary_en="", status=status)
    card = _doc(client.get(reverse("dashboard"))).get_element_by_id(f"a{article.id}")
    badge = card.find_class("badge")[0]
    assert badge.text_content() == f"Translation {status.label.lower()}"
    headline = card.find_class("headline")[0]
    assert headline.text_content() == article.title_orig
    assert headline.get("lang") == "es"
    assert not card.find_class("original")  # nothing to toggle: the card already shows it


def test_javascript_urls_are_not_linked(client):
    article = make_article(source=make_source(), url="javascript:alert(1)")
    card = _doc(client.get(reverse("dashboard"))).get_element_by_id(f"a{article.id}")
    assert not card.find_class("original-link")


def test_hostile_text_is_escaped(client):
    make_article(
        source=make_source(name="<b>Outlet</b>"),
        title_en="<script>alert(1)</script>",
        summary_en="<img src=x onerror=alert(1)>",
    )
    body = client.get(reverse("dashboard")).content.decode()
    assert "<script>alert(1)" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<img src=x" not in body
    assert "&lt;b&gt;Outlet&lt;/b&gt;" in body
    assert "<b>Outlet" not in body  # neither on the card nor in the source <select>


def test_filters_are_reflected_in_form_and_feed_links(client):
    mx = make_source(country="MX", language="es")
    make_source(country="FR", language="fr")
    response = client.get(reverse("dashboard"), {"country": "MX", "q": "lithium", "sort": "covered", "source": mx.id})
    doc = _doc(response)
    assert doc.xpath('//select[@name="country"]/option[@selected]/@value') == ["MX"]
    assert doc.xpath('//select[@name="sort"]/option[@selected]/@value') == ["covered"]
    assert doc.xpath('//input[@name="q"]/@value') == ["lithium"]
    rss = doc.xpath('//a[@data-feed="rss"]/@href')[0]
    assert rss.startswith(reverse("feed-rss") + "?")
    assert "country=MX" in rss and "q=lithium" in rss and "sort=covered" in rss and f"source={mx.id}" in rss
    assert doc.xpath('//a[@data-feed="atom"]/@href')[0].startswith(reverse("feed-atom"))
    assert doc.xpath('//a[@data-feed="json-feed"]/@href')[0].startswith(reverse("feed-json"))
    assert len(doc.xpath('//link[@rel="alternate"]')) == 3


def test_every_control_has_a_label(client):
    make_article(source=make_source())
    doc = _doc(client.get(reverse("dashboard")))
    controls = doc.xpath('//form[@id="filters"]//*[self::input or self::select]')
    assert len(controls) >= 9
    for control in controls:
        assert doc.xpath(f'//label[@for="{control.get("id")}"]'), control.get("name")


def test_search_syntax_is_documented_on_the_page(client):
    help_text = _doc(client.get(reverse("dashboard"))).get_element_by_id("search-help").text_content()
    for token in ('"critical minerals"', "-china", "source:", "country:", "lang:"):
        assert token in help_text


def test_partial_results_and_more(client, settings):
    settings.NEWSDESK_PAGE_SIZE = 2
    source = make_source()
    articles = [make_article(source=source, minutes_ago=i) for i in range(5)]
    partial = client.get(reverse("dashboard"), headers={"X-Newsdesk-Partial": "results"})
    assert partial.status_code == 200
    assert "X-Newsdesk-Partial" in partial.headers["Vary"]
    doc = html.fromstring(f"<div>{partial.content.decode()}</div>")
    assert not doc.xpath("//form")  # only the results block
    assert [int(c.get("data-article")) for c in doc.find_class("card")] == [articles[0].id, articles[1].id]
    more_url = doc.xpath("//a[@data-more]/@href")[0]
    more = client.get(reverse("dashboard") + more_url, headers={"X-Newsdesk-Partial": "more"})
    doc = html.fromstring(f"<div>{more.content.decode()}</div>")
    assert [int(c.get("data-article")) for c in doc.find_class("card")] == [articles[2].id, articles[3].id]
    assert not doc.find_class("toolbar")


def test_pages_walk_without_duplicates(client, settings):
    settings.NEWSDESK_PAGE_SIZE = 3
    source = make_source()
    ids = {make_article(source=source, minutes_ago=i // 2).id for i in range(10)}  # ties in published_at
    seen: list[int] = []
    url = reverse("dashboard")
    while url:
        doc = _doc(client.get(url))
        seen += [int(c.get("data-article")) for c in doc.find_class("card")]
        nxt = doc.xpath("//a[@data-more]/@href")
        url = reverse("dashboard") + nxt[0] if nxt else ""
    assert len(seen) == len(set(seen)) == 10
    assert set(seen) == ids


@pytest.mark.parametrize("name", PARAMS)
def test_nasty_parameters_never_500(client, name):
    """Every parameter with every nasty value: 200 (value ignored) or 400, never a crash."""
    make_article(source=make_source(), story=make_story(sources=2))
    for value in NASTY_VALUES:
        for partial in ("", "results"):
            response = client.get(reverse("dashboard"), {name: value}, headers={"X-Newsdesk-Partial": partial})
            assert response.status_code in (200, 400), (name, value, response.status_code)


def test_nasty_repeated_and_combined_parameters(client):
    make_article(source=make_source())
    query = "&".join(f"{p}=%00{p}" for p in PARAMS) + "&country=" + "&country=".join(["MX"] * 50)
    response = client.get(reverse("dashboard") + "?" + query)
    assert response.status_code == 200


def test_invalid_values_are_named(client):
    make_article(source=make_source())
    doc = _doc(client.get(reverse("dashboard"), {"country": "Atlantis", "sort": "random", "from": "yesterday"}))
    notice = doc.find_class("notice")[0].text_content()
    assert "country" in notice and "sort" in notice and "from" in notice


def test_security_headers(client):
    response = client.get(reverse("dashboard"))
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_have_no_inline_script_or_style(client):
    make_article(source=make_source(), story=make_story(sources=3))
    for url in (reverse("dashboard"), reverse("stats")):
        doc = _doc(client.get(url))
        assert all(s.get("src") for s in doc.xpath("//script")), url
        assert not doc.xpath("//style | //*[@style] | //*[@onclick] | //*[@onload]"), url


def test_admin_still_works_under_csp(client):
    user = get_user_model().objects.create_superuser("admin", "admin@example.org", "pw-123456-long")
    client.force_login(user)
    response = client.get(reverse("admin:newsdesk_article_changelist"))
    assert response.status_code == 200
    doc = _doc(response)
    # Admin's inline <script> blocks are JSON data, which CSP does not execute.
    for script in doc.xpath("//script[not(@src)]"):
        assert script.get("type") == "application/json"


@pytest.mark.parametrize("sort", ["newest", "covered"])
def test_query_count_is_constant_in_the_number_of_cards(client, django_assert_num_queries, settings, sort):
    settings.NEWSDESK_PAGE_SIZE = 50
    source = make_source()
    make_article(source=source, story=make_story(sources=2))
    client.get(reverse("dashboard"))  # warm the category cache
    with django_assert_num_queries(2):  # sources for the form + one page of cards
        client.get(reverse("dashboard"), {"sort": sort})
    for i in range(30):
        source = make_source(language=["es", "en", "fr"][i % 3])  # English cards read more fields
        make_article(source=source, story=make_story(sources=i + 1), minutes_ago=i + 1)
    # The first page after a change also reads the newest article id for the live box, once per change.
    with django_assert_num_queries(3):
        client.get(reverse("dashboard"), {"sort": sort})
    with django_assert_num_queries(2):
        response = client.get(reverse("dashboard"), {"sort": sort})
    assert len(_doc(response).find_class("card")) == 31


def _cards_html(client) -> dict[str, str]:
    doc = _doc(client.get(reverse("dashboard")))
    return {el.get("id"): html.tostring(el, encoding="unicode") for el in doc.find_class("card")}


def test_rendered_card_cache_gives_the_template_s_output_and_follows_changes(client, settings):
    from newsdesk.models import Article
    from newsdesk.web.cards import rendered_cards

    source = make_source(name="El Financiero", country="MX", language="es")
    story = make_story(sources=2)
    a = make_article(source=source, story=story, title_en="<i>Lithium</i> deal")
    make_article(source=source, title_en="", summary_en="", status=TranslationStatus.PENDING)
    settings.NEWSDESK_CARD_CACHE = 0
    rendered_cards.clear()
    plain = _cards_html(client)
    assert len(rendered_cards) == 0
    settings.NEWSDESK_CARD_CACHE = 100
    assert _cards_html(client) == plain  # rendered and stored
    assert len(rendered_cards) == 2
    assert _cards_html(client) == plain  # served from the cache
    assert "&lt;i&gt;Lithium&lt;/i&gt;" in plain[f"a{a.id}"]  # still escaped
    # Any change to what a card shows makes a different card, never a stale one.
    Article.objects.filter(id=a.id).update(title_en="Copper deal")
    story.source_count = 5
    story.save()
    changed = _cards_html(client)[f"a{a.id}"]
    assert "Copper deal" in changed and "Similar Coverage (4)" in changed
    settings.NEWSDESK_CARD_CACHE = 0
    assert _cards_html(client)[f"a{a.id}"] == changed


def test_rendered_card_cache_is_bounded(client, settings):
    from newsdesk.web.cards import rendered_cards

    settings.NEWSDESK_CARD_CACHE = 3
    rendered_cards.clear()
    source = make_source()
    for i in range(5):
        make_article(source=source, title_en=f"Story {i}", minutes_ago=i)
    assert len(_cards_html(client)) == 5
    assert len(rendered_cards) == 3


def test_favicon_is_served_on_a_private_desk_too(client, settings, db):
    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    body = b"".join(response)
    assert body[:4] == b"\x00\x00\x01\x00", "an ICO header"
    assert "max-age=86400" in response["Cache-Control"]
