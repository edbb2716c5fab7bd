"""Editors' corrections of Similar Coverage: who decided what about which articles, and when."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class StoryDecisionKind(models.TextChoices):
    SPLIT = "split", "Not the same story"
    MOVE = "move", "Moved to another story"
    MERGE = "merge", "Stories merged"


class StoryDecision(models.Model):
    """One editor decision, kept as article pairs so it outlives story ids.

    ``subject`` are the articles the editor acted on (the article taken out
    or moved; for a merge, the members of the story merged away), ``must``
    the articles they must share a story with from now on, ``cannot`` those
    they must never share one with (:mod:`newsdesk.coverage.links`). Assignment,
    refinement and ``recluster`` all read them; an undone decision
    (``undone_at`` set) no longer binds and stays as history.
    """

    kind = models.CharField(max_length=8, choices=StoryDecisionKind.choices)
    article = models.ForeignKey(
        "newsdesk.Article", null=True, blank=True, on_delete=models.CASCADE, related_name="story_decisions"
    )
    story = models.ForeignKey(
        "newsdesk.Story",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The story the article was taken from, or the story merged away.",
    )
    target = models.ForeignKey(
        "newsdesk.Story",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Where the article was moved, or the story that absorbed the merged one.",
    )
    subject = models.JSONField(default=list, help_text="Article ids the editor acted on.")
    must = models.JSONField(default=list, help_text="Article ids the subject must share a story with.")
    cannot = models.JSONField(default=list, help_text="Article ids the subject must never share a story with.")
    editor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # What binds the machine: the decisions not undone.
            models.Index(fields=["id"], condition=models.Q(undone_at__isnull=True), name="story_decision_active_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def active(self) -> bool:
        return self.undone_at is None
