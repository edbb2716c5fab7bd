"""The WebSub hub: discovery, subscription requests, intent verification, and pushes only on a change."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from newsdesk.accounts import desks, tokens
from newsdesk.changes import articles_changed
from newsdesk.delivery.signing import signature_valid
from newsdesk.models import Delivery, WebSubSubscription
from newsdesk.redisconn import redis_client
from newsdesk.websub.hub import (
    LIVE_KEY,
    PUBLISH_DEBOUNCE_SECONDS,
    PUBLISH_LATER_KEY,
    PUBLISH_SOON_KEY,
    PUBLISH_TASK,
    HubRefused,
    websub_publish,
    websub_request,
    websub_verify,
)
from tests.support.accounts import make_editor
from tests.support.articles import make_article, make_source
from tests.support.http import Response

pytestmark = pytest.mark.django_db
HUB = "http://testserver/websub/hub/"
ATOM = "http://www.w3.org/2005/Atom"


@pytest.fixture(autouse=True)
def _fresh_hub_limits():
    """The hub's per-address counters live in the shared Redis: each test starts from zero."""
    keys = [f"websub-requests:{ip}" for ip in ("127.0.0.1", "192.0.2.7", "192.0.2.8")]
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)
    # The "anyone subscribed" flag a sweep leaves in the shared Redis would make other tests' commits queue sweeps.
    redis_client().delete(LIVE_KEY, PUBLISH_SOON_KEY, PUBLISH_LATER_KEY)


def _xml(content: bytes):
    return etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))


def echo_challenge(req) -> Response:
    return Response(200, req.query["hub.challenge"][0].encode())


@pytest.fixture
def subscriber(feed_server):
    """A loopback subscriber that confirms intent and records pushes."""
    feed_server.route("/cb", lambda req: echo_challenge(req) if req.method == "GET" else Response(204))
    return feed_server


def pushes(server) -> list:
    return [r for r in server.requests if r.method == "POST"]


def subscribe(*, topic: str, callback: str, secret: str = "s3cret") -> WebSubSubscription:  # noqa: S107
    sub = websub_request(
        mode="subscribe", topic=topic, callback=callback, lease_seconds=3600, secret=secret, host="testserver"
    )
    assert websub_verify(subscription_id=sub.id) == "verified"
    return WebSubSubscription.objects.get(id=sub.id)


def test_every_public_feed_is_discoverable(client):
    make_article(source=make_source())
    rss = client.get("/feeds/rss/?country=MX")
    channel = _xml(rss.content).find("channel")
    links = {link.get("rel"): link.get("href") for link in channel.findall(f"{{{ATOM}}}link")}
    assert links == {"hub": HUB, "self": "http://testserver/feeds/rss/?country=MX"}
    atom = _xml(client.get("/feeds/atom/?country=MX").content)
    links = {link.get("rel"): link.get("href") for link in atom.findall(f"{{{ATOM}}}link")}
    assert links["hub"] == HUB and links["self"] == "http://testserver/feeds/atom/?country=MX"
    assert json.loads(client.get("/feeds/json/").content)["hubs"] == [{"type": "WebSub", "url": HUB}]
    expected = f'<{HUB}>; rel="hub", <http://testserver/feeds/rss/?country=MX>; rel="self"'
    assert rss["Link"] == expected
    # A 304, whether answered by the middleware or the view, carries the same header.
    repeat = client.get("/feeds/rss/?country=MX", headers={"If-None-Match": rss["ETag"]})
    assert repeat.status_code == 304 and repeat["Link"] == expected


