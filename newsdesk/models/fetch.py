from __future__ import annotations

from django.db import models
from django.utils import timezone


class FetchAttempt(models.Model):
    """One row per poll of a feed or scan of a drop file."""

    class Outcome(models.TextChoices):
        OK = "ok", "OK"
        NOT_MODIFIED = "not_modified", "Not modified"
        UNCHANGED = "unchanged", "Unchanged body"
        DUPLICATE = "duplicate", "Duplicate file"
        ERROR = "error", "Error"

    source = models.ForeignKey("newsdesk.Source", on_delete=models.CASCADE, related_name="fetch_attempts")
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.OK)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    bytes = models.PositiveBigIntegerField(default=0)
    items_new = models.PositiveIntegerField(default=0)
    items_updated = models.PositiveIntegerField(default=0)
    items_unchanged = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    detail = models.TextField(blank=True, help_text="Bozo reason, file name, and similar notes.")

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["source", "-started_at"], name="fetch_source_idx"),
            # Retention pruning, recent-window metrics and the stats page.
            models.Index(fields=["started_at"], name="fetch_started_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} {self.outcome} @ {self.started_at:%Y-%m-%d %H:%M}"
