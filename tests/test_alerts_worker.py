"""Alerts end to end: a real Celery worker sweeps, fires after the commit, retries a 500 and delivers once."""

from __future__ import annotations

import json

import pytest
from django.db import close_old_connections

from newsdesk.accounts.desks import saved_view_create
from newsdesk.alerts.services import alert_create
from newsdesk.models import Delivery, DeliveryStatus
from tests.support.accounts import make_editor
from tests.support.alerts import article_in, story_of
from tests.support.http import Response
from tests.support.worker import celery_worker, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _delivered() -> Delivery | None:
    close_old_connections()
    return Delivery.objects.filter(status=DeliveryStatus.DELIVERED).first()


def test_worker_sweeps_fires_retries_and_delivers_once(feed_server):
    answers = iter([Response(500, b"try later")])
    feed_server.route("/hook", lambda req: next(answers, Response(204, b"")))
    editor = make_editor()
    view = saved_view_create(owner=editor, name="Minerals", query="")
    alert, _ = alert_create(
        owner=editor, view_pk=view.pk, name="Spreading", metric="countries", thresholds="2",
        webhook_url=feed_server.url("/hook"),
    )  # fmt: skip
    story_of(article_in("MX", "Lithium deal"), article_in("FR", "Lithium deal, Paris"))
    with celery_worker(extra_env={"NEWSDESK_DELIVERY_BACKOFF_SECONDS": "1"}):
        from newsdesk.tasks import sweep_alerts

        sweep_alerts.delay()
        delivery = wait_for(_delivered, timeout=60, message="the alert's webhook to be delivered")
    assert alert.events.count() == 1
    assert feed_server.hits("/hook") == 2
    first, second = feed_server.requests
    assert first.headers["x-newsdesk-event"] == second.headers["x-newsdesk-event"] == str(delivery.event_id)
    assert json.loads(second.body)["id"] == str(delivery.event_id)
    assert list(delivery.attempt_log.order_by("number").values_list("outcome", "status_code")) == [
        ("retry", 500),
        ("delivered", 204),
    ]
    assert Delivery.objects.count() == 1
