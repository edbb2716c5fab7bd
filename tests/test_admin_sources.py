"""Source admin: health columns, failing filter, actions by POST with CSRF, OPML, autodiscovery."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from lxml import html

from newsdesk.models import Article, Source, SourceKind
from tests.support.http import rss

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/newsdesk/source/"
FEED = rss([{"title": f"Headline {i}", "guid": f"g{i}", "link": f"https://example.org/{i}"} for i in range(3)])


@pytest.fixture
def admin_client():
    """A signed-in superuser whose client enforces CSRF like a browser session."""
    user = get_user_model().objects.create_superuser("boss", "boss@example.org", "a-long-password-123")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def _csrf(client: Client, url: str = CHANGELIST) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.cookies["csrftoken"].value if "csrftoken" in response.cookies else client.cookies["csrftoken"].value


def _action(client: Client, action: str, ids: list[int], *, token: str | None = None):
    data = {"action": action, "_selected_action": [str(i) for i in ids], "index": "0"}
    if token is not None:
        data["csrfmiddlewaretoken"] = token
    return client.post(CHANGELIST, data)


def test_changelist_shows_health_columns_and_lists_failing_sources(admin_client):
    Source.objects.create(
        name="Fine", url="https://fine.example.org/rss", items_per_day=12.5, last_success_at=timezone.now()
    )
    Source.objects.create(
        name="Broken",
        url="https://broken.example.org/rss",
        error_count=4,
        last_error="HTTP 404",
        last_error_at=timezone.now(),
    )
    page = admin_client.get(CHANGELIST)
    text = page.content.decode()
    for header in ("Kind", "Health", "Items per day", "Next poll", "Last error"):
        assert header in text
    assert "12.5" in text and "HTTP 404" in text and "failing (4 in a row)" in text
    failing = html.fromstring(admin_client.get(CHANGELIST + "?health=failing").content)
    names = [a.text_content() for a in failing.xpath("//th[contains(@class, 'field-name')]/a")]
    assert names == ["Broken"]


def test_actions_refuse_a_post_without_csrf(admin_client):
    source = Source.objects.create(name="S", url="https://s.example.org/rss")
    response = _action(admin_client, "disable", [source.id])
    assert response.status_code == 403
    source.refresh_from_db()
    assert source.enabled


def test_disable_and_enable_actions(admin_client):
    source = Source.objects.create(
        name="S", url="https://s.example.org/rss", error_count=3, first_error_at=timezone.now()
    )
    token = _csrf(admin_client)
    assert _action(admin_client, "disable", [source.id], token=token).status_code == 302
    source.refresh_from_db()
    assert not source.enabled and "boss" in source.disabled_reason
    assert _action(admin_client, "enable", [source.id], token=token).status_code == 302
    source.refresh_from_db()
    assert source.enabled and source.disabled_reason == "" and source.error_count == 0
    assert source.next_poll_at <= timezone.now()


def test_poll_now_queues_a_poll_message(admin_client, settings, django_capture_on_commit_callbacks):
    from config.celery import app

    source = Source.objects.create(
        name="S", url="https://s.example.org/rss", next_poll_at=timezone.now() + timedelta(days=1)
    )
    token = _csrf(admin_client)
    with app.connection_for_write() as conn:
        client = conn.default_channel.client
        queue = settings.NEWSDESK_POLL_QUEUE
        client.delete(queue)
        with django_capture_on_commit_callbacks(execute=True):
            assert _action(admin_client, "poll_now", [source.id], token=token).status_code == 302
        assert client.llen(queue) == 1
        message = json.loads(client.lpop(queue))
        client.delete(queue)
    assert message["headers"]["task"] == "newsdesk.tasks.poll_sources"
    args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    assert args == [[source.id]]
    source.refresh_from_db()
    assert source.next_poll_at <= timezone.now()


def test_preview_fetches_and_parses_without_storing(admin_client, feed_server):
    feed_server.static("/feed.xml", FEED)
    source = Source.objects.create(name="Loop", url=feed_server.url("/feed.xml"))
    response = _action(admin_client, "preview", [source.id], token=_csrf(admin_client))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Headline 0" in text and "Headline 2" in text and "3 item(s)" in text
    assert Article.objects.count() == 0
    source.refresh_from_db()
    assert source.etag == "" and source.content_hash == "" and source.last_polled_at is None


def test_preview_shows_a_fetch_error(admin_client, feed_server):
    feed_server.static("/gone.xml", b"gone", status=410)
    source = Source.objects.create(name="Gone", url=feed_server.url("/gone.xml"))
    response = _action(admin_client, "preview", [source.id], token=_csrf(admin_client))
    assert "HTTP 410" in response.content.decode()
    source.refresh_from_db()
    assert source.enabled, "a preview changes nothing"


def test_adding_a_website_url_finds_its_feed(admin_client, feed_server):
    feed_server.static(
        "/",
        b'<!DOCTYPE html><html><head><link rel="alternate" type="application/rss+xml" href="/rss.xml"></head></html>',
        content_type="text/html",
    )
    feed_server.static("/rss.xml", FEED)
    add = "/admin/newsdesk/source/add/"
    token = _csrf(admin_client, add)
    response = admin_client.post(
        add,
        {
            "csrfmiddlewaretoken": token,
            "name": "Loop site",
            "kind": SourceKind.FEED,
            "url": feed_server.url("/"),
            "enabled": "on",
        },
    )
    assert response.status_code == 302, re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode())
    source = Source.objects.get(name="Loop site")
    assert source.url == feed_server.url("/rss.xml")
    assert source.site_url == feed_server.url("/")


def test_adding_a_page_without_a_feed_is_refused_with_the_reason(admin_client, feed_server):
    feed_server.static("/", b"<!DOCTYPE html><html><head></head><body>nothing</body></html>", content_type="text/html")
    add = "/admin/newsdesk/source/add/"
    response = admin_client.post(
        add,
        {
            "csrfmiddlewaretoken": _csrf(admin_client, add),
            "name": "No feed",
            "kind": SourceKind.FEED,
            "url": feed_server.url("/"),
        },
    )
    assert response.status_code == 200
    assert "No feed found" in response.content.decode()
    assert not Source.objects.filter(name="No feed").exists()


def test_opml_import_view_and_export(admin_client):
    Source.objects.create(name="Existing", url="https://dup.example.org/rss")
    opml = (
        b'<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>'
        b'<outline type="rss" text="New" xmlUrl="https://new.example.org/rss"/>'
        b'<outline type="rss" text="Dup" xmlUrl="https://dup.example.org/rss"/>'
        b'<outline type="rss" text="Bad" xmlUrl="ftp://bad.example.org/rss"/>'
        b"</body></opml>"
    )
    url = CHANGELIST + "import-opml/"
    token = _csrf(admin_client, url)
    refused = admin_client.post(url, {"file": SimpleUploadedFile("f.opml", opml)})
    assert refused.status_code == 403 and not Source.objects.filter(name="New").exists()
    response = admin_client.post(url, {"csrfmiddlewaretoken": token, "file": SimpleUploadedFile("f.opml", opml)})
    text = response.content.decode()
    assert "created=1 duplicates=1 invalid=1" in text
    assert "https://dup.example.org/rss" in text and "ftp://bad.example.org/rss" in text
    assert Source.objects.filter(name="New", url="https://new.example.org/rss").exists()

    exported = admin_client.get(CHANGELIST + "export-opml/")
    assert exported["Content-Type"].startswith("text/x-opml")
    assert b'xmlUrl="https://new.example.org/rss"' in exported.content
    assert b'xmlUrl="https://dup.example.org/rss"' in exported.content