def test_a_private_desk_advertises_a_hub_for_token_feeds_only(client, settings):
    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    make_article(source=make_source())
    view = desks.saved_view_create(owner=make_editor(), name="All", query="")
    _, token = tokens.feed_token_rotate(owner=view.owner, pk=view.pk)
    url = reverse("desk-feed-rss", kwargs={"token": token})
    response = client.get(url)
    assert response["Link"].startswith(f'<{HUB}>; rel="hub"')
    client.force_login(view.owner)
    dashboard = client.get("/feeds/rss/")
    assert "Link" not in dashboard
    assert not [e for e in _xml(dashboard.content).iter(f"{{{ATOM}}}link") if e.get("rel") == "hub"]


@pytest.mark.parametrize(
    ("topic", "callback", "status"),
    [
        ("http://elsewhere.example/feeds/rss/", "/cb", 400),  # not this desk's feed
        ("http://testserver/stats/", "/cb", 400),  # not a feed
        ("http://testserver/feeds/rss/", "http://10.1.2.3/cb", 400),  # the SSRF guard
        ("http://testserver/feeds/rss/", "file:///etc/passwd", 400),
    ],
)
def test_the_hub_refuses_what_it_must_not_push(client, subscriber, topic, callback, status):
    callback = subscriber.url(callback) if callback.startswith("/") else callback
    response = client.post(HUB, {"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": callback})
    assert response.status_code == status
    assert not WebSubSubscription.objects.exists()
    assert not subscriber.requests  # nothing was even sent to verify


def test_a_private_desk_refuses_dashboard_topics(client, settings, subscriber):
    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    data = {"hub.mode": "subscribe", "hub.topic": "http://testserver/feeds/rss/", "hub.callback": subscriber.url("/cb")}
    assert client.post(HUB, data).status_code == 403


def test_subscription_needs_the_callback_to_echo_the_challenge(feed_server):
    feed_server.route("/lazy", lambda req: Response(200, b"ok"))
    sub = websub_request(
        mode="subscribe", topic="http://testserver/feeds/rss/", callback=feed_server.url("/lazy"),
        lease_seconds=None, secret="", host="testserver",
    )  # fmt: skip
    assert websub_verify(subscription_id=sub.id) == "refused"
    assert not WebSubSubscription.objects.exists()
    (check,) = feed_server.requests
    assert check.query["hub.mode"] == ["subscribe"] and check.query["hub.topic"] == ["http://testserver/feeds/rss/"]


def test_pushes_only_when_the_views_feed_changed(subscriber, django_assert_num_queries):
    mx, fr = make_source(country="MX"), make_source(country="FR", language="fr")
    make_article(source=mx, title_en="Old Mexican news", minutes_ago=30)
    sub = subscribe(topic="http://testserver/feeds/rss/?country=MX", callback=subscriber.url("/cb"))
    assert sub.expires_at > timezone.now() and sub.lease_seconds == 3600
    assert websub_publish(now=timezone.now()) == 0  # subscribed at the current feed: nothing new
    with django_assert_num_queries(0):  # no feed changed since: not one query
        assert websub_publish(now=timezone.now()) == 0

    make_article(source=fr, title_en="French news")  # outside the view
    assert websub_publish(now=timezone.now()) == 0
    assert not Delivery.objects.exists()

    make_article(source=mx, title_en="Fresh Mexican news")
    assert websub_publish(now=timezone.now()) == 1
    delivery = Delivery.objects.get()
    assert "Fresh Mexican news" in delivery.body and "French news" not in delivery.body
    assert delivery.destination.signature_header == "X-Hub-Signature"
    assert delivery.headers["Link"] == f'<{HUB}>; rel="hub", <{sub.topic}>; rel="self"'
    articles_changed()  # a bump with nothing new in the view: one 304 check, no second push
    assert websub_publish(now=timezone.now()) == 0


