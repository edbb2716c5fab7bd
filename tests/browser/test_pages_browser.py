"""Story page, untranslated cards, a phone's width and admin's add forms, in a real browser."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from newsdesk.enrich.breaker import breaker_failure
from newsdesk.enrich.redisstate import redis_state_clear
from newsdesk.models import Source, SourceKind, TranslationStatus
from tests.support.articles import make_article, make_english_article, make_source, make_story


@pytest.fixture
def story():
    story = make_story(sources=2, headline="Los minerales críticos no deben negociarse por separado")
    financiero = make_source(name="El Financiero", country="MX", language="es")
    bbc = make_source(name="BBC News", country="GB", language="en")
    make_article(source=financiero, story=story, minutes_ago=60)
    make_english_article(
        source=bbc,
        story=story,
        minutes_ago=10,
        title="US convenes 55 countries on critical minerals",
        summary="Vance proposed a framework.",
    )
    return story


def test_story_page_reads_like_the_dashboard(page, story):
    page.goto(f"/stories/{story.id}/")
    expect(page.locator("h1")).to_have_text("Critical minerals should not be negotiated separately")
    expect(page.locator(".story-original")).to_contain_text("Los minerales críticos no deben negociarse por separado")
    expect(page.locator(".members article.card")).to_have_count(2)
    expect(page.locator(".members .summary").first).to_contain_text("The U.S. government emphasizes")
    expect(page.locator(".empty-state")).to_have_count(0)
    # Chart labels are page text at a readable size, not SVG text scaled down.
    sizes = page.locator(".coverage-chart .bar-label").evaluate_all(
        "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))"
    )
    assert sizes and min(sizes) >= 12, sizes
    page.locator("p.back a").click()
    page.wait_for_url("**/")
    assert page.evaluate("location.pathname") == "/"
    assert not page.console_errors


def test_story_page_empty_state(page):
    alone = make_story(sources=1)
    make_article(source=make_source(name="Reforma"), story=alone)
    page.goto(f"/stories/{alone.id}/")
    expect(page.locator(".empty-state")).to_contain_text("No other outlet has reported this yet")
    expect(page.locator(".coverage-chart")).to_have_count(0)


def test_untranslated_cards_say_why_and_when(page, settings, translation_state_clean):
    settings.NEWSDESK_TRANSLATORS = ["google"]
    source = make_source(name="El Financiero", country="MX", language="es")
    make_article(source=source, title_en="", summary_en="", status=TranslationStatus.PENDING, minutes_ago=1)
    make_article(
        source=source,
        title_en="",
        summary_en="",
        title_orig="Titular en otro idioma",
        status=TranslationStatus.FAILED,
        translation_error="google: input refused (too long)",
        minutes_ago=2,
    )
    breaker_failure(provider="google", reason="google: connection refused", retry_after=900)
    page.goto("/")
    notes = page.locator(".card .translation-note")
    expect(notes).to_have_count(2)
    expect(notes.nth(0)).to_contain_text("Not translated yet: google: circuit open until")
    expect(notes.nth(0)).to_contain_text("next try after")
    expect(notes.nth(1)).to_have_text("Translation failed: google: input refused (too long). An admin can retry it.")
    expect(page.locator(".card .badge").first).to_have_text("Translation pending")
    page.goto("/stats/")
    expect(page.locator("tr[data-provider=google]")).to_contain_text("circuit open until")


def test_phone_width_shows_the_first_card_without_scrolling(chromium, live_server, story):
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 390, "height": 844}, device_scale_factor=3, is_mobile=True
    )
    phone = context.new_page()
    try:
        phone.goto("/")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways ({width}px)"
        if os.environ.get("NEWSDESK_PHONE_SHOT"):  # to look at the layout by eye
            phone.screenshot(path=os.environ["NEWSDESK_PHONE_SHOT"])
        top = phone.locator("#cards .card .headline").first.bounding_box()
        assert top is not None and top["y"] + top["height"] <= 844, f"first headline below the fold: {top}"
        form = phone.locator("#filters").bounding_box()
        assert form["height"] < 844 * 0.6, f"filters take {form['height']}px of an 844px screen"
        phone.goto(f"/stories/{story.id}/")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


@pytest.fixture
def signed_in_admin(page, live_server):
    get_user_model().objects.create_superuser("boss", "boss@example.org", "a-long-password-123")
    page.goto("/admin/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "a-long-password-123")
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_have_text("Newsdesk admin")
    return page


def test_admin_adds_a_feed_and_a_drop_inbox(signed_in_admin, feed_server, settings):
    page = signed_in_admin
    feed_server.static(
        "/rss.xml",
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Loop</title><link>http://x/</link>'
        b"<item><title>One</title><guid>1</guid></item></channel></rss>",
        content_type="application/rss+xml",
    )
    # The list's last column is on screen at 1366 px, a common laptop width.
    Source.objects.create(
        name="Broken", url="https://broken.example.org/rss", error_count=3, last_error="HTTP 503 " * 30
    )
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto("/admin/newsdesk/source/")
    last = page.locator("#result_list thead th").last
    expect(last).to_contain_text("Last error")
    box = last.bounding_box()
    assert box["x"] + box["width"] <= 1366, box
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    page.get_by_role("link", name="Add feed").click()
    expect(page.locator("h1")).to_have_text("Add a feed")
    expect(page.locator("#id_inbox")).to_have_count(0)
    expect(page.locator("#id_next_poll_at_0")).to_have_count(0)
    page.fill("#id_name", "Loop feed")
    page.fill("#id_url", feed_server.url("/rss.xml"))
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    assert Source.objects.get(name="Loop feed").kind == SourceKind.FEED

    page.get_by_role("link", name="Add drop inbox").click()
    expect(page.locator("h1")).to_have_text("Add a drop inbox")
    expect(page.locator("#id_url")).to_have_count(0)
    page.fill("#id_name", "Wire inbox")
    page.fill("#id_inbox", "wire")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    drop = Source.objects.get(name="Wire inbox")
    assert drop.kind == SourceKind.DROP and drop.inbox == "wire"

    # The SSRF guard's refusal: one error, saying how to allow an intranet network.
    settings.NEWSDESK_FETCH_ALLOWED_NETWORKS = []
    page.goto("/admin/newsdesk/source/add/?kind=feed")
    page.fill("#id_name", "Intranet")
    page.fill("#id_url", "http://10.0.0.5/feed.xml")
    page.click("input[name=_save]")
    errors = page.locator(".errorlist li")
    expect(errors).to_have_count(1)
    expect(errors.first).to_contain_text("NEWSDESK_FETCH_ALLOWED_NETWORKS")


def test_the_demo_shows_a_story_across_three_languages(page, settings, tmp_path):
    """A first run offline: the demo inbox through the real pipeline, its quake story in es, en and pt."""
    from newsdesk.coverage.semantic import backend_name
    from newsdesk.management.demo_content import QUAKE
    from newsdesk.models import Article
    from tests.support.demo import demo_through_pipeline

    try:
        demo_through_pipeline(settings=settings, drop_root=tmp_path)
        stories = {Article.objects.get(title_orig=item.title).story_id for item in QUAKE}
        if len(stories) != 1:
            pytest.skip(f"the default install ({backend_name()}) does not group the demo's quake reports yet")
        page.goto("/")
        card = page.locator("#cards .card", has_text="Antofagasta").first
        expect(card.locator(".translation-note")).to_contain_text("Not translated yet: google")
        page.locator("#cards .card", has_text="Magnitude 6.8 earthquake").locator("a.coverage").click()
        expect(page.locator("h1")).to_have_text("Magnitude 6.8 earthquake strikes northern Chile, no tsunami threat")
        langs = page.locator(".members .card .lang").all_inner_texts()
        assert sorted(langs) == ["(EN)", "(ES)", "(PT)"]
        expect(page.locator(".breakdown")).to_contain_text("3 outlets · 3 countries · 3 languages")
    finally:
        redis_state_clear()


def test_a_feed_opened_in_the_browser_reads_as_a_page(page):
    make_article(source=make_source(name="El Financiero", country="MX", language="es"))
    page.goto("/feeds/rss/?country=MX")
    expect(page.locator("h1")).to_have_text("Newsdesk — Mexico")
    expect(page.locator(".notice")).to_contain_text("This is a web feed")
    expect(page.locator(".card .headline a")).to_have_text("Critical minerals should not be negotiated separately")
    expect(page.locator(".card .lang")).to_have_text("(ES)")
    page.goto("/feeds/atom/")
    expect(page.locator(".card")).to_have_count(1)
