from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.utils import timezone

from newsdesk.models import Article, FetchAttempt, Source, Story, Translation


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "kind",
        "country",
        "language",
        "enabled",
        "last_success_at",
        "error_count",
        "last_error_short",
        "items_per_day",
        "next_poll_at",
    )
    list_filter = ("kind", "enabled", "country", "language")
    search_fields = ("name", "url", "inbox")
    readonly_fields = (
        "state",
        "state_changed_at",
        "etag",
        "last_modified",
        "content_hash",
        "error_count",
        "last_error",
        "last_error_at",
        "first_error_at",
        "last_success_at",
        "last_polled_at",
        "items_per_day",
        "created_at",
        "updated_at",
    )
    actions = ("poll_now", "enable", "disable")

    @admin.display(description="Last error")
    def last_error_short(self, obj: Source) -> str:
        return obj.last_error[:80]

    @admin.action(description="Poll selected sources now")
    def poll_now(self, request, queryset) -> None:
        from newsdesk.tasks import poll_source

        ids = list(queryset.values_list("id", flat=True))
        queryset.update(next_poll_at=timezone.now())
        for source_id in ids:
            transaction.on_commit(lambda sid=source_id: poll_source.delay(sid))
        self.message_user(request, f"Queued {len(ids)} source(s) for polling.", messages.SUCCESS)

    @admin.action(description="Enable selected sources")
    def enable(self, request, queryset) -> None:
        n = queryset.update(enabled=True, disabled_reason="", next_poll_at=timezone.now())
        self.message_user(request, f"Enabled {n} source(s).", messages.SUCCESS)

    @admin.action(description="Disable selected sources")
    def disable(self, request, queryset) -> None:
        n = queryset.update(enabled=False, disabled_reason="Disabled by an admin.")
        self.message_user(request, f"Disabled {n} source(s).", messages.SUCCESS)


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("display_title", "source", "country", "language", "translation_status", "published_at", "story")
    list_filter = ("translation_status", "country", "language")
    search_fields = ("title_orig", "title_en", "dedupe_key")
    raw_id_fields = ("source", "story")
    list_select_related = ("source", "story")
    date_hierarchy = "published_at"
    actions = ("retranslate",)

    @admin.action(description="Re-translate selected articles")
    def retranslate(self, request, queryset) -> None:
        from newsdesk.models import TranslationStatus
        from newsdesk.tasks import retranslate_article

        ids = list(queryset.values_list("id", flat=True))
        # Pending at once (the card shows the badge) with a fresh attempt count.
        queryset.update(translation_status=TranslationStatus.PENDING, translation_error="", translation_attempts=0)
        for article_id in ids:
            transaction.on_commit(lambda aid=article_id: retranslate_article.delay(aid))
        self.message_user(request, f"Queued {len(ids)} article(s) for translation.", messages.SUCCESS)


@admin.register(Story)
class StoryAdmin(admin.ModelAdmin):
    list_display = ("headline", "article_count", "source_count", "country_count", "language_count", "last_published_at")
    search_fields = ("headline",)
    raw_id_fields = ("merged_into",)


@admin.register(FetchAttempt)
class FetchAttemptAdmin(admin.ModelAdmin):
    list_display = (
        "source",
        "started_at",
        "outcome",
        "http_status",
        "bytes",
        "items_new",
        "items_updated",
        "duration_ms",
        "error",
    )
    list_filter = ("outcome",)
    raw_id_fields = ("source",)
    list_select_related = ("source",)


@admin.register(Translation)
class TranslationAdmin(admin.ModelAdmin):
    list_display = ("provider", "source_language", "target_language", "characters", "created_at")
    list_filter = ("provider", "source_language")


# Dead letters (newsdesk/ops/admin.py registers them).
from newsdesk.ops import admin as _ops_admin  # noqa: E402, F401
