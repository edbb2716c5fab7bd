"""Alerts on saved views: a new matching story, or one spreading to N outlets, countries or languages."""

from __future__ import annotations

import uuid

from django.db import models

from .delivery import Destination


class AlertMetric(models.TextChoices):
    NEW_STORY = "new_story", "A new matching story"
    OUTLETS = "outlets", "Covered by N outlets"
    COUNTRIES = "countries", "Covered in N countries"
    LANGUAGES = "languages", "Covered in N languages"


class Alert(models.Model):
    """An editor's alert on one of their saved views.

    ``thresholds`` holds the levels that each fire once per story, e.g.
    ``[3, 5, 10]`` for "covered in 3, then 5, then 10 countries"; a new-story
    alert has the single level 1. ``checked_at`` is the last sweep: the next
    one looks only at stories changed since (with a margin).
    """

    saved_view = models.ForeignKey("newsdesk.SavedView", on_delete=models.CASCADE, related_name="alerts")
    name = models.CharField(max_length=120)
    metric = models.CharField(max_length=12, choices=AlertMetric.choices)
    thresholds = models.JSONField(default=list)
    webhook = models.OneToOneField(
        Destination, null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_alert"
    )
    email = models.OneToOneField(
        Destination, null=True, blank=True, on_delete=models.SET_NULL, related_name="email_alert"
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["saved_view", "id"]

    def __str__(self) -> str:
        return self.name


class AlertEvent(models.Model):
    """One alert firing: (alert, story, threshold) at most once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    story = models.ForeignKey("newsdesk.Story", null=True, on_delete=models.SET_NULL, related_name="+")
    story_ref = models.BigIntegerField(help_text="The story's id when it fired (kept if the story goes).")
    threshold = models.PositiveIntegerField()
    value = models.PositiveIntegerField(help_text="The story's figure when it fired.")
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "story_ref", "threshold"], name="alertevent_once"),
        ]

    def __str__(self) -> str:
        return f"{self.alert} ≥{self.threshold} story {self.story_ref}"


class AlertCovered(models.Model):
    """An article whose story already fired (alert, threshold).

    Stories are split and merged (the refinement pass, editors), and ids
    change with them; the articles do not. A story whose members include a
    covered article has already been sent for that threshold, whatever its
    id now. Later members are added when a sweep sees them, so a split that
    moves them out does not fire again either.
    """

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="+", db_index=False)
    threshold = models.PositiveIntegerField()
    article = models.ForeignKey("newsdesk.Article", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "threshold", "article"], name="alertcovered_once"),
        ]

    def __str__(self) -> str:
        return f"{self.alert_id}≥{self.threshold}: {self.article_id}"
