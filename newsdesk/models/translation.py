from __future__ import annotations

from django.db import models


class Translation(models.Model):
    """Cache of provider output: one row per unique text, language pair and provider.

    A unique text is translated at most once per provider, ever, so identical
    wire copies carried by many outlets cost one call.
    """

    text_hash = models.CharField(max_length=64)
    source_language = models.CharField(max_length=8)
    target_language = models.CharField(max_length=8)
    provider = models.CharField(max_length=20)
    translated = models.TextField()
    characters = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["text_hash", "source_language", "target_language", "provider"],
                name="translation_unique_text",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.source_language}->{self.target_language}:{self.text_hash[:10]}"


class ProviderUsage(models.Model):
    """Characters and calls sent to one provider on one UTC day.

    Backs the daily character budget (reserved before a call with one
    conditional UPDATE, so concurrent workers cannot overspend) and shows
    in admin what translation costs.
    """

    provider = models.CharField(max_length=20)
    day = models.DateField()
    characters = models.PositiveBigIntegerField(default=0)
    calls = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "day"], name="provider_usage_unique_day")]
        ordering = ["-day", "provider"]

    def __str__(self) -> str:
        return f"{self.provider} {self.day}: {self.characters} chars"
