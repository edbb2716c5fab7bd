"""Accounts in a real browser: sign in to a private desk, save a view, open its private feed."""

from __future__ import annotations

import re

import feedparser
import pytest
from playwright.sync_api import expect

from newsdesk.models import SavedView
from tests.support.accounts import PASSWORD, make_article, make_editor, make_source


@pytest.fixture
def private_desk(settings):
    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    make_article(make_source(name="El Financiero", country="MX", language="es"), "Lithium royalties rise in Sonora")
    make_article(make_source(name="Le Monde", country="FR", language="fr"), "Paris backs a minerals front")
    return make_editor()


def test_sign_in_save_a_view_and_open_its_feed(page, chromium, live_server, private_desk):
    editor = private_desk
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))  # private: the desk asks for sign-in
    page.fill("#id_username", editor.username)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    expect(page).to_have_url(live_server.url + "/")
    expect(page.locator(".topbar")).to_contain_text(f"Sign out ({editor.username})")
    page.wait_for_load_state("load")  # dashboard.js (deferred) is listening from here on

    # Filter without a reload (dashboard.js), then save: the saved query is the one in the address bar.
    page.select_option("#f-country", "MX")
    expect(page).to_have_url(re.compile(r"/\?country=MX$"))
    expect(page.locator("#cards .card")).to_have_count(1)
    page.fill("#desk-save-name", "Mexico — minerals")
    page.click(".desk-save button[type=submit]")
    expect(page.locator(".desk-list")).to_contain_text("Mexico — minerals")
    assert SavedView.objects.get(owner=editor).query == "country=MX"

    page.click("text=Manage saved views and feeds")
    page.click("text=Get feed URLs")
    expect(page.locator("#token-title")).to_contain_text("Mexico — minerals")
    urls = {
        page.locator(".token-url").nth(i).get_attribute("data-format"): page.locator(".token-url").nth(i).input_value()
        for i in range(page.locator(".token-url").count())
    }
    assert set(urls) == {"RSS", "Atom", "JSON Feed"}
    assert all(u.startswith(live_server.url + "/feeds/private/") for u in urls.values())

    # A feed reader: no cookies at all.
    reader = chromium.new_context()
    try:
        response = reader.request.get(urls["RSS"])
        assert response.ok
        assert response.headers["referrer-policy"] == "no-referrer"
        feed = feedparser.parse(response.body())
        assert feed.bozo == 0
        assert [e.title for e in feed.entries] == ["Lithium royalties rise in Sonora"]
        assert reader.request.get(live_server.url + "/feeds/rss/").status == 401  # the public feed is closed
    finally:
        reader.close()

    # Revoke from the desk page: the reader's URL is gone.
    page.click("text=Back to saved views")
    page.click("text=Revoke feed URLs")
    expect(page.locator(".messages")).to_contain_text("revoked")
    reader = chromium.new_context()
    try:
        assert reader.request.get(urls["RSS"]).status == 404
    finally:
        reader.close()
    assert page.console_errors == []
