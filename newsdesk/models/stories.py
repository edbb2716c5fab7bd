from __future__ import annotations

from django.db import models

from .shown import FeedShownQuerySet


class Story(models.Model):
    """A group of articles covering the same event ("Similar Coverage").

    The counters are denormalised so the dashboard can filter and sort by
    coverage without aggregating over articles; the coverage stage keeps
    them current whenever it changes membership.
    """

    objects = FeedShownQuerySet.as_manager()  # every write moves the feed version

    headline = models.TextField(blank=True, help_text="English headline of the story.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    first_published_at = models.DateTimeField(null=True, blank=True)
    last_published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    article_count = models.PositiveIntegerField(default=0)
    source_count = models.PositiveIntegerField(default=0)
    country_count = models.PositiveIntegerField(default=0)
    language_count = models.PositiveIntegerField(default=0)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )

    class Meta:
        verbose_name_plural = "stories"
        indexes = [
            # "Most covered": stories by outlet count, newest story first
            # (also serves the minimum-coverage filter).
            models.Index(fields=["-source_count", "-id"], name="story_coverage_idx"),
        ]

    def __str__(self) -> str:
        return self.headline[:80] or f"Story {self.pk}"
