"""Queue, send, retry and log outgoing deliveries.

The flow of one delivery, each step one function:

1. :func:`delivery_queue` records it (unique per destination and event, so
   an event queued twice is sent once) and sends the task after the commit.
2. :func:`delivery_send` claims it with one conditional UPDATE (only a
   pending row that is due, or one whose sender vanished long ago), so two
   workers never send it together and a delivered row is never sent again.
3. The send itself: an HTTP POST through the SSRF guard (signed with the
   destination's secret), or an e-mail through Django's mail backend.
4. :func:`_outcome_record` logs the attempt and decides, in one place, what
   the answer means: delivered; retry later with exponential backoff (or the
   receiver's Retry-After, for 429 and 503); or give up. A destination that
   keeps failing is disabled with the reason, and its pending deliveries
   are cancelled.

The database is the source of truth: :func:`deliveries_due` finds what a
lost message or a crashed worker left behind, and beat re-sends it.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from newsdesk.ingest.fetch import FetchError, post_url
from newsdesk.models import Delivery, DeliveryAttempt, DeliveryStatus, Destination, DestinationKind

from .signing import body_sign

log = logging.getLogger(__name__)

DELIVER_TASK = "newsdesk.tasks.deliver"
ERROR_CHARS = 500
# Statuses whose Retry-After is honoured (RFC 9110: 503 and 3xx; RFC 6585: 429).
_RETRY_AFTER_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class SendResult:
    """What one attempt got back: an HTTP status (webhooks), or an error before any answer."""

    status_code: int | None = None
    error: str = ""
    retry_after: float | None = None
    permanent: bool = False  # an error no retry can fix (refused address, bad URL)


def delivery_queue(
    *,
    destination: Destination,
    event_id: UUID,
    event_type: str,
    body: str,
    subject: str = "",
    content_type: str = "",
    headers: dict[str, str] | None = None,
) -> Delivery | None:
    """Record one event for one destination and send it after the commit; None if already queued or disabled.

    ``headers`` are sent as they are with every attempt of a webhook (WebSub's
    ``Link`` headers, for one); the event, attempt and signature headers are added.
    """
    if not destination.enabled:
        return None
    delivery, created = Delivery.objects.get_or_create(
        destination=destination,
        event_id=event_id,
        defaults={
            "event_type": event_type,
            "body": body,
            "subject": subject[:300],
            "headers": dict(headers or {}),
            "content_type": content_type
            or ("application/json" if destination.kind == DestinationKind.WEBHOOK else "text/plain"),
        },
    )
    if not created:
        return None
    transaction.on_commit(lambda: _task_send(delivery.id))
    return delivery


def _task_send(delivery_id: int, *, countdown: float = 0) -> None:
    from celery import current_app

    try:
        current_app.send_task(DELIVER_TASK, args=[delivery_id], countdown=countdown or None)
    except Exception:  # the broker is down: the dispatcher's next tick finds the row
        log.warning("event=delivery_enqueue_failed delivery_id=%s", delivery_id, exc_info=True)


def delivery_claim(*, delivery_id: int, now: datetime) -> Delivery | None:
    """Take the delivery for one attempt, or None when it is not due, done, or someone else's."""
    stale = now - timedelta(seconds=settings.NEWSDESK_DELIVERY_CLAIM_SECONDS)
    due = Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=DeliveryStatus.SENDING, claimed_at__lt=stale
    )
    claimed = Delivery.objects.filter(due, id=delivery_id).update(
        status=DeliveryStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    return Delivery.objects.select_related("destination").get(id=delivery_id)


def delivery_send(*, delivery_id: int) -> str:
    """One attempt of a delivery, if it is due; returns the outcome (or ``skipped``)."""
    delivery = delivery_claim(delivery_id=delivery_id, now=timezone.now())
    if delivery is None:
        return "skipped"
    destination = delivery.destination
    if not destination.enabled:
        Delivery.objects.filter(id=delivery.id).update(status=DeliveryStatus.CANCELLED)
        return "cancelled"
    started = time.monotonic()
    if destination.kind == DestinationKind.EMAIL:
        result = _email_send(delivery=delivery, destination=destination)
    else:
        result = _webhook_send(delivery=delivery, destination=destination)
    outcome, delay = _outcome_record(
        delivery=delivery, result=result, duration_ms=int((time.monotonic() - started) * 1000)
    )
    if outcome == "retry" and delay <= settings.NEWSDESK_DELIVERY_COUNTDOWN_MAX:
        transaction.on_commit(lambda: _task_send(delivery.id, countdown=delay))
    return outcome


def webhook_headers(*, delivery: Delivery, destination: Destination, body: bytes) -> dict[str, str]:
    """The headers every attempt of a webhook carries: the event's id, type and the body's signature."""
    headers = {
        **(delivery.headers or {}),
        "Content-Type": f"{delivery.content_type}; charset=utf-8",
        "X-Newsdesk-Event": str(delivery.event_id),
        "X-Newsdesk-Event-Type": delivery.event_type,
        "X-Newsdesk-Delivery": str(delivery.id),
        "X-Newsdesk-Attempt": str(delivery.attempts),
    }
    if destination.secret:
        headers[destination.signature_header] = body_sign(secret=destination.secret, body=body)
    return headers


def _webhook_send(*, delivery: Delivery, destination: Destination) -> SendResult:
    body = delivery.body.encode("utf-8")
    try:
        response = post_url(
            url=destination.url,
            body=body,
            headers=webhook_headers(delivery=delivery, destination=destination, body=body),
        )
    except FetchError as exc:
        return SendResult(error=f"{exc.kind}: {exc}"[:ERROR_CHARS], permanent=not exc.transient)
    error = "" if 200 <= response.status < 300 else response.body[:ERROR_CHARS].decode("utf-8", "replace")
    return SendResult(status_code=response.status, error=error, retry_after=response.retry_after_seconds)


def _email_send(*, delivery: Delivery, destination: Destination) -> SendResult:
    recipients = email_addresses(destination.email_to)
    if not recipients:
        return SendResult(error="no recipient addresses", permanent=True)
    message = EmailMessage(
        subject=delivery.subject,
        body=delivery.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        headers={
            "X-Newsdesk-Event": str(delivery.event_id),
            "X-Newsdesk-Event-Type": delivery.event_type,
            # One Message-ID per event: a mail system drops a repeat as a duplicate.
            "Message-ID": f"<{delivery.event_id}@newsdesk>",
        },
        connection=get_connection(timeout=settings.NEWSDESK_FETCH_CONNECT_TIMEOUT),
    )
    try:
        message.send(fail_silently=False)
    except Exception as exc:  # SMTP errors, refused connections, bad addresses: all logged and retried
        return SendResult(error=f"{type(exc).__name__}: {exc}"[:ERROR_CHARS])
    return SendResult()


def email_addresses(raw: str) -> list[str]:
    return [part.strip() for part in (raw or "").replace(";", ",").split(",") if part.strip()]


def backoff_seconds(*, attempt: int, retry_after: float | None = None) -> float:
    """Seconds before attempt ``attempt + 1``: exponential with jitter, never sooner than Retry-After."""
    base = float(settings.NEWSDESK_DELIVERY_BACKOFF_SECONDS)
    cap = float(settings.NEWSDESK_DELIVERY_BACKOFF_MAX)
    delay = min(cap, base * 2 ** max(attempt - 1, 0))
    delay *= random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay


def _outcome_record(*, delivery: Delivery, result: SendResult, duration_ms: int) -> tuple[str, float]:
    """Log the attempt and move the delivery and its destination on; return (outcome, retry delay)."""
    now = timezone.now()
    delivered = not result.error and (result.status_code is None or 200 <= result.status_code < 300)
    gone = result.status_code == 410  # the receiver says the endpoint is gone for good
    delay = 0.0
    if delivered:
        outcome = "delivered"
    elif result.permanent or gone or delivery.attempts >= settings.NEWSDESK_DELIVERY_MAX_ATTEMPTS:
        outcome = "failed"
    else:
        outcome = "retry"
        retry_after = result.retry_after if result.status_code in _RETRY_AFTER_STATUSES else None
        delay = backoff_seconds(attempt=delivery.attempts, retry_after=retry_after)
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            at=now,
            number=delivery.attempts,
            outcome=outcome,
            status_code=result.status_code,
            error=result.error,
            duration_ms=duration_ms,
        )
        fields = {"last_status_code": result.status_code, "last_error": result.error, "claimed_at": None}
        if outcome == "delivered":
            fields.update(status=DeliveryStatus.DELIVERED, delivered_at=now)
        elif outcome == "failed":
            fields.update(status=DeliveryStatus.FAILED)
        else:
            fields.update(status=DeliveryStatus.PENDING, next_attempt_at=now + timedelta(seconds=delay))
        # Only the claim's holder moves the row on.
        Delivery.objects.filter(id=delivery.id, status=DeliveryStatus.SENDING).update(**fields)
        _destination_health(destination=delivery.destination, delivered=delivered, result=result, gone=gone, now=now)
    log.info(
        "event=delivery_attempt delivery_id=%s event_id=%s attempt=%s outcome=%s status=%s",
        delivery.id,
        delivery.event_id,
        delivery.attempts,
        outcome,
        result.status_code,
    )
    return outcome, delay


