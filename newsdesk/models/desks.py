"""Editors' saved views ("desks") and the secret tokens of their private feeds."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class SavedView(models.Model):
    """A named dashboard filter set belonging to one editor.

    ``query`` is the canonical query string produced by ``ArticleFilter``, so
    the dashboard, its feeds and the saved view's token feeds all read it
    through the same allowlisted parser. ``seen_article_id`` is the highest
    article id when the editor last opened the view: counting newer ids is a
    primary-key range scan, cheap however large the table grows.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=120)
    query = models.CharField(max_length=1000, blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    last_opened_at = models.DateTimeField(null=True, blank=True)
    seen_article_id = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["owner", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="savedview_unique_name_per_owner"),
        ]
        indexes = [models.Index(fields=["owner", "position"], name="savedview_owner_position_idx")]

    def __str__(self) -> str:
        return self.name


class FeedToken(models.Model):
    """The secret of a saved view's private feed URLs, stored only as a SHA-256 digest.

    The raw token (``secrets.token_urlsafe(32)``, 256 bits) is shown once, when
    it is made. A revoked row is kept (``revoked_at`` set) so the history of
    who could read a desk stays auditable; at most one live token per view.
    """

    saved_view = models.ForeignKey(SavedView, on_delete=models.CASCADE, related_name="feed_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["saved_view"], condition=Q(revoked_at__isnull=True), name="feedtoken_one_live_per_view"
            ),
        ]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "live"
        return f"Feed token for {self.saved_view} ({state})"


class DeskVisit(models.Model):
    """Where "new since your last visit" begins on an editor's unfiltered dashboard.

    The same state as :attr:`SavedView.seen_article_id`, for the dashboard with
    no filters: the highest article id when the editor last opened it.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="desk_visit")
    seen_article_id = models.BigIntegerField(default=0)
    visited_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user} saw up to {self.seen_article_id}"


class ApiToken(models.Model):
    """A read API token (``Authorization: Bearer …``), stored only as a SHA-256 digest.

    Each editor makes and revokes their own; the raw token is shown once. A
    revoked row is kept for the record. ``prefix`` (the first characters of
    the raw token) lets an editor tell their tokens apart.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=120)
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["owner", "-created_at"]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "live"
        return f"{self.name} ({self.prefix}…, {state})"
