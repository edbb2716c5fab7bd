"""WebSub round trip with a real Celery worker: subscribe, verify, a signed push after a new drop,
and nothing after a drop outside the subscribed view."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import close_old_connections

from newsdesk.changes import versioned_get
from newsdesk.delivery.signing import signature_valid
from newsdesk.models import Article, Delivery, DeliveryStatus, Source, SourceKind, WebSubSubscription
from newsdesk.redisconn import redis_client
from newsdesk.websub.hub import LIVE_KEY, PUBLISHED_KEY
from tests.support.http import Response
from tests.support.worker import celery_worker, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]  # a real worker process
HUB = "http://testserver/websub/hub/"
TOPIC = "http://testserver/feeds/rss/?country=MX"
CARD = "Feb 9 • 11:00 UTC {flag} {country} {outlet} (EN)\n\n{title}\n\nA body about {title}.\n\n📡 Similar Coverage\n"


def _settled(title: str) -> Article | None:
    """The dropped article once stored, enriched and placed in a story (its feed item is final)."""
    close_old_connections()
    return Article.objects.filter(title_orig=title, enriched_at__isnull=False, story__isnull=False).first()


def _published() -> bool:
    version, published = versioned_get(PUBLISHED_KEY)
    return version is not None and version == published


def test_subscribe_verify_push_on_a_new_drop_and_nothing_outside_the_view(client, settings, tmp_path, feed_server):
    settings.NEWSDESK_DROP_ROOT = tmp_path / "drops"
    settings.NEWSDESK_DROP_SETTLE_SECONDS = 0
    box = tmp_path / "drops" / "desk"
    box.mkdir(parents=True)
    Source.objects.create(name="Desk inbox", kind=SourceKind.DROP, inbox="desk")
    feed_server.route(
        "/cb",
        lambda req: Response(200, req.query["hub.challenge"][0].encode()) if req.method == "GET" else Response(204),
    )
    env = {"ALLOWED_HOSTS": "testserver", "NEWSDESK_DROP_SETTLE_SECONDS": "0", "NEWSDESK_FEED_HOLD_SECONDS": "0"}
    with celery_worker(extra_env=env):
        from newsdesk.tasks import scan_drop_sources, websub_publish

        cache.delete("websub-requests:127.0.0.1")  # the hub's per-address limit, in the shared Redis
        answer = client.post(
            HUB,
            {"hub.mode": "subscribe", "hub.topic": TOPIC, "hub.callback": feed_server.url("/cb"), "hub.secret": "k"},
        )
        assert answer.status_code == 202

        def verified():
            close_old_connections()
            return WebSubSubscription.objects.filter(topic=TOPIC, verified_at__isnull=False).first()

        sub = wait_for(verified, timeout=60, message="the worker to verify the subscriber's intent")
        (check,) = feed_server.requests
        assert check.method == "GET" and check.query["hub.topic"] == [TOPIC]

        (box / "mx.txt").write_text(
            CARD.format(flag="🇲🇽", country="Mexico", outlet="El Financiero", title="Lithium royalties rise")
        )
        scan_drop_sources.delay()
        wait_for(lambda: _settled("Lithium royalties rise"), timeout=90, message="the Mexican drop to settle")
        websub_publish.delay()
        # Pushed as the view's feed changed: the commit's own trigger may push the item before its story
        # is assigned, then its coverage figure; the last push carries the settled item.
        pushes = wait_for(
            lambda: _all_pushed(sub, feed_server), timeout=60, message="the pushes to reach the subscriber"
        )
        push = pushes[-1]
        assert push.method == "POST"
        assert signature_valid(secret="k", body=push.body, header=push.headers["x-hub-signature"])
        assert b"Lithium royalties rise" in push.body
        assert push.headers["link"] == f'<{HUB}>; rel="hub", <{TOPIC}>; rel="self"'

        (box / "fr.txt").write_text(
            CARD.format(flag="🇫🇷", country="France", outlet="Le Monde", title="Paris transit strike")
        )
        scan_drop_sources.delay()
        wait_for(lambda: _settled("Paris transit strike"), timeout=90, message="the French drop to settle")
        websub_publish.delay()
        wait_for(_published, timeout=60, message="the publish sweep to check every subscription")
        after = wait_for(lambda: _all_pushed(sub, feed_server), timeout=60, message="the deliveries to settle")
    redis_client().delete(LIVE_KEY)  # the sweep's "anyone subscribed" flag, in the shared Redis
    close_old_connections()
    assert len(after) == len(pushes)  # nothing for the French drop, outside the view
    assert Delivery.objects.filter(destination=sub.destination).count() == len(pushes)


def _all_pushed(sub: WebSubSubscription, server) -> list | None:
    """The pushes the subscriber received, once the feed's last change was swept and every push delivered."""
    close_old_connections()
    if (
        not _published()
        or Delivery.objects.filter(destination=sub.destination).exclude(status=DeliveryStatus.DELIVERED).exists()
    ):
        return None
    pushes = [r for r in list(server.requests) if r.method == "POST"]
    return pushes if pushes and len(pushes) == Delivery.objects.filter(destination=sub.destination).count() else None
