"""/healthz: 200 when database, Redis, worker heartbeat and beat lag are fine; 503 naming what is not."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from newsdesk.enrich.breaker import breaker_failure
from newsdesk.models import Heartbeat, Source, SourceKind, SourceState
from tests.support.articles import make_source

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _beat(seconds_ago: float) -> None:
    Heartbeat.objects.update_or_create(name="worker", defaults={"at": timezone.now() - timedelta(seconds=seconds_ago)})


def test_all_up(client):
    _beat(5)
    make_source(next_poll_at=timezone.now() - timedelta(seconds=30))
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["down"] == []
    assert set(body["checks"]) == {"database", "redis", "worker", "beat_lag", "translation"}
    assert body["degraded"] == []
    assert "no-cache" in response.headers["Cache-Control"] or "max-age=0" in response.headers["Cache-Control"]


def test_missing_heartbeat_names_the_worker(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["down"] == ["worker"]
    assert "no worker heartbeat" in response.json()["checks"]["worker"]["detail"]


def test_stale_heartbeat(client, settings):
    settings.NEWSDESK_HEALTH_MAX_HEARTBEAT_AGE = 60
    _beat(61)
    body = client.get(reverse("healthz")).json()
    assert body["down"] == ["worker"]
    assert body["status"] == "down: worker"


def test_beat_lag(client, settings):
    settings.NEWSDESK_HEALTH_MAX_BEAT_LAG = 600
    _beat(1)
    make_source(next_poll_at=timezone.now() - timedelta(seconds=900))
    # A source already queued or being polled is not waiting on beat.
    make_source(next_poll_at=timezone.now() - timedelta(days=1), state=SourceState.POLLING)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["down"] == ["beat_lag"]
    assert "waiting 90" in response.json()["checks"]["beat_lag"]["detail"]


def test_redis_down(client, settings):
    _beat(1)
    settings.REDIS_URL = f"redis://127.0.0.1:{_free_port()}/0"
    settings.NEWSDESK_HEALTH_TIMEOUT = 0.5
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["down"] == ["redis"]
    assert "ConnectionError" in response.json()["checks"]["redis"]["detail"]


def test_database_down(client, monkeypatch):
    """The probe's failure is reported, and the checks that need the database say so."""
    from django.db import OperationalError

    from newsdesk.web import health

    def refused() -> tuple[bool, str]:
        raise OperationalError("connection refused")

    monkeypatch.setattr(health, "_database", refused)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["database", "worker", "beat_lag"]
    assert "connection refused" in body["checks"]["database"]["detail"]


def test_drop_inboxes_and_drop_outlets_are_never_due_feeds(client, settings):
    """The first run's demo inbox made a bare install report beat_lag down after ten minutes."""
    settings.NEWSDESK_HEALTH_MAX_BEAT_LAG = 600
    _beat(1)
    long_ago = timezone.now() - timedelta(days=2)
    inbox = Source.objects.create(name="Demo inbox", kind=SourceKind.DROP, inbox="demo", next_poll_at=long_ago)
    Source.objects.create(name="Demo Wire", kind=SourceKind.FEED, url="", parent=inbox, next_poll_at=long_ago)
    response = client.get(reverse("healthz"))
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["beat_lag"]["detail"].startswith("oldest due source waiting 0s")


def test_no_provider_able_to_translate_is_degraded_not_down(client, settings, translation_state_clean):
    _beat(1)
    settings.NEWSDESK_TRANSLATORS = ["google", "deepl"]
    settings.NEWSDESK_DEEPL_KEY = ""
    breaker_failure(provider="google", reason="google: connection refused", retry_after=600)
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["down"] == [] and body["degraded"] == ["translation"]
    assert body["status"].startswith("degraded: translation (google: circuit open until ")
    assert "(connection refused)" in body["status"]
    assert "deepl: not configured (NEWSDESK_DEEPL_KEY is not set)" in body["status"]


def test_one_working_provider_is_enough(client, settings, translation_state_clean):
    _beat(1)
    settings.NEWSDESK_TRANSLATORS = ["google", "mymemory"]
    breaker_failure(provider="google", reason="google: connection refused", retry_after=600)
    body = client.get(reverse("healthz")).json()
    assert body["status"] == "ok" and body["degraded"] == []


def test_down_wins_over_degraded(client, settings, translation_state_clean):
    settings.NEWSDESK_TRANSLATORS = ["deepl"]
    settings.NEWSDESK_DEEPL_KEY = ""
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["status"] == "down: worker"


def test_translation_turned_off_is_not_degraded(client, settings):
    _beat(1)
    settings.NEWSDESK_TRANSLATORS = []
    body = client.get(reverse("healthz")).json()
    assert body["status"] == "ok"
    assert body["checks"]["translation"]["detail"].startswith("off")
