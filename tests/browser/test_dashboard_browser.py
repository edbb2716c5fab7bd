"""The dashboard in a real browser: filtering, search, original text, Similar Coverage, subscribing."""

from __future__ import annotations

import re

import feedparser
import pytest
from playwright.sync_api import expect

from newsdesk.models import TranslationStatus
from tests.support.articles import make_article, make_source, make_story


@pytest.fixture
def desk():
    financiero = make_source(name="El Financiero", country="MX", language="es")
    monde = make_source(name="Le Monde", country="FR", language="fr")
    folha = make_source(name="Folha de S.Paulo", country="BR", language="pt")
    story = make_story(sources=3, headline="Critical minerals talks")
    minerals = make_article(source=financiero, story=story, minutes_ago=0)
    make_article(
        source=monde,
        story=story,
        minutes_ago=30,
        title_en="Paris backs a common front on critical minerals",
        summary_en="France supports a joint approach to supply chains.",
        title_orig="Paris soutient un front commun sur les minerais critiques",
        summary_orig="La France soutient une approche commune.",
    )
    make_article(
        source=folha,
        minutes_ago=60,
        title_en="Brazil lithium output hits record",
        summary_en="Miners in Minas Gerais expanded production.",
        title_orig="Produção de lítio no Brasil bate recorde",
        summary_orig="Mineradoras ampliaram a produção.",
        status=TranslationStatus.DONE,
    )
    return {"story": story, "minerals": minerals}


def _headlines(page) -> list[str]:
    return page.locator("#cards .headline").all_inner_texts()


def _mark_document(page) -> None:
    # A property on window survives only if the page is never reloaded.
    page.evaluate("window.__noReload = true")


def _assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__noReload === true")


def test_filtering_updates_results_without_reload(page, desk):
    page.goto("/")
    assert len(_headlines(page)) == 3
    _mark_document(page)
    page.select_option("#f-country", "FR")
    expect(page).to_have_url(re.compile(r"/\?country=FR$"))
    expect(page.locator("#cards .card")).to_have_count(1)
    assert _headlines(page) == ["Paris backs a common front on critical minerals"]
    _assert_not_reloaded(page)
    page.go_back()
    expect(page.locator("#cards .card")).to_have_count(3)
    assert page.input_value("#f-country") == ""
    assert page.console_errors == []


def test_search_as_you_type(page, desk):
    page.goto("/")
    _mark_document(page)
    page.fill("#f-q", "lithium")
    expect(page).to_have_url(re.compile(r"/\?q=lithium$"))
    expect(page.locator("#cards .card")).to_have_count(1)
    assert _headlines(page) == ["Brazil lithium output hits record"]
    page.fill("#f-q", '"critical minerals" -paris')
    expect(page.locator("#cards .headline")).to_have_text(["Critical minerals should not be negotiated separately"])
    _assert_not_reloaded(page)
    assert page.console_errors == []


def test_toggle_original_text(page, desk):
    page.goto("/")
    card = page.locator(f"#a{desk['minerals'].id}")
    original = card.locator(".orig-title")
    assert not original.is_visible()
    card.locator("details.original summary").click()
    assert original.is_visible()
    assert original.inner_text() == "Los minerales críticos no deben negociarse por separado"
    assert card.locator("details.original > div").get_attribute("lang") == "es"
    # Keyboard: focus the toggle and close it with Enter.
    card.locator("details.original summary").focus()
    page.keyboard.press("Enter")
    assert not original.is_visible()


def test_similar_coverage_leads_to_the_story(page, desk):
    page.goto("/")
    link = page.locator(f"#a{desk['minerals'].id} a.coverage")
    assert link.inner_text() == "📡 Similar Coverage (2)"
    link.click()
    page.wait_for_url(f"**/stories/{desk['story'].id}/")
    body = page.locator("main").inner_text()
    assert "El Financiero" in body and "Le Monde" in body
    assert "Folha" not in body


def test_subscribe_gives_the_current_view(page, desk):
    page.goto("/")
    page.select_option("#f-country", "MX")
    expect(page.locator("#cards .card")).to_have_count(1)
    href = page.get_attribute("a[data-feed='rss']", "href")
    assert "country=MX" in href
    response = page.request.get(href)
    assert response.ok
    assert response.headers["content-type"].startswith("application/rss+xml")
    feed = feedparser.parse(response.body())
    assert feed.bozo == 0
    assert [e.title for e in feed.entries] == _headlines(page)
    # Following the link works too. Wait for the response itself: a click
    # returns before the navigation finishes, and Chromium may hand an
    # Atom document to its download machinery instead of rendering it.
    with page.expect_response(lambda r: "/feeds/atom/" in r.url) as followed:
        page.click("a[data-feed='atom']")
    atom = followed.value
    assert atom.ok
    assert "country=MX" in atom.url
    # A browser gets the Atom document as application/xml, so Chromium renders it
    # through the feed's XSL page instead of downloading it; readers keep the feed type.
    assert atom.headers["content-type"].startswith("application/xml")
    assert "accept" in atom.headers["vary"].lower()
    expect(page.locator("body")).to_contain_text("Critical minerals should not be negotiated separately")
    reader = page.request.get(atom.url, headers={"Accept": "application/atom+xml"})
    assert reader.headers["content-type"].startswith("application/atom+xml")
    assert [e.title for e in feedparser.parse(reader.body()).entries] == [
        "Critical minerals should not be negotiated separately"
    ]


def test_works_without_javascript(chromium, live_server, desk):
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.select_option("#f-lang", "pt")
    page.click("#filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"lang=pt"))
    expect(page.locator("#cards .headline")).to_have_text(["Brazil lithium output hits record"])
    context.close()


def test_older_articles_append_and_take_focus(page, desk, settings):
    settings.NEWSDESK_PAGE_SIZE = 2
    page.goto("/")
    assert len(_headlines(page)) == 2
    _mark_document(page)
    page.click("a[data-more]")
    expect(page.locator("#cards .card")).to_have_count(3)
    assert page.locator("a[data-more]").count() == 0
    assert page.evaluate("document.activeElement.classList.contains('card')")
    _assert_not_reloaded(page)


def test_phone_layout_has_no_horizontal_scroll(chromium, live_server, desk):
    context = chromium.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    page.goto(live_server.url + "/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.goto(live_server.url + "/stats/")
    # Wide tables scroll inside their own wrapper; the page itself does not.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    context.close()
