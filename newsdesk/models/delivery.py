"""The outgoing-delivery service's rows: where to send, what to send, and every attempt.

One service (newsdesk/delivery/) sends every push Newsdesk makes: alert
webhooks and e-mails today, WebSub content distribution later. A
:class:`Destination` is one receiver (a URL with its signing secret, or a
list of e-mail addresses); a :class:`Delivery` is one event for one
destination, unique on (destination, event id), so an event is never queued
twice for the same receiver; a :class:`DeliveryAttempt` logs each try.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone


class DestinationKind(models.TextChoices):
    WEBHOOK = "webhook", "Webhook (HTTP POST, JSON)"
    EMAIL = "email", "E-mail"


class Destination(models.Model):
    """One receiver of pushes. Disabled (with the reason) after repeated failures."""

    kind = models.CharField(max_length=10, choices=DestinationKind.choices)
    label = models.CharField(max_length=200, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    email_to = models.TextField(blank=True, help_text="Comma-separated addresses (e-mail destinations).")
    # HMAC-SHA256 key for the signature header. It has to be kept readable to
    # sign with; the editor sees it once, when it is made.
    secret = models.CharField(max_length=128, blank=True)
    signature_header = models.CharField(max_length=64, default="X-Newsdesk-Signature-256")
    enabled = models.BooleanField(default=True)
    disabled_reason = models.TextField(blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Failed attempts in a row (any delivery); a success resets it.
    failure_streak = models.PositiveIntegerField(default=0)
    last_success_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.label or (self.url if self.kind == DestinationKind.WEBHOOK else self.email_to)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (gave up)"
    CANCELLED = "cancelled", "Cancelled (destination disabled)"


class Delivery(models.Model):
    """One event for one destination. Never sent again once ``DELIVERED``."""

    destination = models.ForeignKey(Destination, on_delete=models.CASCADE, related_name="deliveries")
    # The event's id: the same on every attempt and for every destination of
    # the event, so a receiver can drop a repeat.
    event_id = models.UUIDField(default=uuid.uuid4)
    event_type = models.CharField(max_length=60)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(help_text="Exactly the bytes sent (UTF-8), signed as they are.")
    content_type = models.CharField(max_length=100, default="application/json")
    # Extra request headers of this event (WebSub's Link rel="hub"/rel="self", for one).
    headers = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["destination", "event_id"], name="delivery_once_per_destination"),
        ]
        indexes = [
            # What the dispatcher looks for: small, since delivered rows leave it.
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due_idx",
                condition=Q(status__in=["pending", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} → {self.destination} ({self.status})"


class DeliveryAttempt(models.Model):
    """One try of a delivery: what came back, how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(default=timezone.now)
    number = models.PositiveIntegerField()
    outcome = models.CharField(max_length=20)  # delivered, retry, failed, refused
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["delivery", "-at"], name="deliveryattempt_delivery_idx")]

    def __str__(self) -> str:
        return f"#{self.number} {self.outcome} {self.status_code or ''}".strip()
