"""Prometheus metrics at ``/metrics`` (off unless ``NEWSDESK_METRICS=true``).

Nothing is counted in process memory. gunicorn runs several processes, the
Celery worker many more, possibly on other machines, and a scrape lands on
one web process that saw none of the work. So every figure is read at scrape
time from where the truth already is:

* the database: polls by outcome (FetchAttempt), articles by translation
  status, translation calls and characters by provider (the Translation cache
  holds one row per provider call that succeeded), failed translations,
  sources by state, dead letters;
* Redis: queue lengths (``LLEN`` of each Celery queue), task durations,
  which the Celery hooks (newsdesk/ops/celery_hooks.py) add to a histogram
  hash per task name, and worker children recycled by the memory guard
  (newsdesk/ops/memory.py).

The database counts are totals over the rows kept, so deleting old rows shows
up as a counter reset, which Prometheus' ``rate()`` already handles.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .celery_hooks import DURATION_BUCKETS, DURATION_KEY, STATE_KEY
from .memory import recycles_count

log = logging.getLogger("newsdesk.ops")


def queue_names() -> list[str]:
    queues = getattr(settings, "CELERY_TASK_QUEUES", None) or []
    names = [getattr(q, "name", q) for q in queues]
    return names or ["celery"]


class DatabaseCollector:
    """Pipeline counts, read from the database at scrape time."""

    def collect(self) -> Iterator[Any]:
        from newsdesk.models import Article, DeadLetter, FetchAttempt, Source, Translation

        # A gauge over a fixed window, not a counter of rows: FetchAttempts are
        # pruned hourly (NEWSDESK_FETCH_HISTORY_DAYS), and a row counter that
        # drops would look like a reset to Prometheus' rate().
        polls = GaugeMetricFamily(
            "newsdesk_polls_last_hour",
            "Feed polls and drop-file scans started in the last hour, by outcome (FetchAttempt rows).",
            labels=["outcome"],
        )
        since = timezone.now() - timedelta(hours=1)
        for row in (
            FetchAttempt.objects.filter(started_at__gte=since).values("outcome").annotate(n=Count("id")).order_by()
        ):
            polls.add_metric([row["outcome"]], row["n"])
        yield polls

        articles = CounterMetricFamily(
            "newsdesk_articles_ingested", "Articles stored, by translation status.", labels=["translation_status"]
        )
        for row in Article.objects.values("translation_status").annotate(n=Count("id")).order_by():
            articles.add_metric([row["translation_status"]], row["n"])
        yield articles

        calls = CounterMetricFamily(
            "newsdesk_translation_calls",
            "Successful provider calls (cached translations), by provider.",
            labels=["provider"],
        )
        chars = CounterMetricFamily(
            "newsdesk_translation_characters", "Characters sent to each provider.", labels=["provider"]
        )
        for row in Translation.objects.values("provider").annotate(n=Count("id"), c=Sum("characters")).order_by():
            calls.add_metric([row["provider"]], row["n"])
            chars.add_metric([row["provider"]], row["c"] or 0)
        yield calls
        yield chars

        failures = GaugeMetricFamily(
            "newsdesk_translation_failed_articles",
            "Articles whose translation failed on every provider, by last provider tried.",
            labels=["provider"],
        )
        for row in (
            Article.objects.filter(translation_status="failed")
            .values("translation_provider")
            .annotate(n=Count("id"))
            .order_by()
        ):
            failures.add_metric([row["translation_provider"] or "all"], row["n"])
        yield failures

        sources = GaugeMetricFamily(
            "newsdesk_sources", "Sources by state and enabled flag.", labels=["state", "enabled"]
        )
        for row in Source.objects.values("state", "enabled").annotate(n=Count("id")).order_by():
            sources.add_metric([row["state"], str(row["enabled"]).lower()], row["n"])
        yield sources

        dead = GaugeMetricFamily("newsdesk_dead_letters", "Dead-lettered task objects, by task.", labels=["task"])
        for row in DeadLetter.objects.values("task_name").annotate(n=Count("id")).order_by():
            dead.add_metric([row["task_name"]], row["n"])
        yield dead


class RedisCollector:
    """Queue lengths and task timings, read from Redis at scrape time."""

    def collect(self) -> Iterator[Any]:
        from .celery_hooks import _client

        client = _client()
        up = GaugeMetricFamily("newsdesk_redis_up", "1 when Redis answered this scrape.")
        try:
            pipe = client.pipeline(transaction=False)
            names = queue_names()
            for name in names:
                pipe.llen(name)
            lengths = pipe.execute()
            duration_keys = sorted(k.decode() for k in client.scan_iter(match=DURATION_KEY + "*", count=500))
            hashes = {k[len(DURATION_KEY) :]: client.hgetall(k) for k in duration_keys}
            states = client.hgetall(STATE_KEY)
            recycles = recycles_count(client)
        except Exception as exc:  # any redis failure: report it as a metric, not a 500
            log.warning("event=metrics_redis_failed error=%s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up

        queue = GaugeMetricFamily("newsdesk_queue_length", "Messages waiting in each Celery queue.", labels=["queue"])
        for name, length in zip(names, lengths, strict=True):
            queue.add_metric([name], length)
        yield queue

        hist = HistogramMetricFamily("newsdesk_task_duration_seconds", "Task run time.", labels=["task"])
        for task, data in hashes.items():
            fields = {k.decode(): v.decode() for k, v in data.items()}
            buckets = [(str(b), float(fields.get(f"le:{b}", 0))) for b in DURATION_BUCKETS]
            buckets.append(("+Inf", float(fields.get("count", 0))))
            hist.add_metric([task], buckets, float(fields.get("sum", 0.0)))
        yield hist

        runs = CounterMetricFamily("newsdesk_task_runs", "Task runs by final state.", labels=["task", "state"])
        for field, value in sorted(states.items()):
            task, _, state = field.decode().rpartition("|")
            runs.add_metric([task, state], int(value))
        yield runs

        yield CounterMetricFamily(
            "newsdesk_worker_recycles",
            "Worker children replaced because they grew past NEWSDESK_WORKER_MAX_GROWTH_KB.",
            value=recycles,
        )


def metrics_render() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector())
    registry.register(RedisCollector())
    return generate_latest(registry)


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Serve the metrics, or 404 when they are switched off.

    With ``NEWSDESK_METRICS_TOKEN`` set, the scraper must send
    ``Authorization: Bearer <token>``; otherwise restrict ``/metrics`` at the
    proxy (docs/operations.md).
    """
    if not settings.NEWSDESK_METRICS:
        raise Http404("metrics are disabled")
    token = settings.NEWSDESK_METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return HttpResponse("unauthorized\n", status=401, content_type="text/plain")
    elif not _loopback(request.META.get("REMOTE_ADDR", "")):
        # No token (development only: production refuses to start so): this
        # machine's own scraper only.
        return HttpResponse(
            "metrics without NEWSDESK_METRICS_TOKEN answer loopback clients only\n",
            status=403,
            content_type="text/plain",
        )
    return HttpResponse(metrics_render(), content_type=CONTENT_TYPE_LATEST)
