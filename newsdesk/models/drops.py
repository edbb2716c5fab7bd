from __future__ import annotations

from django.db import models
from django.utils import timezone


class DropFile(models.Model):
    """One distinct file content ingested from a drop inbox.

    The unique (source, sha256) constraint is the file-level half of "never
    duplicated": a re-dropped identical file, or one returned to the inbox by
    the sweeper after its worker died between commit and move, finds its row
    and is recorded as a duplicate without touching any article. Written in the
    same transaction as the articles it produced.
    """

    source = models.ForeignKey("newsdesk.Source", on_delete=models.CASCADE, related_name="drop_files")
    sha256 = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    format = models.CharField(max_length=16, blank=True)
    encoding = models.CharField(max_length=32, blank=True)
    articles = models.PositiveIntegerField(default=0)
    attempt = models.ForeignKey(
        "newsdesk.FetchAttempt", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ingested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "sha256"], name="dropfile_unique_content")]

    def __str__(self) -> str:
        return f"{self.name} ({self.sha256[:12]})"