def test_a_push_is_signed_with_the_subscribers_secret(subscriber, settings):
    from newsdesk.delivery.service import delivery_send

    subscribe(topic="http://testserver/feeds/atom/", callback=subscriber.url("/cb"), secret="hush")
    make_article(source=make_source(), title_en="Signed news")
    assert websub_publish(now=timezone.now()) == 1
    assert delivery_send(delivery_id=Delivery.objects.get().id) == "delivered"
    (push,) = pushes(subscriber)
    assert push.headers["content-type"].startswith("application/atom+xml")
    assert signature_valid(secret="hush", body=push.body, header=push.headers["x-hub-signature"])
    assert b"Signed news" in push.body
    assert 'rel="hub"' in push.headers["link"]


def test_a_revoked_token_feed_is_never_pushed(subscriber):
    view = desks.saved_view_create(owner=make_editor(), name="All", query="")
    _, token = tokens.feed_token_rotate(owner=view.owner, pk=view.pk)
    topic = "http://testserver" + reverse("desk-feed-atom", kwargs={"token": token})
    sub = subscribe(topic=topic, callback=subscriber.url("/cb"))
    tokens.feed_token_rotate(owner=view.owner, pk=view.pk)  # the old URL is dead
    make_article(source=make_source(), title_en="Private news")
    assert websub_publish(now=timezone.now()) == 0
    assert not WebSubSubscription.objects.filter(id=sub.id).exists()
    assert not Delivery.objects.exists()
    # ...and nobody can subscribe to a token they do not hold.
    with pytest.raises(HubRefused):
        websub_request(
            mode="subscribe", topic=topic, callback=subscriber.url("/cb"), lease_seconds=None, secret="",
            host="testserver",
        )  # fmt: skip


def test_unsubscribe_is_verified_too(subscriber):
    sub = subscribe(topic="http://testserver/feeds/rss/", callback=subscriber.url("/cb"))
    again = websub_request(
        mode="unsubscribe", topic=sub.topic, callback=sub.callback, lease_seconds=None, secret="", host="testserver"
    )
    assert WebSubSubscription.objects.filter(id=sub.id).exists()  # until the callback confirms
    assert websub_verify(subscription_id=again.id) == "unsubscribed"
    assert not WebSubSubscription.objects.exists()
    assert urlsplit(subscriber.requests[-1].path).path == "/cb"
    assert subscriber.requests[-1].query["hub.mode"] == ["unsubscribe"]


def test_an_expired_lease_ends_the_subscription(subscriber):
    sub = subscribe(topic="http://testserver/feeds/rss/", callback=subscriber.url("/cb"))
    make_article(source=make_source())
    assert websub_publish(now=sub.expires_at + timezone.timedelta(seconds=1)) == 0
    assert not WebSubSubscription.objects.exists()


def test_a_callback_refused_at_connect_time_is_not_confirmed(subscriber, settings):
    """The guard runs again when the hub calls back (DNS may have changed since): a refusal settles it."""
    sub = websub_request(
        mode="subscribe", topic="http://testserver/feeds/rss/", callback=subscriber.url("/cb"), lease_seconds=None,
        secret="", host="testserver",
    )  # fmt: skip
    settings.NEWSDESK_FETCH_ALLOWED_NETWORKS = []  # loopback is refused from now on
    assert websub_verify(subscription_id=sub.id) == "refused"
    assert not WebSubSubscription.objects.exists()
    assert not subscriber.requests


def test_a_topic_whose_host_is_no_longer_allowed_ends_quietly(subscriber, settings):
    sub = subscribe(topic="http://testserver/feeds/rss/", callback=subscriber.url("/cb"))
    settings.ALLOWED_HOSTS = ["desk.example.org"]
    make_article(source=make_source())
    assert websub_publish(now=timezone.now()) == 0
    assert not WebSubSubscription.objects.filter(id=sub.id).exists()


def test_the_hub_limits_requests_per_client(client, settings, subscriber):
    settings.NEWSDESK_WEBSUB_MAX_REQUESTS_PER_IP = 2
    data = {"hub.mode": "subscribe", "hub.topic": "http://testserver/feeds/rss/", "hub.callback": subscriber.url("/cb")}
    answers = [client.post(HUB, data, REMOTE_ADDR="192.0.2.7").status_code for _ in range(3)]
    assert answers == [202, 202, 429]
    assert client.post(HUB, data, REMOTE_ADDR="192.0.2.8").status_code == 202  # another client