def _destination_health(*, destination: Destination, delivered: bool, result: SendResult, gone: bool, now) -> None:
    rows = Destination.objects.filter(id=destination.id)
    if delivered:
        rows.update(failure_streak=0, last_success_at=now)
        return
    rows.update(failure_streak=F("failure_streak") + 1)
    streak = rows.values_list("failure_streak", flat=True).first() or 0
    limit = settings.NEWSDESK_DELIVERY_DISABLE_AFTER
    if gone or result.permanent or streak >= limit:
        what = f"HTTP {result.status_code}" if result.status_code else result.error
        if gone:
            reason = f"the receiver answered 410 Gone on {now:%Y-%m-%d %H:%M} UTC"
        elif result.permanent:
            reason = f"refused: {what}"
        else:
            reason = f"{streak} failed attempt{'s' if streak != 1 else ''} in a row, the last on {now:%Y-%m-%d %H:%M} UTC ({what})"
        destination_disable(destination_id=destination.id, reason=reason[:ERROR_CHARS])


def destination_disable(*, destination_id: int, reason: str) -> None:
    """Stop sending to a destination, say why, and cancel what it still had queued."""
    Destination.objects.filter(id=destination_id, enabled=True).update(
        enabled=False, disabled_reason=reason, disabled_at=timezone.now()
    )
    Delivery.objects.filter(destination_id=destination_id, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.CANCELLED
    )
    log.warning("event=destination_disabled destination_id=%s reason=%s", destination_id, reason)


def destination_enable(*, destination_id: int) -> None:
    """Send again (after the editor fixed the receiver): the failure count starts from zero."""
    Destination.objects.filter(id=destination_id).update(
        enabled=True, disabled_reason="", disabled_at=None, failure_streak=0
    )


def deliveries_due(*, now: datetime, limit: int = 500) -> list[int]:
    """Deliveries a lost message or a vanished worker left behind: due pending ones, stale claims."""
    stale = now - timedelta(seconds=settings.NEWSDESK_DELIVERY_CLAIM_SECONDS)
    due = Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=DeliveryStatus.SENDING, claimed_at__lt=stale
    )
    return list(Delivery.objects.filter(due).order_by("next_attempt_at").values_list("id", flat=True)[:limit])


def deliveries_prune(*, now: datetime) -> int:
    """Forget finished deliveries (and their attempts) older than NEWSDESK_DELIVERY_HISTORY_DAYS."""
    before = now - timedelta(days=settings.NEWSDESK_DELIVERY_HISTORY_DAYS)
    done = [DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.CANCELLED]
    deleted, _ = Delivery.objects.filter(status__in=done, created_at__lt=before).delete()
    return deleted
