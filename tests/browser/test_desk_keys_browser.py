"""The editors' desk in Chromium: keyboard navigation, the help overlay, and live "N new articles — show"."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from newsdesk.models import Article
from tests.support.articles import make_article, make_english_article, make_source, make_story


@pytest.fixture
def desk(live_server):
    mx = make_source(name="El Financiero", country="MX", language="es")
    us = make_source(name="Wire US", country="US", language="en")
    story = make_story(sources=2, headline="Lithium talks")
    cards = [
        # The original links point at this very server: no test reaches the internet.
        make_article(source=mx, story=story, minutes_ago=0, url=f"{live_server.url}/healthz?first"),
        make_english_article(
            source=us, story=story, minutes_ago=10, title="English only", url=f"{live_server.url}/healthz?second"
        ),
        make_article(source=mx, minutes_ago=20, title_en="Third", title_orig="Tercero"),
    ]
    return {"cards": cards, "story": story, "mx": mx}


def _focused_card(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def test_j_and_k_move_a_visible_focus_between_cards(page, desk):
    first, second, third = (f"a{a.id}" for a in desk["cards"])
    page.goto("/")
    page.keyboard.press("j")
    assert _focused_card(page) == first
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # the card in hand is visibly marked
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert _focused_card(page) == third
    page.keyboard.press("j")  # past the last card: stays, says so
    assert _focused_card(page) == third
    expect(page.locator("#keys-status")).to_have_text("Last article")
    page.keyboard.press("k")
    assert _focused_card(page) == second
    assert page.console_errors == []


def test_o_opens_the_original_in_a_new_tab(page, desk):
    page.goto("/")
    page.keyboard.press("j")
    with page.context.expect_page() as opened:
        page.keyboard.press("o")
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.url.endswith("/healthz?first")
    assert page.url.endswith("/")  # the desk stays where it was


def test_s_opens_the_story_page(page, desk):
    page.goto("/")
    page.keyboard.press("j")
    page.keyboard.press("s")
    page.wait_for_url(f"**/stories/{desk['story'].id}/")


def test_t_toggles_the_original_text(page, desk):
    page.goto("/")
    page.keyboard.press("j")
    first = page.locator(f"#a{desk['cards'][0].id} details.original")
    page.keyboard.press("t")
    expect(first).to_have_attribute("open", "")
    page.keyboard.press("t")
    expect(first).not_to_have_attribute("open", "")
    page.keyboard.press("j")  # an English card has no original text: nothing toggles, it says why
    page.keyboard.press("t")
    expect(page.locator("#keys-status")).to_contain_text("No original text")


def test_slash_goes_to_search_and_typing_there_is_not_a_shortcut(page, desk):
    page.goto("/")
    page.keyboard.press("/")
    assert _focused_card(page) == "f-q"
    page.keyboard.type("jk")
    assert page.input_value("#f-q") == "jk"
    assert _focused_card(page) == "f-q"


def test_question_mark_opens_a_help_dialog_that_gives_focus_back(page, desk):
    page.goto("/")
    page.keyboard.press("j")
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    for key in ("j", "k", "o", "s", "t", "/", "?"):
        expect(dialog.locator("kbd", has_text=key).first).to_be_visible()
    assert page.evaluate("document.activeElement.closest('dialog') !== null")
    page.keyboard.press("j")  # keys do not act behind the dialog
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert _focused_card(page) == f"a{desk['cards'][0].id}"
    # The same help is reachable without the keyboard shortcut.
    page.get_by_role("button", name="Keyboard shortcuts (?)").click()
    expect(dialog).to_be_visible()


def test_new_articles_are_offered_and_shown_without_reload_or_scroll_jump(page, desk, settings):
    settings.NEWSDESK_LIVE_POLL_SECONDS = 1
    for i in range(12):
        make_article(source=desk["mx"], minutes_ago=30 + i, title_en=f"Older {i}")
    page.goto("/")
    page.evaluate("window.__noReload = true")
    reading = page.locator(f"#a{desk['cards'][2].id}")
    reading.scroll_into_view_if_needed()
    page.mouse.wheel(0, 300)
    page.wait_for_timeout(200)
    before = reading.bounding_box()["y"]
    assert page.evaluate("window.scrollY") > 0
    fresh = [make_article(source=desk["mx"], minutes_ago=-m, title_en=f"Breaking {m}") for m in (1, 2)]
    button = page.locator(".live-show")
    expect(button).to_have_text("2 new articles — show", timeout=8000)
    button.click()
    expect(page.locator("#cards .card").first).to_have_id(f"a{fresh[1].id}")
    expect(page.locator(".live-said")).to_have_text("2 new articles added at the top")
    assert abs(reading.bounding_box()["y"] - before) < 3  # what the editor was reading did not move
    assert page.evaluate("window.__noReload === true")
    assert Article.objects.count() == 17
    assert page.console_errors == []
