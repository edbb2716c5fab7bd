"""Prometheus metrics at /metrics (newsdesk/ops/metrics.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from newsdesk.models import Article, FetchAttempt, Source, Translation
from newsdesk.ops.celery_hooks import DURATION_KEY, _client, duration_record

pytestmark = pytest.mark.django_db


def _samples(response) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_are_off_by_default(client, settings):
    settings.NEWSDESK_METRICS = False
    assert client.get("/metrics").status_code == 404


def test_metrics_count_polls_articles_translations_queues_and_durations(client, settings):
    settings.NEWSDESK_METRICS = True
    settings.NEWSDESK_METRICS_TOKEN = ""
    source = Source.objects.create(name="S", url="http://127.0.0.1:9/a.xml")
    FetchAttempt.objects.create(source=source, outcome="ok")
    FetchAttempt.objects.create(source=source, outcome="ok")
    FetchAttempt.objects.create(source=source, outcome="error")
    # Older than an hour: outside the gauge's window.
    FetchAttempt.objects.create(source=source, outcome="error", started_at=timezone.now() - timedelta(hours=2))
    Article.objects.create(source=source, dedupe_key="a", title_orig="A", translation_status="done")
    Article.objects.create(source=source, dedupe_key="b", title_orig="B", translation_status="failed")
    Translation.objects.create(
        text_hash="h1", source_language="es", target_language="en", provider="google", translated="x", characters=40
    )
    Translation.objects.create(
        text_hash="h2", source_language="es", target_language="en", provider="google", translated="y", characters=2
    )
    redis = _client()
    redis.delete(DURATION_KEY + "test.task")
    redis.delete("enrich")
    redis.rpush("enrich", "m1", "m2", "m3")
    duration_record(task_name="test.task", seconds=0.2, state="SUCCESS")
    duration_record(task_name="test.task", seconds=3.0, state="SUCCESS")
    try:
        response = client.get("/metrics")
    finally:
        redis.delete("enrich", DURATION_KEY + "test.task")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    s = _samples(response)
    assert s[("newsdesk_polls_last_hour", (("outcome", "ok"),))] == 2
    assert s[("newsdesk_polls_last_hour", (("outcome", "error"),))] == 1
    assert s[("newsdesk_articles_ingested_total", (("translation_status", "done"),))] == 1
    assert s[("newsdesk_translation_calls_total", (("provider", "google"),))] == 2
    assert s[("newsdesk_translation_characters_total", (("provider", "google"),))] == 42
    assert s[("newsdesk_translation_failed_articles", (("provider", "all"),))] == 1
    assert s[("newsdesk_queue_length", (("queue", "enrich"),))] == 3
    assert s[("newsdesk_redis_up", ())] == 1
    assert s[("newsdesk_task_duration_seconds_count", (("task", "test.task"),))] == 2
    assert s[("newsdesk_task_duration_seconds_bucket", (("le", "0.25"), ("task", "test.task")))] == 1
    assert s[("newsdesk_task_duration_seconds_bucket", (("le", "5.0"), ("task", "test.task")))] == 2
    assert s[("newsdesk_task_duration_seconds_sum", (("task", "test.task"),))] == pytest.approx(3.2)


def test_metrics_token_is_required_when_set(client, settings):
    settings.NEWSDESK_METRICS = True
    settings.NEWSDESK_METRICS_TOKEN = "s3cret"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200


def test_metrics_without_a_token_answer_loopback_clients_only(client, settings):
    """Issue #16 item 5: /metrics enabled without a token is not open to the network."""
    settings.NEWSDESK_METRICS = True
    settings.NEWSDESK_METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.7").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200


def _settings_import(**env: str) -> subprocess.CompletedProcess:
    base = {
        "PATH": os.environ.get("PATH", ""),
        "DEBUG": "false",
        "SECRET_KEY": "x" * 60,
        "DATABASE_URL": "postgres://newsdesk@127.0.0.1:5432/newsdesk",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "ALLOWED_HOSTS": "news.example.org",
    }
    return subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        env={**base, **env},
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_with_metrics_and_no_token():
    refused = _settings_import(NEWSDESK_METRICS="true")
    assert refused.returncode != 0
    assert "NEWSDESK_METRICS_TOKEN" in refused.stderr
    assert _settings_import(NEWSDESK_METRICS="true", NEWSDESK_METRICS_TOKEN="t").returncode == 0, refused.stderr
