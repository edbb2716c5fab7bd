from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from .shown import SourceQuerySet


class SourceKind(models.TextChoices):
    FEED = "feed", "Feed (RSS/Atom/JSON Feed URL)"
    DROP = "drop", "File drop (inbox folder)"


class SourceState(models.TextChoices):
    """Where a source is in the polling cycle.

    The dispatcher moves a due source to QUEUED and sends a message; the
    worker moves it to POLLING and back to IDLE. A source stuck in QUEUED or
    POLLING longer than the visibility timeout lost its message or its worker,
    and the dispatcher queues it again.
    """

    IDLE = "idle", "Idle"
    QUEUED = "queued", "Queued"
    POLLING = "polling", "Polling"


class Source(models.Model):
    objects = SourceQuerySet.as_manager()  # a rename moves the feed version

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=SourceKind.choices, default=SourceKind.FEED)
    url = models.URLField(max_length=2000, blank=True, help_text="Feed URL (feed sources).")
    site_url = models.URLField(max_length=2000, blank=True, help_text="The outlet's home page.")
    inbox = models.CharField(
        max_length=200,
        blank=True,
        help_text="Inbox folder name under NEWSDESK_DROP_ROOT (drop sources).",
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outlets",
        help_text="For outlets first seen in a drop: the drop source that delivered them.",
    )
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2, e.g. MX.")
    language = models.CharField(max_length=8, blank=True, help_text="Outlet language, ISO 639-1, e.g. es.")
    category = models.CharField(max_length=100, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.TextField(blank=True)

    # Scheduling. The database is the source of truth; Redis only carries wake-ups.
    poll_interval = models.PositiveIntegerField(default=900, help_text="Seconds between polls.")
    next_poll_at = models.DateTimeField(default=timezone.now, db_index=True)
    state = models.CharField(max_length=8, choices=SourceState.choices, default=SourceState.IDLE)
    state_changed_at = models.DateTimeField(null=True, blank=True)

    # HTTP caching.
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)

    # Health.
    error_count = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    first_error_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    items_per_day = models.FloatField(default=0.0)
    # While the source's hub pushes to us (a live WebSub subscription, newsdesk/ingest/push.py),
    # polls are relaxed up to this time, the lease's end; then the usual schedule is back.
    push_until = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["enabled", "next_poll_at"], name="source_due_idx"),
            models.Index(fields=["country"], name="source_country_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["url"],
                condition=models.Q(kind="feed") & ~models.Q(url=""),
                name="source_unique_feed_url",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.kind == SourceKind.FEED and not self.url and self.parent_id is None:
            raise ValidationError({"url": "A feed source needs a URL."})
        if self.kind == SourceKind.DROP and not self.inbox:
            raise ValidationError({"inbox": "A drop source needs an inbox folder name."})
        if self.country:
            self.country = self.country.upper()
        if self.language:
            self.language = self.language.lower()
