"""``/healthz``: is every moving part alive? 200 if so, 503 naming what is down.

Checks, each bounded in time:
- database: ``SELECT 1``;
- redis: ``PING`` on ``REDIS_URL`` (the Celery broker and the cache);
- worker: age of the ``worker`` heartbeat, which the ``heartbeat`` task
  (sent by beat, run by a worker) writes every 30 s;
- beat_lag: how long the most overdue enabled, idle feed has waited past
  its ``next_poll_at``. The dispatcher (also sent by beat) picks due feeds
  up every minute, so a growing lag means beat or the dispatcher stalled.
  Drop inboxes are not polled (beat scans them, inotify watches them), and
  outlets first seen in a drop have no URL to poll: neither is ever due;
- translation: can any provider of NEWSDESK_TRANSLATORS translate now? When
  none can (unreachable, circuit open, budget spent, no key) the desk still
  works and shows originals, so this is *degraded*: 200 with
  ``status: degraded: translation (reason)``. Only a down check answers 503.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from newsdesk.enrich.status import provider_statuses, translation_chain, translation_degraded_reason
from newsdesk.models import Heartbeat, Source, SourceKind, SourceState
from newsdesk.redisconn import redis_client

# What the dispatcher claims (newsdesk/ingest/dispatch.py): feeds with a URL.
DUE_FEED_FILTER = {"kind": SourceKind.FEED, "url__gt": ""}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    ms: float

    def as_dict(self) -> dict:
        return {"ok": self.ok, "detail": self.detail, "ms": round(self.ms, 1)}


def _timed(name: str, probe) -> Check:
    start = time.perf_counter()
    try:
        ok, detail = probe()
    except Exception as exc:  # any failure of a probe is the answer, not a crash
        ok, detail = False, f"{type(exc).__name__}: {exc}"[:300]
    return Check(name=name, ok=ok, detail=detail, ms=(time.perf_counter() - start) * 1000)


def _database() -> tuple[bool, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return True, connection.vendor


def _redis() -> tuple[bool, str]:
    redis_client(timeout=settings.NEWSDESK_HEALTH_TIMEOUT).ping()
    return True, "pong"


def _worker() -> tuple[bool, str]:
    beat = Heartbeat.objects.filter(name="worker").values_list("at", flat=True).first()
    if beat is None:
        return False, "no worker heartbeat recorded yet"
    age = (timezone.now() - beat).total_seconds()
    limit = settings.NEWSDESK_HEALTH_MAX_HEARTBEAT_AGE
    return age <= limit, f"last heartbeat {age:.0f}s ago (limit {limit}s)"


def _beat_lag() -> tuple[bool, str]:
    now = timezone.now()
    due = (
        Source.objects.filter(enabled=True, state=SourceState.IDLE, next_poll_at__lt=now, **DUE_FEED_FILTER)
        .order_by("next_poll_at")
        .values_list("next_poll_at", flat=True)
        .first()
    )
    lag = (now - due).total_seconds() if due else 0.0
    limit = settings.NEWSDESK_HEALTH_MAX_BEAT_LAG
    return lag <= limit, f"oldest due source waiting {lag:.0f}s (limit {limit}s)"


def _translation() -> tuple[bool, str]:
    if not translation_chain():
        return True, "off (NEWSDESK_TRANSLATORS is empty: an English-only desk)"
    reason = translation_degraded_reason(provider_statuses())
    return not reason, reason or "a provider can translate"


def health_checks() -> list[Check]:
    checks = [_timed("database", _database), _timed("redis", _redis)]
    if checks[0].ok:
        checks += [_timed("worker", _worker), _timed("beat_lag", _beat_lag)]
    else:
        checks += [Check("worker", False, "database down", 0.0), Check("beat_lag", False, "database down", 0.0)]
    return checks


def health_status(checks: list[Check], degraded: list[Check]) -> tuple[str, int]:
    """'ok' 200, 'degraded: translation (reason)' 200, or 'down: a, b' 503."""
    down = [c.name for c in checks if not c.ok]
    if down:
        return "down: " + ", ".join(down), 503
    failing = [c for c in degraded if not c.ok]
    if failing:
        return "degraded: " + "; ".join(f"{c.name} ({c.detail})" for c in failing), 200
    return "ok", 200


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = health_checks()
    degraded = [_timed("translation", _translation)] if checks[0].ok else []
    status, code = health_status(checks, degraded)
    body = {
        "status": status,
        "down": [c.name for c in checks if not c.ok],
        "degraded": [c.name for c in degraded if not c.ok],
        "checks": {c.name: c.as_dict() for c in [*checks, *degraded]},
    }
    return JsonResponse(body, status=code)