def test_subscribers_of_one_view_share_its_check_and_each_gets_the_push(feed_server, django_assert_num_queries):
    feed_server.route("/a", echo_challenge)
    feed_server.route("/b", echo_challenge)
    topic = "http://testserver/feeds/rss/?country=MX"
    first = subscribe(topic=topic, callback=feed_server.url("/a"))
    second = subscribe(topic=topic, callback=feed_server.url("/b"))
    websub_publish(now=timezone.now())
    make_article(source=make_source(country="FR", language="fr"))  # outside the view: the memo is stale
    # Expire, the live subscriptions, the newest articles (which views to check first), one check for both.
    with django_assert_num_queries(4):
        assert websub_publish(now=timezone.now()) == 0
    make_article(source=make_source(country="MX"), title_en="Shared news")
    assert websub_publish(now=timezone.now()) == 2
    assert set(Delivery.objects.values_list("destination_id", flat=True)) == {
        first.destination_id,
        second.destination_id,
    }


@pytest.mark.django_db(transaction=True)  # real commits: the trigger runs after them
def test_committed_changes_queue_a_sweep_at_once_and_one_more_per_burst(subscriber, settings, monkeypatch):
    """A push need not wait for beat's tick: a commit queues a sweep at once; the changes committed in the
    next half second share one more sweep at its end; none of it without a live subscriber."""
    from celery import current_app

    sent = []
    monkeypatch.setattr(current_app, "send_task", lambda name, *a, **kw: sent.append((name, kw.get("countdown"))))
    monkeypatch.setattr("newsdesk.websub.hub.PUBLISH_DEBOUNCE_SECONDS", 30.0)  # a burst however slow the machine
    redis_client().delete(LIVE_KEY, PUBLISH_SOON_KEY, PUBLISH_LATER_KEY)
    mx = make_source(country="MX")

    def committed(title: str) -> list:
        make_article(source=mx, title_en=title)
        return [countdown for name, countdown in sent if name == PUBLISH_TASK]

    assert committed("Before any subscriber") == []  # no live subscriber: nothing queued
    subscribe(topic="http://testserver/feeds/rss/?country=MX", callback=subscriber.url("/cb"))
    assert PUBLISH_DEBOUNCE_SECONDS == 0.5  # shipped
    assert committed("One") == [None]  # at once
    now, later = committed("Two, in the same burst")
    assert now is None and 25 < later <= 30  # at the end of the window
    assert len(committed("Three, in the same burst")) == 2  # shares that sweep
    redis_client().delete(PUBLISH_SOON_KEY, PUBLISH_LATER_KEY)  # the window has passed
    assert committed("Four")[2:] == [None]
    redis_client().delete(PUBLISH_SOON_KEY, PUBLISH_LATER_KEY)
    settings.NEWSDESK_WEBSUB_PUBLISH_ON_COMMIT = False
    assert len(committed("Five, trigger off: beat's tick only")) == 3


def test_the_sweep_checks_first_the_views_a_new_article_may_have_entered():
    from newsdesk.websub.hub import views_likely_changed_first

    views = [(f"http://testserver/feeds/rss/?{q}", '"e"') for q in ("country=FR", "lang=de", "country=MX&lang=es")]
    views.append(("http://testserver/feeds/rss/?category=economy&country=MX", '"e"'))
    assert views_likely_changed_first(views, now=timezone.now()) == views  # nothing new: as they came
    make_article(source=make_source(country="MX", language="es"), title_en="Peso falls", category="Economy")
    ordered = views_likely_changed_first(views, now=timezone.now())
    assert ordered == [views[2], views[3], views[0], views[1]]  # the Mexican Spanish economy views first
