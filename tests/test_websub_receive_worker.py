"""Receiving WebSub pushes with a real Celery worker: the worker's poll discovers the source's hub and
subscribes, the loopback hub verifies on the live server, and a signed push is stored and enriched."""

from __future__ import annotations

import pytest
from django.db import close_old_connections

from newsdesk.models import Article, HubState, Source, SourceHub
from tests.support.websubhub import LoopbackHub, hub_feed
from tests.support.worker import celery_worker, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]  # a real worker process


def _live(source: Source) -> SourceHub | None:
    close_old_connections()
    return SourceHub.objects.filter(source=source, state=HubState.LIVE).first()


def _enriched(title: str) -> Article | None:
    close_old_connections()
    return Article.objects.filter(title_orig=title, enriched_at__isnull=False).first()


def test_worker_subscribes_to_the_advertised_hub_and_a_push_is_stored_once_and_enriched(
    settings, live_server, feed_server
):
    hub = LoopbackHub(feed_server, lease_seconds=3600)
    topic = feed_server.url("/feed.xml")
    feed_server.static("/feed.xml", hub_feed(["Port strike ends"], hub=hub.url, self_url=topic))
    source = Source.objects.create(name="Outlet", url=topic, language="en", country="GB")
    settings.NEWSDESK_BASE_URL = live_server.url  # the callback view runs in this process
    with celery_worker(extra_env={"NEWSDESK_BASE_URL": live_server.url, "NEWSDESK_FEED_HOLD_SECONDS": "0"}):
        from newsdesk.tasks import poll_source

        poll_source.delay(source.id)
        row = wait_for(lambda: _live(source), timeout=90, message="the poll, the hub request and its verification")
        (sub,) = hub.subscribers.values()
        assert sub.callback == f"{live_server.url}/websub/callback/{row.token}/" and sub.topic == topic
        body = hub_feed(["Port strike ends", "Ferries resume crossings"], hub=hub.url, self_url=topic)
        assert hub.push(sub, body) == 204
        assert hub.push(sub, body) == 204  # the hub retried: nothing new
        wait_for(lambda: _enriched("Ferries resume crossings"), timeout=120, message="the pushed item's enrichment")
    close_old_connections()
    assert sorted(Article.objects.filter(source=source).values_list("title_orig", flat=True)) == [
        "Ferries resume crossings",
        "Port strike ends",
    ]
    assert SourceHub.objects.get(source=source).pushes == 2
