"""Admin for deliveries, destinations, alerts and events: the log is visible, secrets are not, failed sends can go again."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from newsdesk.accounts.desks import saved_view_create
from newsdesk.alerts.services import alert_create
from newsdesk.alerts.sweep import alerts_sweep
from newsdesk.delivery.service import delivery_send
from newsdesk.models import AlertEvent, Delivery, DeliveryStatus, Destination
from tests.support.accounts import make_admin, make_editor
from tests.support.alerts import article_in, story_of
from tests.support.http import Response

pytestmark = pytest.mark.django_db


def test_admin_shows_the_log_and_never_the_secret(client, feed_server, settings):
    settings.NEWSDESK_DELIVERY_DISABLE_AFTER = 1
    feed_server.route("/hook", lambda req: Response(500, b"boom"))
    editor = make_editor()
    view = saved_view_create(owner=editor, name="Mexico", query="")
    alert, secret = alert_create(owner=editor, view_pk=view.pk, name="Spread", metric="countries",
                                 thresholds="2", webhook_url=feed_server.url("/hook"))  # fmt: skip
    story_of(article_in("MX", "Lithium deal"), article_in("FR", "Lithium deal, Paris"))
    alerts_sweep(now=timezone.now())
    delivery = Delivery.objects.get()
    assert delivery_send(delivery_id=delivery.id) == "retry"
    client.force_login(make_admin())
    pages = [
        reverse("admin:newsdesk_delivery_changelist"),
        reverse("admin:newsdesk_delivery_change", args=[delivery.id]),
        reverse("admin:newsdesk_destination_changelist"),
        reverse("admin:newsdesk_destination_change", args=[alert.webhook_id]),
        reverse("admin:newsdesk_alert_changelist"),
        reverse("admin:newsdesk_alert_change", args=[alert.id]),
        reverse("admin:newsdesk_alertevent_changelist"),
        reverse("admin:newsdesk_alertevent_change", args=[AlertEvent.objects.get().pk]),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert secret not in response.content.decode(), url
    detail = client.get(reverse("admin:newsdesk_delivery_change", args=[delivery.id])).content.decode()
    assert "boom" in detail and "500" in detail
    destination = Destination.objects.get(id=alert.webhook_id)
    assert not destination.enabled and "1 failed attempt in a row" in destination.disabled_reason
    # Re-enable the destination, send the cancelled delivery again: it goes out once more.
    feed_server.route("/hook", lambda req: Response(200, b"ok"))
    client.post(reverse("admin:newsdesk_destination_changelist"),
                {"action": "enable_destinations", "_selected_action": [destination.id]})  # fmt: skip
    client.post(reverse("admin:newsdesk_delivery_changelist"),
                {"action": "send_again", "_selected_action": [delivery.id]})  # fmt: skip
    assert Delivery.objects.get().status == DeliveryStatus.PENDING
    assert delivery_send(delivery_id=delivery.id) == "delivered"
    assert feed_server.hits("/hook") == 2
