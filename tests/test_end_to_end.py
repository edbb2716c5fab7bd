"""End to end: loopback feed -> real Celery worker on real Redis -> dashboard and RSS."""

from __future__ import annotations

import pytest
from django.db import close_old_connections
from lxml import etree, html

from newsdesk.models import Article, FetchAttempt, Source, TranslationStatus
from tests.support.http import rss
from tests.support.worker import celery_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]  # a real Celery worker process

SPANISH_TITLE = "Los minerales críticos no deben negociarse por separado"
SPANISH_SUMMARY = "El gobierno de Estados Unidos destaca la importancia de los minerales críticos."


def _count(**filters) -> int:
    close_old_connections()
    return Article.objects.filter(**filters).count()


def test_feed_item_reaches_dashboard_and_rss_in_english(feed_server, translator, client):
    """A Spanish item served on loopback is polled by a real worker, translated
    through the Google protocol on loopback, and shown in English on both the
    dashboard and the RSS feed."""
    feed_server.static(
        "/financiero.xml",
        rss(
            [
                {
                    "title": SPANISH_TITLE,
                    "link": "https://www.elfinanciero.com.mx/a/1",
                    "guid": "ef-1",
                    "description": SPANISH_SUMMARY,
                    "pubDate": "Mon, 09 Feb 2026 11:00:00 GMT",
                }
            ],
            language="es",
        ),
    )
    source = Source.objects.create(
        name="El Financiero", url=feed_server.url("/financiero.xml"), country="MX", language="es"
    )
    with celery_worker():
        from newsdesk.tasks import dispatch_due_sources

        dispatch_due_sources.delay()
        wait_for(
            lambda: _count(source=source, translation_status=TranslationStatus.DONE) == 1,
            message="the article to be stored and translated",
        )
        wait_for(lambda: _count(source=source, story__isnull=False) == 1, message="the article's story")

    article = Article.objects.get(source=source)
    assert article.title_en == "Critical minerals should not be negotiated separately"
    assert article.language == "es"
    assert article.translation_provider == "google"

    page = " ".join(html.fromstring(client.get("/").content).text_content().split())
    assert "Critical minerals should not be negotiated separately" in page
    assert "🇲🇽 Mexico" in page
    assert "El Financiero" in page
    assert "(ES)" in page
    assert "Feb 9 • 11:00 UTC" in page
    assert "📡 Similar Coverage" in page

    feed = etree.fromstring(client.get("/feeds/rss/?country=MX").content)
    titles = feed.xpath("//item/title/text()")
    assert titles == ["Critical minerals should not be negotiated separately"]
    assert feed.xpath("//item/description/text()") == [
        "The United States government highlights the importance of critical minerals."
    ]


def test_feed_server_down_records_error_attempt(client):
    """A feed whose server refuses connections yields an error FetchAttempt; the worker survives."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    source = Source.objects.create(name="Down", url=f"http://127.0.0.1:{dead_port}/feed.xml")
    with celery_worker() as worker:
        from newsdesk.tasks import poll_source

        poll_source.delay(source.id)
        wait_for(
            lambda: (close_old_connections() or FetchAttempt.objects.filter(source=source).exists()),
            message="the failed fetch attempt",
        )
        assert worker.poll() is None, "worker must survive a dead feed server"
    attempts = list(FetchAttempt.objects.filter(source=source))
    assert attempts and all(a.outcome == FetchAttempt.Outcome.ERROR for a in attempts)
    assert all("fetch failed" in a.error for a in attempts)
    source.refresh_from_db()
    assert source.error_count == len(attempts) and source.last_error
    assert source.next_poll_at > attempts[0].started_at, "a failing source backs off"
    assert client.get("/").status_code == 200
