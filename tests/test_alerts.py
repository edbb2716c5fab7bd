"""Alerts on saved views: what fires, how often, and what a split or merge does (newsdesk/alerts/)."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.utils import timezone

from newsdesk.accounts.desks import saved_view_create
from newsdesk.alerts.services import AlertError, alert_create
from newsdesk.alerts.sweep import alerts_sweep
from newsdesk.delivery.service import delivery_send
from newsdesk.delivery.signing import signature_valid
from newsdesk.models import AlertEvent, Delivery, DeliveryStatus, Story
from tests.support.accounts import make_editor
from tests.support.alerts import article_in, story_add, story_merge, story_of
from tests.support.http import Response

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor():
    return make_editor()


@pytest.fixture
def receiver(feed_server):
    feed_server.route("/hook", lambda req: Response(200, b"ok"))
    return feed_server


def _sweep() -> int:
    return alerts_sweep(now=timezone.now()).fired


def _send_all() -> list[str]:
    return [delivery_send(delivery_id=d) for d in Delivery.objects.order_by("id").values_list("id", flat=True)]


def _spreading(editor, receiver, *, levels="2, 3", query=""):
    view = saved_view_create(owner=editor, name="Minerals", query=query)
    alert, secret = alert_create(
        owner=editor, view_pk=view.pk, name="Spreading", metric="countries", thresholds=levels,
        webhook_url=receiver.url("/hook"),
    )  # fmt: skip
    return alert, secret


def _one_delivery(editor, receiver):
    """A level-2 spreading alert, fired once by a story in two countries: the alert and its one delivery."""
    alert, _ = _spreading(editor, receiver, levels="2")
    story_of(article_in("MX", "Lithium deal"), article_in("FR", "Lithium deal, Paris"))
    _sweep()
    return alert, Delivery.objects.get()


def test_fires_once_per_threshold(editor, receiver):
    """Each level fires once for a story, in order, however often the sweep runs."""
    alert, _ = _spreading(editor, receiver)
    story = story_of(article_in("MX", "Lithium deal signed"))
    assert _sweep() == 0  # one country: below every level

    story_add(story, article_in("FR", "Lithium deal signed, Paris reacts"))
    assert _sweep() == 1
    assert _sweep() == 0 and _sweep() == 0
    story_add(story, article_in("FR", "Second French outlet on the lithium deal"))
    assert _sweep() == 0  # still two countries

    story_add(story, article_in("DE", "Lithium deal: Berlin's view"))
    assert _sweep() == 1
    assert _sweep() == 0
    events = list(AlertEvent.objects.filter(alert=alert).order_by("threshold"))
    assert [(e.threshold, e.value, e.story_ref) for e in events] == [(2, 2, story.id), (3, 3, story.id)]
    assert Delivery.objects.count() == 2
    assert _send_all() == ["delivered", "delivered"]
    assert receiver.hits("/hook") == 2


def test_stories_standing_at_a_level_when_the_alert_is_made_do_not_fire(editor, receiver):
    story = story_of(article_in("MX", "Old news"), article_in("FR", "Old news in French"))
    alert, _ = _spreading(editor, receiver)
    assert _sweep() == 0
    story_add(story, article_in("DE", "Old news in German"))
    assert _sweep() == 1
    assert list(AlertEvent.objects.values_list("threshold", flat=True)) == [3]
    assert alert.events.count() == 1


def test_only_stories_matching_the_view_fire(editor, receiver):
    _spreading(editor, receiver, query="q=lithium")
    other = story_of(article_in("MX", "Football final tonight"))
    story_add(other, article_in("FR", "Football final: the French view"))
    assert _sweep() == 0
    minerals = story_of(article_in("MX", "Lithium deal signed"))
    story_add(minerals, article_in("BR", "Brazil reacts"))  # the story matches through one member
    assert _sweep() == 1
    assert AlertEvent.objects.get().story_ref == minerals.id


def test_split_does_not_fire_again(editor, receiver):
    """A story that fired, then grew, then was split: neither part fires the same level again."""
    _spreading(editor, receiver, levels="2")
    a_mx, a_fr = article_in("MX", "Lithium deal"), article_in("FR", "Lithium deal, Paris")
    story = story_of(a_mx, a_fr)
    assert _sweep() == 1
    late = [article_in("DE", "Lithium deal, Berlin"), article_in("JP", "Lithium deal, Tokyo")]
    story_add(story, *late)
    assert _sweep() == 0  # still the same level; the new members are now covered too

    # The refinement pass (or an editor) splits the later members off into a story of their own,
    # and one of the first members with them.
    split = story_of(*late)
    story_add(split, a_fr)
    story.refresh_from_db()
    story_refresh = Story.objects.get(id=story.id)
    assert story_refresh.country_count == 1 and split.country_count == 3
    assert _sweep() == 0
    # A split leaving only members that joined after the alert was sent does not fire either.
    only_late = story_of(*late)
    assert only_late.country_count == 2
    assert _sweep() == 0
    assert AlertEvent.objects.count() == 1


def test_merge_does_not_fire_again(editor, receiver):
    _spreading(editor, receiver, levels="2")
    fired = story_of(article_in("MX", "Lithium deal"), article_in("FR", "Lithium deal, Paris"))
    assert _sweep() == 1
    other = story_of(article_in("DE", "Lithium: Berlin"), article_in("BR", "Lithium: Brasília"))
    assert _sweep() == 1  # a different story: it fires once of its own
    # A merge into the story that already fired, and a merge of it into another one (new id).
    story_merge(source=other, target=fired)
    assert _sweep() == 0
    fresh = story_of(article_in("JP", "Lithium: Tokyo"))
    story_merge(source=fired, target=fresh)
    assert Story.objects.get(id=fresh.id).country_count == 5
    assert _sweep() == 0
    assert AlertEvent.objects.count() == 2


def test_new_story_alert(editor, receiver):
    view = saved_view_create(owner=editor, name="Lithium", query="q=lithium")
    story_of(article_in("MX", "Lithium before the alert"))
    alert_create(owner=editor, view_pk=view.pk, name="New", metric="new_story", webhook_url=receiver.url("/hook"))
    assert _sweep() == 0  # stories from before the alert are not new
    story = story_of(article_in("FR", "Lithium news today"))
    story_of(article_in("FR", "Nothing to do with it"))
    assert _sweep() == 1
    story_add(story, article_in("DE", "More lithium"))
    assert _sweep() == 0
    event = AlertEvent.objects.get()
    assert event.payload["type"] == "story.new" and event.story_ref == story.id


def test_webhook_is_signed_and_carries_the_event_id(editor, receiver, settings):
    settings.NEWSDESK_BASE_URL = "https://desk.example.org"
    _, secret = _spreading(editor, receiver, levels="2")
    story_of(article_in("MX", "Lithium deal"), article_in("FR", "Lithium deal, Paris"))
    _sweep()
    assert _send_all() == ["delivered"]
    (request,) = receiver.requests
    assert signature_valid(secret=secret, body=request.body, header=request.headers["x-newsdesk-signature-256"])
    assert not signature_valid(
        secret=secret + "x", body=request.body, header=request.headers["x-newsdesk-signature-256"]
    )
    payload = json.loads(request.body)
    assert payload["id"] == request.headers["x-newsdesk-event"] == str(AlertEvent.objects.get().id)
    assert payload["type"] == "story.spreading"
    assert payload["story"]["countries"] == ["FR", "MX"]
    assert "Covered in 2+ countries" in payload["text"]
    assert "<https://desk.example.org/stories/" in payload["text"]
    assert request.headers["content-type"].startswith("application/json")


def test_retry_on_500_then_never_resent_after_success(editor, receiver):
    answers = iter([Response(500, b"boom"), Response(200, b"ok")])
    receiver.route("/hook", lambda req: next(answers))
    _, delivery = _one_delivery(editor, receiver)
    before = timezone.now()
    assert delivery_send(delivery_id=delivery.id) == "retry"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.last_status_code == 500
    assert delivery.next_attempt_at > before
    assert delivery_send(delivery_id=delivery.id) == "skipped"  # not due yet
    Delivery.objects.filter(id=delivery.id).update(next_attempt_at=timezone.now())
    assert delivery_send(delivery_id=delivery.id) == "delivered"
    Delivery.objects.filter(id=delivery.id).update(next_attempt_at=timezone.now())
    assert delivery_send(delivery_id=delivery.id) == "skipped"
    ids = {r.headers["x-newsdesk-event"] for r in receiver.requests}
    assert len(receiver.requests) == 2 and ids == {str(delivery.event_id)}
    assert [r.headers["x-newsdesk-attempt"] for r in receiver.requests] == ["1", "2"]
    log = list(delivery.attempt_log.order_by("number").values_list("number", "outcome", "status_code"))
    assert log == [(1, "retry", 500), (2, "delivered", 200)]


def test_backs_off_on_429_as_the_receiver_asks(editor, receiver, settings):
    settings.NEWSDESK_DELIVERY_BACKOFF_SECONDS = 1
    receiver.route("/hook", lambda req: Response(429, b"slow down", {"Retry-After": "120"}))
    _, delivery = _one_delivery(editor, receiver)
    before = timezone.now()
    assert delivery_send(delivery_id=delivery.id) == "retry"
    delivery.refresh_from_db()
    wait = (delivery.next_attempt_at - before).total_seconds()
    assert 119 <= wait <= 125
    assert delivery.last_status_code == 429


def test_repeated_failures_disable_the_destination_with_a_reason(editor, receiver, settings):
    settings.NEWSDESK_DELIVERY_DISABLE_AFTER = 3
    receiver.route("/hook", lambda req: Response(503, b"down"))
    alert, delivery = _one_delivery(editor, receiver)
    for _ in range(3):
        Delivery.objects.filter(id=delivery.id).update(next_attempt_at=timezone.now())
        delivery_send(delivery_id=delivery.id)
    alert.webhook.refresh_from_db()
    assert not alert.webhook.enabled
    assert "3 failed attempts in a row" in alert.webhook.disabled_reason
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.CANCELLED
    assert receiver.hits("/hook") == 3


def test_loopback_webhook_refused_unless_allowed(editor, receiver, settings):
    view = saved_view_create(owner=editor, name="Minerals", query="")
    settings.NEWSDESK_FETCH_ALLOWED_NETWORKS = []
    with pytest.raises(AlertError, match="loopback"):
        alert_create(owner=editor, view_pk=view.pk, name="x", metric="countries", thresholds="2",
                     webhook_url=receiver.url("/hook"))  # fmt: skip
    # Allowed when made, refused when sent: the guard runs again on every attempt.
    settings.NEWSDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    alert, _ = alert_create(owner=editor, view_pk=view.pk, name="x", metric="countries", thresholds="2",
                            webhook_url=receiver.url("/hook"))  # fmt: skip
    story_of(article_in("MX", "Lithium deal"), article_in("FR", "Lithium deal, Paris"))
    _sweep()
    settings.NEWSDESK_FETCH_ALLOWED_NETWORKS = []
    assert _send_all() == ["failed"]
    assert receiver.hits("/hook") == 0
    alert.webhook.refresh_from_db()
    assert not alert.webhook.enabled and "loopback" in alert.webhook.disabled_reason


def test_email_through_django_mail_backend(editor, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    view = saved_view_create(owner=editor, name="Minerals", query="")
    alert_create(owner=editor, view_pk=view.pk, name="Spread", metric="languages", thresholds="2",
                 email_to="desk@example.org, chief@example.org")  # fmt: skip
    story_of(article_in("MX", "Lithium deal"), article_in("FR", "Lithium deal, Paris"))
    assert _sweep() == 1
    assert _send_all() == ["delivered"]
    (message,) = mail.outbox
    assert message.to == ["desk@example.org", "chief@example.org"]
    assert message.subject.startswith("[Newsdesk] 2+ languages: ")
    event = AlertEvent.objects.get()
    assert message.extra_headers["X-Newsdesk-Event"] == str(event.id)
    assert "Lithium deal, Paris" in message.body
    assert _send_all() == ["skipped"] and len(mail.outbox) == 1


def test_bad_alert_input_is_refused_with_a_reason(editor, receiver):
    view = saved_view_create(owner=editor, name="Minerals", query="")
    for kwargs, reason in [
        ({"metric": "countries", "thresholds": "three"}, "not a level"),
        ({"metric": "countries", "thresholds": "1"}, "not a level"),
        ({"metric": "bogus"}, "Choose"),
        ({"metric": "countries", "thresholds": "2", "webhook_url": "ftp://x/"}, "scheme"),
        ({"metric": "countries", "thresholds": "2", "email_to": "not-an-address"}, "not an e-mail"),
        ({"metric": "countries", "thresholds": "2"}, "somewhere"),
    ]:
        with pytest.raises(AlertError, match=reason):
            alert_create(owner=editor, view_pk=view.pk, name="x", **kwargs)


def test_old_history_is_pruned_but_not_what_can_still_repeat(editor, receiver, settings):
    from datetime import timedelta

    from newsdesk.alerts.sweep import alerts_covered_prune
    from newsdesk.delivery.service import deliveries_prune
    from newsdesk.models import AlertCovered

    _spreading(editor, receiver, levels="2")
    story_of(article_in("MX", "Lithium deal"), article_in("FR", "Lithium deal, Paris"))
    _sweep()
    _send_all()
    now = timezone.now()
    assert deliveries_prune(now=now) == 0 and alerts_covered_prune(now=now) == 0
    later = now + timedelta(days=settings.NEWSDESK_DELIVERY_HISTORY_DAYS, hours=1)
    assert deliveries_prune(now=later) == 2  # the delivery and its attempt
    assert not Delivery.objects.exists()
    assert AlertCovered.objects.count() == 2
    assert alerts_covered_prune(now=now + timedelta(hours=4 * settings.NEWSDESK_ALERT_WINDOW_HOURS + 1)) == 2


def test_a_deactivated_editors_alerts_send_nothing(editor, receiver):
    _spreading(editor, receiver, levels="2")
    editor.is_active = False
    editor.save()
    story_of(article_in("MX", "Lithium deal"), article_in("FR", "Lithium deal, Paris"))
    assert _sweep() == 0
    assert not Delivery.objects.exists()


def test_extra_headers_go_with_every_attempt(editor, receiver):
    """What WebSub's content distribution needs from the service: its own headers and signature header name."""
    import uuid

    from newsdesk.delivery.service import delivery_queue
    from newsdesk.models import Destination

    hub = Destination.objects.create(
        kind="webhook", url=receiver.url("/hook"), secret="s3cret", signature_header="X-Hub-Signature"
    )
    links = '<https://news.example.org/hub>; rel="hub", <https://news.example.org/feeds/rss/>; rel="self"'
    delivery = delivery_queue(
        destination=hub, event_id=uuid.uuid4(), event_type="websub.content", body="<rss/>",
        content_type="application/rss+xml", headers={"Link": links},
    )  # fmt: skip
    assert delivery_send(delivery_id=delivery.id) == "delivered"
    (request,) = receiver.requests
    assert request.headers["link"] == links
    assert request.headers["content-type"].startswith("application/rss+xml")
    assert signature_valid(secret="s3cret", body=b"<rss/>", header=request.headers["x-hub-signature"])
