"""Private token feeds of saved views: create, use, rotate, revoke, and what they disclose."""

from __future__ import annotations

import json
import re

import feedparser
import pytest
from django.test import Client
from django.urls import reverse
from lxml import etree

from newsdesk.accounts import desks, tokens
from newsdesk.accounts.feeds import TOKEN_FEED_ROUTES
from newsdesk.models import FeedToken
from tests.support.accounts import make_article, make_editor, make_source

pytestmark = pytest.mark.django_db

FEED_NAMES = [name for _, name, _ in TOKEN_FEED_ROUTES]


@pytest.fixture
def desk(settings):
    """A private desk with a Mexican and a Spanish article, and an editor's "Mexico" view."""
    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    make_article(make_source(country="MX"), "Lithium royalties rise in Sonora")
    make_article(make_source(name="El País", country="ES", language="es"), "Madrid housing vote")
    editor = make_editor()
    view = desks.saved_view_create(owner=editor, name="Mexico — minerals", query="country=MX")
    return editor, view


def feed_url(name: str, token: str) -> str:
    return reverse(name, kwargs={"token": token})


def test_token_is_random_long_and_stored_only_as_its_sha256(desk):
    editor, view = desk
    _, raw = tokens.feed_token_rotate(owner=editor, pk=view.pk)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", raw)  # 32 random bytes = 256 bits
    row = FeedToken.objects.get(saved_view=view)
    assert row.token_hash == tokens.token_digest(raw)
    assert raw not in row.token_hash
    _, other = tokens.feed_token_rotate(owner=editor, pk=view.pk)
    assert other != raw


@pytest.mark.parametrize("name", FEED_NAMES)
def test_a_reader_without_a_session_gets_the_saved_views_articles(client, desk, name):
    editor, view = desk
    _, raw = tokens.feed_token_rotate(owner=editor, pk=view.pk)
    response = client.get(feed_url(name, raw))
    assert response.status_code == 200
    body = response.content
    assert b"Lithium royalties rise in Sonora" in body
    assert b"Madrid housing vote" not in body  # the saved view's filter applies
    assert "Mexico — minerals" in body.decode()
    assert response["Referrer-Policy"] == "no-referrer"
    assert "private" in response["Cache-Control"] and "public" not in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    if name.endswith("json"):
        data = json.loads(body)
        assert data["version"] == "https://jsonfeed.org/version/1.1"
        assert [item["title"] for item in data["items"]] == ["Lithium royalties rise in Sonora"]
    else:
        etree.fromstring(body, etree.XMLParser(resolve_entities=False))  # strict parse
        parsed = feedparser.parse(body)
        assert parsed.bozo == 0
        assert [e.title for e in parsed.entries] == ["Lithium royalties rise in Sonora"]


def test_conditional_get_works_on_token_feeds(client, desk):
    editor, view = desk
    _, raw = tokens.feed_token_rotate(owner=editor, pk=view.pk)
    first = client.get(feed_url("desk-feed-rss", raw))
    again = client.get(feed_url("desk-feed-rss", raw), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again["Referrer-Policy"] == "no-referrer"


def test_rotate_makes_the_old_url_404_and_the_new_one_work(client, desk):
    editor, view = desk
    _, old = tokens.feed_token_rotate(owner=editor, pk=view.pk)
    assert client.get(feed_url("desk-feed-atom", old)).status_code == 200
    _, new = tokens.feed_token_rotate(owner=editor, pk=view.pk)
    for name in FEED_NAMES:
        assert client.get(feed_url(name, old)).status_code == 404, name
        assert client.get(feed_url(name, new)).status_code == 200, name
    assert FeedToken.objects.filter(saved_view=view, revoked_at__isnull=True).count() == 1
    assert FeedToken.objects.filter(saved_view=view, revoked_at__isnull=False).count() == 1


def test_revoke_and_delete_make_the_url_404(client, desk):
    editor, view = desk
    _, raw = tokens.feed_token_rotate(owner=editor, pk=view.pk)
    assert tokens.feed_token_revoke(owner=editor, pk=view.pk) == 1
    assert client.get(feed_url("desk-feed-rss", raw)).status_code == 404
    _, raw = tokens.feed_token_rotate(owner=editor, pk=view.pk)
    desks.saved_view_delete(owner=editor, pk=view.pk)
    assert client.get(feed_url("desk-feed-rss", raw)).status_code == 404


def test_deactivating_the_owner_closes_their_feeds(client, desk):
    editor, view = desk
    _, raw = tokens.feed_token_rotate(owner=editor, pk=view.pk)
    editor.is_active = False
    editor.save()
    assert client.get(feed_url("desk-feed-rss", raw)).status_code == 404


@pytest.mark.parametrize(
    "raw",
    ["", "x", "A" * 43, "A" * 44, "../../etc/passwd", "%00" * 15],
    ids=["empty", "short", "unknown", "long", "traversal", "nul"],
)
def test_malformed_or_unknown_tokens_are_404(client, desk, raw):
    url = f"/feeds/private/{raw}/rss/"
    assert client.get(url).status_code == 404


def test_the_pages_flow_shows_urls_once_and_revokes(desk):
    """Get feed URLs from the desk page, follow one, rotate, revoke: all over HTTP with CSRF."""
    editor, view = desk
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    page = client.get(reverse("desk-list")).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    shown = client.post(reverse("desk-token-rotate", args=[view.pk]), {"csrfmiddlewaretoken": csrf})
    assert shown.status_code == 200
    assert "no-store" in shown["Cache-Control"]
    assert shown["Referrer-Policy"] == "no-referrer"
    urls = re.findall(r'class="token-url" readonly value="([^"]+)"', shown.content.decode())
    assert len(urls) == 3
    rss = next(u for u in urls if u.endswith("/rss/"))
    path = rss.split("testserver", 1)[1]
    reader = Client()
    assert reader.get(path).status_code == 200
    # The list page afterwards does not show the token again.
    raw = path.split("/")[3]
    assert raw not in client.get(reverse("desk-list")).content.decode()
    client.post(reverse("desk-token-revoke", args=[view.pk]), {"csrfmiddlewaretoken": csrf})
    assert reader.get(path).status_code == 404


def test_public_feeds_still_require_a_session_on_a_private_desk(client, desk):
    assert client.get(reverse("feed-rss") + "?country=MX").status_code == 401


@pytest.mark.parametrize("public", [True, False])
def test_dashboard_subscribe_link_points_readers_to_token_feeds_on_a_private_desk(client, settings, public):
    settings.NEWSDESK_DASHBOARD_PUBLIC = public
    make_article(make_source(country="MX"), "Lithium royalties rise in Sonora")
    client.force_login(make_editor())
    page = client.get("/?country=MX").content.decode()
    assert 'data-feed="rss"' in page  # the view's own feeds are always offered
    hint = "for a feed reader, save the view"
    assert (hint in page) is (not public)
