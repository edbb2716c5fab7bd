"""Newsdesk as a WebSub subscriber (newsdesk/ingest/push.py): a source's feed advertises a hub, we subscribe,
the loopback hub verifies our intent over HTTP and pushes signed content, stored by the polling path."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from newsdesk.ingest.parse import parse_feed
from newsdesk.ingest.poll import source_poll
from newsdesk.ingest.push import hub_subscribe, hub_subscriptions_due, link_header_rels
from newsdesk.models import Article, FetchAttempt, HubState, Source, SourceHub
from newsdesk.signatures import signature_valid
from tests.support.websubhub import LoopbackHub
from tests.support.websubhub import hub_feed as feed

pytestmark = pytest.mark.django_db(transaction=True)  # the hub calls the live server back


@pytest.fixture
def pushed(settings, live_server, feed_server):
    """A source whose feed names the loopback hub, polled once with NEWSDESK_BASE_URL set: the hub is discovered."""
    settings.NEWSDESK_BASE_URL = live_server.url
    settings.NEWSDESK_POLL_MIN_SECONDS, settings.NEWSDESK_POLL_MAX_SECONDS = 300, 1000
    hub = LoopbackHub(feed_server, lease_seconds=7200)
    topic = feed_server.url("/feed.xml")
    feed_server.static("/feed.xml", feed(["Polled one"], hub=hub.url, self_url=topic))
    source = Source.objects.create(name="Outlet", url=topic, language="en")
    source_poll(source_id=source.id, force=True)
    return hub, source, topic


def _subscribed(hub: LoopbackHub, source: Source) -> SourceHub:
    row = SourceHub.objects.get(source=source)
    assert hub_subscribe(hub_id=row.id, now=timezone.now()) == "requested"
    assert hub.done.wait(20), "the hub never verified the callback"
    row.refresh_from_db()
    return row


def test_discovered_hub_is_subscribed_and_verified_over_http(pushed):
    hub, source, topic = pushed
    row = SourceHub.objects.get(source=source)
    assert (row.hub_url, row.topic_url, row.state) == (hub.url, topic, HubState.PENDING)
    before = timezone.now()
    row = _subscribed(hub, source)
    (sub,) = hub.subscribers.values()
    assert sub.topic == topic and sub.callback.endswith(f"/websub/callback/{row.token}/")
    assert sub.secret == row.secret and len(sub.secret) >= 32
    assert hub.verifications == [(sub.callback, 200, True)]  # our callback echoed the challenge
    assert row.state == HubState.LIVE and row.lease_seconds == 7200
    assert before + timedelta(seconds=7190) < row.expires_at < timezone.now() + timedelta(seconds=7201)
    assert row.next_request_at < row.expires_at  # renewed before the lease ends
    source.refresh_from_db()
    assert source.push_until == row.expires_at
    # While the hub pushes, polling is relaxed to the lease's end (the usual interval here is at most 1,000 s).
    source_poll(source_id=source.id, force=True)
    source.refresh_from_db()
    assert (source.next_poll_at - timezone.now()).total_seconds() > 7000


def test_signed_push_stores_items_once_and_polling_adds_no_duplicate(pushed, feed_server):
    hub, source, topic = pushed
    _subscribed(hub, source)
    (sub,) = hub.subscribers.values()
    body = feed(["Polled one", "Pushed two", "Pushed three"], hub=hub.url, self_url=topic)
    assert hub.push(sub, body) == 204
    assert hub.push(sub, body, method="sha1") == 204  # a repeat, signed as older hubs do
    titles = sorted(Article.objects.filter(source=source).values_list("title_orig", flat=True))
    assert titles == ["Polled one", "Pushed three", "Pushed two"]
    feed_server.static("/feed.xml", body)
    source_poll(source_id=source.id, force=True)  # the fallback poll sees the same items
    assert Article.objects.filter(source=source).count() == 3
    row = SourceHub.objects.get(source=source)
    assert row.pushes == 2 and row.last_push_at is not None
    Source.objects.filter(id=source.id).update(enabled=False)  # an editor switched the outlet off
    assert hub.push(sub, feed(["After disabling"], hub=hub.url, self_url=topic)) == 410
    assert not Article.objects.filter(title_orig="After disabling").exists()
    assert FetchAttempt.objects.filter(source=source, detail="WebSub push", items_new=2).count() == 1


def test_bad_or_missing_signature_and_hostile_xml_store_nothing(pushed, settings):
    hub, source, topic = pushed
    _subscribed(hub, source)
    (sub,) = hub.subscribers.values()
    stored = Article.objects.count()
    body = feed(["Forged"], hub=hub.url, self_url=topic)
    assert hub.push(sub, body, signature="sha256=" + "0" * 64) == 403
    assert hub.push(sub, body, signature="") == 403
    assert hub.push(sub, body, signature="md5=" + "0" * 32) == 403  # not a method WebSub allows
    hostile = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><rss version="2.0"><channel><item><title>&a;</title></item></channel></rss>'
    assert hub.push(sub, hostile) == 400  # signed, but refused as polling refuses it
    settings.NEWSDESK_FETCH_MAX_BYTES = 1000
    assert hub.push(sub, feed(["Big " + "x" * 2000])) == 413
    assert Article.objects.count() == stored
    row = SourceHub.objects.get(source=source)
    assert row.pushes_refused == 3 and row.pushes == 0


def test_denial_and_expiry_fall_back_to_polling(pushed):
    hub, source, _topic = pushed
    _subscribed(hub, source)
    (sub,) = hub.subscribers.values()
    assert hub.deny(sub, "too many subscriptions") == 200
    row = SourceHub.objects.get(source=source)
    source.refresh_from_db()
    assert row.state == HubState.DENIED and "too many subscriptions" in row.last_error
    assert source.push_until is None and source.next_poll_at <= timezone.now()
    assert hub.push(sub, feed(["After denial"])) == 410  # nothing taken from a denied subscription
    assert not Article.objects.filter(title_orig="After denial").exists()

    hub.done.clear()
    row = _subscribed(hub, source)  # asked again (as the retry would), live again
    assert row.state == HubState.LIVE
    SourceHub.objects.filter(id=row.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert row.id in hub_subscriptions_due(now=timezone.now())  # expired: due for a new request
    row.refresh_from_db()
    source.refresh_from_db()
    assert row.state == HubState.EXPIRED and source.push_until is None
    assert source.next_poll_at <= timezone.now()
    source_poll(source_id=source.id, force=True)
    source.refresh_from_db()
    assert (source.next_poll_at - timezone.now()).total_seconds() < 1200  # the usual schedule again


def test_verification_confirms_only_our_own_request(pushed, client):
    hub, source, topic = pushed
    row = SourceHub.objects.get(source=source)
    url = f"/websub/callback/{row.token}/"
    ask = {"hub.mode": "subscribe", "hub.topic": topic, "hub.challenge": "c1", "hub.lease_seconds": "600"}
    assert client.get(url, ask).status_code == 404  # not requested yet
    hub_subscribe(hub_id=row.id, now=timezone.now())
    hub.done.wait(20)
    assert client.get(url, {**ask, "hub.topic": topic + "?other"}).status_code == 404
    assert client.get("/websub/callback/not-ours/", ask).status_code == 404
    assert client.get(url, {**ask, "hub.mode": "unsubscribe"}).status_code == 404
    answer = client.get(url, ask)
    assert answer.status_code == 200 and answer.content == b"c1"


def test_off_without_a_public_base_url(settings, feed_server, client):
    settings.NEWSDESK_BASE_URL = ""
    hub = LoopbackHub(feed_server)
    topic = feed_server.url("/feed.xml")
    feed_server.static("/feed.xml", feed(["One"], hub=hub.url, self_url=topic))
    source = Source.objects.create(name="Outlet", url=topic)
    source_poll(source_id=source.id, force=True)
    assert Article.objects.filter(source=source).count() == 1  # polled as always
    assert not SourceHub.objects.exists() and hub.subscribers == {}
    assert client.post("/websub/callback/x/", b"<rss/>", content_type="application/rss+xml").status_code == 410


def test_hub_url_goes_through_the_ssrf_guard(pushed, settings):
    hub, source, _topic = pushed
    settings.NEWSDESK_FETCH_ALLOWED_NETWORKS = []  # loopback is refused, as in production
    row = SourceHub.objects.get(source=source)
    assert hub_subscribe(hub_id=row.id, now=timezone.now()) == "failed"
    row.refresh_from_db()
    assert row.state == HubState.FAILED and "ssrf" in row.last_error
    assert hub.subscribers == {}


def test_link_header_names_the_hub_first(settings, feed_server):
    settings.NEWSDESK_BASE_URL = "https://desk.example.org"
    topic = feed_server.url("/feed.xml")
    header = f'<{feed_server.url("/h")}>; rel="hub", <{topic}>; rel="self"'
    feed_server.static("/feed.xml", feed(["One"], hub="https://other.example/hub"), headers={"Link": header})
    source = Source.objects.create(name="Outlet", url=topic)
    source_poll(source_id=source.id, force=True)
    row = SourceHub.objects.get(source=source)
    assert (row.hub_url, row.topic_url) == (feed_server.url("/h"), topic)


def test_discovery_reads_atom_and_json_feed_and_link_headers():
    atom = b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><link rel="hub" href="https://hub.example/"/><link rel="self" href="https://a.example/atom"/><entry><title>x</title><id>1</id></entry></feed>'
    parsed = parse_feed(body=atom)
    assert (parsed.hub_url, parsed.self_url) == ("https://hub.example/", "https://a.example/atom")
    json_feed = b'{"version": "https://jsonfeed.org/version/1.1", "title": "t", "feed_url": "https://a.example/f.json", "hubs": [{"type": "rssCloud", "url": "https://cloud.example/"}, {"type": "WebSub", "url": "https://hub.example/"}], "items": [{"id": "1", "title": "x"}]}'
    parsed = parse_feed(body=json_feed)
    assert (parsed.hub_url, parsed.self_url) == ("https://hub.example/", "https://a.example/f.json")
    rels = link_header_rels('<https://h.example/>; rel="hub", </feed>; rel=self', base_url="https://a.example/x")
    assert rels == {"hub": "https://h.example/", "self": "https://a.example/feed"}


def test_signature_methods_websub_allows():
    body = b"<rss/>"
    assert signature_valid(secret="s", body=body, header="sha256=" + _hex("sha256", "s", body))
    assert signature_valid(secret="s", body=body, header="sha512=" + _hex("sha512", "s", body))
    assert not signature_valid(secret="s", body=body + b" ", header="sha256=" + _hex("sha256", "s", body))
    assert not signature_valid(secret="s", body=body, header="sha256=" + _hex("sha256", "t", body))
    assert not signature_valid(secret="", body=body, header="sha256=" + _hex("sha256", "", body))


def _hex(method: str, secret: str, body: bytes) -> str:
    import hashlib
    import hmac

    return hmac.new(secret.encode(), body, getattr(hashlib, method)).hexdigest()


def test_a_live_lease_is_renewed_before_it_ends(pushed):
    hub, source, _topic = pushed
    row = _subscribed(hub, source)
    first_expiry = row.expires_at
    assert row.id not in hub_subscriptions_due(now=timezone.now())  # not due yet
    later = row.next_request_at + timedelta(seconds=1)  # the renewal time, before the lease ends
    assert later < first_expiry
    assert hub_subscriptions_due(now=later) == [row.id]
    assert hub_subscriptions_due(now=later) == []  # claimed: the next sweep does not send it again
    hub.done.clear()
    assert hub_subscribe(hub_id=row.id, now=timezone.now()) == "requested"
    assert hub.done.wait(20)
    row.refresh_from_db()
    assert row.state == HubState.LIVE and row.expires_at > first_expiry  # pushes never stopped meanwhile
    assert len(hub.verifications) == 2


def test_admin_shows_each_hub_subscription_and_never_its_secret(admin_client):
    source = Source.objects.create(name="El Diario", url="https://diario.example/feed")
    SourceHub.objects.create(
        source=source, hub_url="https://hub.example/", topic_url=source.url, token="t0k3n", secret="s3cr3t-value",
        state=HubState.DENIED, last_error="denied by the hub: quota",
    )  # fmt: skip
    page = admin_client.get("/admin/newsdesk/sourcehub/").content.decode()
    assert "El Diario" in page and "Denied" in page and "denied by the hub: quota" in page
    assert "s3cr3t-value" not in page
    row = SourceHub.objects.get(source=source)
    detail = admin_client.get(f"/admin/newsdesk/sourcehub/{row.id}/change/").content.decode()
    assert "https://hub.example/" in detail and "s3cr3t-value" not in detail
