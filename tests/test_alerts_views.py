"""The editor's Alerts and API tokens pages: make, see once, list with the delivery log, pause, revoke, delete."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from newsdesk.accounts.desks import saved_view_create
from newsdesk.alerts.sweep import alerts_sweep
from newsdesk.delivery.service import delivery_send
from newsdesk.models import Alert, ApiToken, Delivery, Destination
from tests.support.accounts import make_editor
from tests.support.alerts import article_in, story_of
from tests.support.http import Response

pytestmark = pytest.mark.django_db


def test_alert_made_from_the_page_shows_its_secret_once_and_logs_deliveries(client, feed_server, settings):
    from django.utils import timezone

    feed_server.route("/hook", lambda req: Response(502, b"bad gateway"))
    editor = make_editor()
    view = saved_view_create(owner=editor, name="Mexico", query="")
    client.force_login(editor)
    data = {
        "view": view.pk,
        "name": "Spread",
        "metric": "countries",
        "thresholds": "2",
        "webhook_url": feed_server.url("/hook"),
    }
    response = client.post(reverse("alert-add"), data)
    assert response.status_code == 200 and response["Cache-Control"].startswith("max-age=0")
    secret = re.search(r'value="([^"]+)" aria-label="Webhook signing secret"', response.content.decode()).group(1)
    assert Destination.objects.get().secret == secret
    page = client.get(reverse("alert-list")).content.decode()
    assert secret not in page and "Nothing sent yet" in page
    story_of(article_in("MX", "Lithium deal"), article_in("FR", "Lithium deal, Paris"))
    alerts_sweep(now=timezone.now())
    delivery_send(delivery_id=Delivery.objects.get().id)
    page = client.get(reverse("alert-list")).content.decode()
    assert "HTTP 502" in page and str(Delivery.objects.get().event_id) in page
    alert = Alert.objects.get()
    client.post(reverse("alert-toggle", args=[alert.pk]), {"enabled": "0"})
    assert not Alert.objects.get().enabled
    # Another editor can neither see nor touch it.
    from django.test import Client

    stranger = Client()
    stranger.force_login(make_editor())
    assert "Spread" not in stranger.get(reverse("alert-list")).content.decode()
    for action, data in (("alert-secret", {}), ("alert-toggle", {"enabled": "1"}), ("alert-delete", {})):
        assert stranger.post(reverse(action, args=[alert.pk]), data).status_code == 404, action
    assert not Alert.objects.get().enabled and Destination.objects.get().secret == secret
    # The same answer for an alert that does not exist, so ids reveal nothing.
    assert stranger.post(reverse("alert-delete", args=[alert.pk + 1000])).status_code == 404
    page = client.post(reverse("alert-delete", args=[alert.pk]), follow=True).content.decode()
    assert "Deleted alert “Spread”." in page
    assert not Alert.objects.exists() and not Destination.objects.exists()


def test_a_refused_webhook_url_is_explained(client, settings):
    settings.NEWSDESK_FETCH_ALLOWED_NETWORKS = []
    editor = make_editor()
    view = saved_view_create(owner=editor, name="Mexico", query="")
    client.force_login(editor)
    data = {"view": view.pk, "metric": "countries", "thresholds": "3", "webhook_url": "http://127.0.0.1:9/hook"}
    page = client.post(reverse("alert-add"), data, follow=True).content.decode()
    assert "Webhook URL refused" in page and "loopback" in page
    assert not Alert.objects.exists()


def test_api_tokens_page_shows_a_token_once_and_revokes_it(client):
    editor = make_editor()
    client.force_login(editor)
    response = client.post(reverse("api-token-add"), {"name": "wall screen"})
    raw = re.search(r'value="(nd_[A-Za-z0-9_-]{43})"', response.content.decode()).group(1)
    token = ApiToken.objects.get()
    assert token.prefix == raw[:10] and token.token_hash != raw
    page = client.get(reverse("api-token-list")).content.decode()
    assert raw not in page and token.prefix in page
    client.post(reverse("api-token-revoke", args=[token.pk]))
    assert ApiToken.objects.get().revoked_at is not None
    assert client.get("/api/v1/views/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
