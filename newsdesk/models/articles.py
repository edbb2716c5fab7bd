from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils import timezone

from newsdesk.languages import display_summary, display_title
from newsdesk.languages import original_language as original_language

from .shown import FeedShownQuerySet


class TranslationStatus(models.TextChoices):
    NOT_NEEDED = "not_needed", "Not needed"
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Article(models.Model):
    objects = FeedShownQuerySet.as_manager()  # every write moves the feed version

    source = models.ForeignKey("newsdesk.Source", on_delete=models.CASCADE, related_name="articles", db_index=False)
    # guid, else canonical link, else hash of title and date; unique per source.
    dedupe_key = models.CharField(max_length=255)
    url = models.URLField(max_length=2000, blank=True)
    author = models.CharField(max_length=300, blank=True)
    category = models.CharField(max_length=200, blank=True)

    # As published.
    title_orig = models.TextField()
    summary_orig = models.TextField(blank=True)
    content_orig = models.TextField(blank=True, help_text="Sanitised HTML.")
    content_hash = models.CharField(max_length=64, blank=True, help_text="Hash of title+summary+content.")

    # Language: what the feed or card declared, and what we detected.
    language_declared = models.CharField(max_length=8, blank=True)
    language_detected = models.CharField(max_length=8, blank=True)
    language_confidence = models.FloatField(null=True, blank=True)
    language = models.CharField(max_length=8, blank=True, help_text="Effective original language.")
    # Denormalised from the source so the dashboard filters without a join.
    country = models.CharField(max_length=2, blank=True)

    # English text.
    title_en = models.TextField(blank=True)
    summary_en = models.TextField(blank=True)
    content_en = models.TextField(blank=True)
    translation_status = models.CharField(
        max_length=12, choices=TranslationStatus.choices, default=TranslationStatus.PENDING
    )
    translation_provider = models.CharField(max_length=20, blank=True)
    translation_error = models.TextField(blank=True)
    translation_attempts = models.PositiveIntegerField(default=0)

    published_at = models.DateTimeField(default=timezone.now)
    fetched_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    enriched_at = models.DateTimeField(null=True, blank=True)

    # No single-column index on either foreign key (see ``source`` too): article_story_idx and
    # article_source_idx (and the unique constraint) lead with them, and every
    # index on this table is written again by each coverage assignment.
    story = models.ForeignKey(
        "newsdesk.Story", null=True, blank=True, on_delete=models.SET_NULL, related_name="articles", db_index=False
    )
    story_score = models.FloatField(null=True, blank=True)
    story_evidence = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "dedupe_key"], name="article_unique_per_source"),
        ]
        indexes = [
            models.Index(fields=["-published_at", "-id"], name="article_published_idx"),
            models.Index(fields=["country", "-published_at"], name="article_country_idx"),
            models.Index(fields=["language", "-published_at"], name="article_language_idx"),
            models.Index(fields=["source", "-published_at"], name="article_source_idx"),
            models.Index(fields=["story", "-published_at"], name="article_story_idx"),
            models.Index(fields=["translation_status"], name="article_translation_idx"),
            # The category filter is case-insensitive (UPPER(category) = UPPER(%s)): this index
            # serves it in date order, and gives the planner statistics on the expression.
            models.Index(Upper("category"), F("published_at").desc(), name="article_category_ci_idx"),
            # Articles not enriched or in no story: what the retry sweep looks
            # for (a lost enrich message, a lost assignment). Small: every
            # article is enriched and joins a story within seconds.
            models.Index(
                fields=["enriched_at"],
                name="article_unassigned_idx",
                condition=Q(story__isnull=True) | Q(enriched_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.display_title[:80]

    @property
    def original_language(self) -> str:
        """The language the story was first written in, for the card's brackets.

        A card dropped as text already in English for a Spanish outlet (the
        seed card: "El Financiero (ES)") carries a translation: the text is
        English, but the original is the declared language. Otherwise the
        effective language (detected when confident) is the original.
        """
        return original_language(language=self.language, declared=self.language_declared)

    # English when we have it, else the original (newsdesk/languages.py).
    display_title = property(display_title)
    display_summary = property(display_summary)

    @property
    def needs_translation_badge(self) -> bool:
        return self.translation_status in (TranslationStatus.PENDING, TranslationStatus.FAILED)
