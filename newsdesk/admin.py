from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from newsdesk.models import Article, FetchAttempt, Source, SourceKind, Story, Translation


class SourceHealthFilter(admin.SimpleListFilter):
    """Lets an admin list failing sources (and the other states of health)."""

    title = "health"
    parameter_name = "health"

    def lookups(self, request, model_admin):
        return (
            ("failing", "Failing (errors since last success)"),
            ("disabled", "Disabled"),
            ("healthy", "Healthy"),
            ("never", "Never polled"),
        )

    def queryset(self, request, queryset):
        value = self.value()
        if value == "failing":
            return queryset.filter(error_count__gt=0)
        if value == "disabled":
            return queryset.filter(enabled=False)
        if value == "healthy":
            return queryset.filter(enabled=True, error_count=0, last_success_at__isnull=False)
        if value == "never":
            return queryset.filter(last_polled_at__isnull=True)
        return queryset


class SourceAdminForm(forms.ModelForm):
    """Finds the feed when an admin enters a website's address."""

    class Meta:
        model = Source
        fields = "__all__"

    discovered: list = []

    def clean(self):
        from newsdesk.ingest.discover import DiscoveryFailed, feeds_discover
        from newsdesk.ingest.fetch import FetchError

        cleaned = super().clean()
        self.discovered = []
        url = cleaned.get("url") or ""
        if cleaned.get("kind") != SourceKind.FEED or not url or "url" not in self.changed_data:
            return cleaned
        try:
            feeds = feeds_discover(url=url)
        except FetchError as exc:
            raise forms.ValidationError({"url": f"Could not fetch this address: {exc}"}) from exc
        except DiscoveryFailed as exc:
            raise forms.ValidationError({"url": f"No feed found: {exc}"}) from exc
        self.discovered = feeds
        if feeds[0].url != url:
            cleaned["url"] = feeds[0].url
            self.instance.url = feeds[0].url
            if not cleaned.get("site_url"):
                cleaned["site_url"] = url
                self.instance.site_url = url
        if not cleaned.get("name") and feeds[0].title:
            cleaned["name"] = feeds[0].title[:200]
        return cleaned


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    form = SourceAdminForm
    change_list_template = "admin/newsdesk/source/change_list.html"
    list_display = (
        "name",
        "kind",
        "country",
        "language",
        "enabled",
        "last_success_at",
        "last_error_at",
        "error_count",
        "last_error_short",
        "items_per_day",
        "poll_interval",
        "next_poll_at",
    )
    list_filter = (SourceHealthFilter, "kind", "enabled", "country", "language", "category")
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
    actions = ("poll_now", "enable", "disable", "preview", "export_selected_opml")

    @admin.display(description="Last error")
    def last_error_short(self, obj: Source) -> str:
        return obj.disabled_reason[:80] if not obj.enabled and obj.disabled_reason else obj.last_error[:80]

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("import-opml/", self.admin_site.admin_view(self.import_opml_view), name=f"{prefix}_import_opml"),
            path("export-opml/", self.admin_site.admin_view(self.export_opml_view), name=f"{prefix}_export_opml"),
            *super().get_urls(),
        ]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        found = getattr(form, "discovered", [])
        if found and (len(found) > 1 or found[0].url != form.data.get("url")):
            others = ", ".join(f.url for f in found[1:])
            self.message_user(
                request,
                f"Feed found: {found[0].url}" + (f" (also offered: {others})" if others else ""),
                messages.INFO,
            )

    @admin.action(description="Poll selected sources now")
    def poll_now(self, request, queryset) -> None:
        from newsdesk.tasks import poll_sources

        feeds = queryset.filter(kind=SourceKind.FEED)
        ids = list(feeds.filter(enabled=True).values_list("id", flat=True))
        skipped = feeds.filter(enabled=False).count()
        # Due now: the worker's claim then takes it even if a dispatcher tick got there first.
        Source.objects.filter(id__in=ids).update(next_poll_at=timezone.now())
        size = settings.NEWSDESK_POLL_BATCH_SIZE
        for start in range(0, len(ids), size):
            batch = ids[start : start + size]
            transaction.on_commit(lambda b=batch: poll_sources.apply_async((b,), queue=settings.NEWSDESK_POLL_QUEUE))
        note = f" {skipped} disabled source(s) skipped: enable them first, or use Preview." if skipped else ""
        self.message_user(request, f"Queued {len(ids)} source(s) for polling.{note}", messages.SUCCESS)

    @admin.action(description="Enable selected sources")
    def enable(self, request, queryset) -> None:
        n = queryset.update(
            enabled=True, disabled_reason="", next_poll_at=timezone.now(), error_count=0, first_error_at=None
        )
        self.message_user(request, f"Enabled {n} source(s).", messages.SUCCESS)

    @admin.action(description="Disable selected sources")
    def disable(self, request, queryset) -> None:
        n = queryset.update(enabled=False, disabled_reason=f"Disabled by {request.user.get_username()}.")
        self.message_user(request, f"Disabled {n} source(s).", messages.SUCCESS)

    @admin.action(description="Preview selected feeds (fetch and parse, store nothing)")
    def preview(self, request, queryset):
        from newsdesk.ingest.fetch import FetchError
        from newsdesk.ingest.parse import FeedRejected
        from newsdesk.ingest.poll import source_preview

        previews = []
        for source in queryset.filter(kind=SourceKind.FEED)[:10]:
            try:
                feed = source_preview(source=source)
            except (FetchError, FeedRejected) as exc:
                previews.append({"source": source, "error": str(exc), "feed": None})
            else:
                previews.append({"source": source, "error": "", "feed": feed, "items": feed.items[:50]})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Feed preview",
            "previews": previews,
        }
        return TemplateResponse(request, "admin/newsdesk/source/preview.html", context)

    @admin.action(description="Export selected as OPML")
    def export_selected_opml(self, request, queryset):
        return self._opml_response(queryset)

    def _opml_response(self, queryset) -> HttpResponse:
        from newsdesk.ingest.opml import opml_export

        data = opml_export(sources=queryset.filter(kind=SourceKind.FEED).order_by("category", "name"))
        response = HttpResponse(data, content_type="text/x-opml; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="newsdesk-sources.opml"'
        return response

    def export_opml_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return self._opml_response(Source.objects.all())

    def import_opml_view(self, request):
        from newsdesk.ingest.opml import OpmlRejected, opml_import, opml_parse

        if not self.has_add_permission(request):
            raise PermissionDenied
        report = None
        form = OpmlUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                report = opml_import(document=opml_parse(data=upload.read()))
            except OpmlRejected as exc:
                form.add_error("file", str(exc))
            else:
                self.message_user(request, f"OPML import: {report.summary()}", messages.SUCCESS)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import sources from OPML",
            "form": form,
            "report": report,
        }
        return TemplateResponse(request, "admin/newsdesk/source/import_opml.html", context)


class OpmlUploadForm(forms.Form):
    file = forms.FileField(help_text="An OPML file exported from another feed reader (up to 5 MB).")


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
        from newsdesk.changes import articles_changed
        from newsdesk.models import TranslationStatus
        from newsdesk.tasks import retranslate_article

        ids = list(queryset.values_list("id", flat=True))
        # Pending at once (the card shows the badge) with a fresh attempt count.
        queryset.update(translation_status=TranslationStatus.PENDING, translation_error="", translation_attempts=0)
        articles_changed()  # QuerySet.update sends no signal; feeds show the status
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


# Dead letters, the file-drop ledger, saved views and story decisions (their own admin modules register them).
from newsdesk.accounts import admin as _accounts_admin  # noqa: E402, F401
from newsdesk.coverage import admin as _coverage_admin  # noqa: E402, F401
from newsdesk.drops import admin as _drops_admin  # noqa: E402, F401
from newsdesk.ops import admin as _ops_admin  # noqa: E402, F401
