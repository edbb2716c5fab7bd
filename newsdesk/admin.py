from __future__ import annotations

from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from newsdesk.enrich.retranslate import articles_retranslate_mark
from newsdesk.ingest.sources import sources_disable, sources_enable, sources_poll_now
from newsdesk.languages import language_name, language_note, original_language_q
from newsdesk.models import Article, FetchAttempt, Source, SourceKind, Story, Translation, TranslationStatus

# newsdesk.tasks (and through it lingua, feedparser, the translation clients)
# is imported inside the two actions that queue work, not here: django.setup()
# imports this module in every process, beat's too, which queues tasks by
# name and needs none of that (docs/benchmarks.md, "Memory of the production
# process set"; tests/test_prefork.py holds beat's imports to it).

admin.site.site_header = "Newsdesk admin"
admin.site.site_title = "Newsdesk admin"
admin.site.index_title = "Sources, articles and stories"
# The source list's health columns need the width (at 1366 px the sidebar cut off "Last error");
# the breadcrumbs and the home page still lead everywhere.
admin.site.enable_nav_sidebar = False

# Django 6 makes https the scheme assumed for a URL typed without one; say so now
# (and without the RemovedInDjango60Warning every URL form field raised).
URL_FIELDS = {models.URLField: {"assume_scheme": "https"}}


def url_formfield(field, **kwargs):
    """ModelForm ``formfield_callback``: URL fields assume https, as Django 6 will."""
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


SSRF_HELP = (
    "Newsdesk refuses private, loopback and link-local addresses so that a feed URL cannot reach "
    "internal services. To poll an intranet feed, add its network to NEWSDESK_FETCH_ALLOWED_NETWORKS "
    "(for example 10.0.0.0/8; see the README's Settings) and restart web and workers."
)


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
        formfield_callback = url_formfield

    discovered: list = []

    def clean(self):
        from newsdesk.ingest.discover import DiscoveryFailed, feeds_discover
        from newsdesk.ingest.fetch import FetchError

        cleaned = super().clean()
        self.discovered = []
        url = cleaned.get("url") or ""
        kind = cleaned.get("kind", self.instance.kind)
        if kind != SourceKind.FEED or not url or "url" not in self.changed_data:
            return cleaned
        # A refused URL is still the URL the admin typed: the model's own check
        # ("a feed source needs a URL") must not contradict the field.
        self.instance.url = url
        try:
            feeds = feeds_discover(url=url)
        except FetchError as exc:
            if exc.kind == "ssrf":
                raise forms.ValidationError({"url": f"Refused: {exc}. {SSRF_HELP}"}) from exc
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


SOURCE_FIELDS = ("name", "country", "language", "category", "enabled")
# What the system keeps about a source: shown read-only, folded away.
POLLING_FIELDS = ("state", "state_changed_at", "poll_interval", "next_poll_at", "last_polled_at", "items_per_day")
HTTP_FIELDS = ("etag", "last_modified", "content_hash")
HEALTH_FIELDS = ("error_count", "last_error", "last_error_at", "first_error_at", "last_success_at", "disabled_reason")
COLLAPSED = ("collapse",)


def source_kind_of(*, request, obj: Source | None) -> str:
    """The kind the form is for: the object's, else the add URL's ``?kind=`` (feed by default)."""
    if obj is not None:
        return obj.kind
    return SourceKind.DROP if request.GET.get("kind") == SourceKind.DROP else SourceKind.FEED


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    form = SourceAdminForm
    formfield_overrides = URL_FIELDS
    change_list_template = "admin/newsdesk/source/change_list.html"
    list_display = (
        "name",
        "kind_label",
        "country",
        "language",
        "enabled",
        "health",
        "items_per_day",
        "next_poll",
        "last_error_short",
    )
    list_filter = (SourceHealthFilter, "kind", "enabled", "country", "language", "category")
    search_fields = ("name", "url", "inbox")
    readonly_fields = (
        "kind",
        "parent",
        *POLLING_FIELDS,
        *HTTP_FIELDS,
        *HEALTH_FIELDS,
        "created_at",
        "updated_at",
    )
    actions = ("poll_now", "enable", "disable", "preview", "export_selected_opml")

    def get_fieldsets(self, request, obj=None):
        kind = source_kind_of(request=request, obj=obj)
        if kind == SourceKind.DROP:
            where = (
                "Drop inbox",
                {
                    "fields": ("inbox",),
                    "description": "A folder under NEWSDESK_DROP_ROOT. Files dropped there become articles "
                    "(README, 'File drops'); the outlets they name are created as their own sources.",
                },
            )
        elif obj is not None and obj.parent_id:
            where = ("Delivered by", {"fields": ("parent", "site_url"), "description": "First seen in a drop."})
        else:
            where = (
                "Feed",
                {
                    "fields": ("url", "site_url"),
                    "description": "An RSS, Atom or JSON Feed URL, or the website's address: its feed is "
                    "found for you. Polling adapts to how often the feed publishes.",
                },
            )
        fieldsets = [(None, {"fields": SOURCE_FIELDS}), where]
        if obj is None:
            return fieldsets
        fieldsets.append(("Health", {"fields": HEALTH_FIELDS, "classes": () if obj.error_count else COLLAPSED}))
        if kind == SourceKind.FEED and not obj.parent_id:
            fieldsets.append(("Polling (adaptive; read-only)", {"fields": POLLING_FIELDS, "classes": COLLAPSED}))
            fieldsets.append(("HTTP caching (read-only)", {"fields": HTTP_FIELDS, "classes": COLLAPSED}))
        fieldsets.append(("Record", {"fields": ("kind", "created_at", "updated_at"), "classes": COLLAPSED}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_form(self, request, obj=None, change=False, **kwargs):
        kind = source_kind_of(request=request, obj=obj)

        class KindForm(SourceAdminForm):
            def __init__(self, *args, **form_kwargs):
                super().__init__(*args, **form_kwargs)
                self.instance.kind = kind

        kwargs["form"] = KindForm
        return super().get_form(request, obj, change=change, **kwargs)

    def add_view(self, request, form_url="", extra_context=None):
        kind = source_kind_of(request=request, obj=None)
        title = "Add a drop inbox" if kind == SourceKind.DROP else "Add a feed"
        return super().add_view(request, form_url, {**(extra_context or {}), "title": title})

    @admin.display(description="Kind", ordering="kind")
    def kind_label(self, obj: Source) -> str:
        if obj.kind == SourceKind.DROP:
            return "drop inbox"
        return "drop outlet" if obj.parent_id and not obj.url else "feed"

    @admin.display(description="Health")
    def health(self, obj: Source) -> str:
        if not obj.enabled:
            return "disabled"
        if obj.error_count:
            return f"failing ({obj.error_count} in a row)"
        if obj.kind == SourceKind.FEED and obj.parent_id and not obj.url:
            return "—"
        if obj.last_success_at is None:
            return "not fetched yet"
        return f"ok, {naturaltime(obj.last_success_at)}"

    @admin.display(description="Next poll", ordering="next_poll_at")
    def next_poll(self, obj: Source) -> str:
        if obj.kind != SourceKind.FEED or not obj.url or not obj.enabled:
            return "—"
        return naturaltime(obj.next_poll_at)

    @admin.display(description="Last error")
    def last_error_short(self, obj: Source) -> str:
        text = obj.disabled_reason if not obj.enabled and obj.disabled_reason else obj.last_error
        if len(text) <= 80:
            return text
        return format_html('<span title="{}">{}…</span>', text, text[:79])

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("import-opml/", self.admin_site.admin_view(self.import_opml_view), name=f"{prefix}_import_opml"),
            path("export-opml/", self.admin_site.admin_view(self.export_opml_view), name=f"{prefix}_export_opml"),
            *super().get_urls(),
        ]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if obj.kind == SourceKind.DROP and not change:
            folder = Path(settings.NEWSDESK_DROP_ROOT) / obj.inbox
            self.message_user(
                request,
                f"Drop files into {folder}/ (created at the next scan, within "
                f"{settings.NEWSDESK_DROP_SCAN_SECONDS:g} seconds; watch_drops takes them at once).",
                messages.INFO,
            )
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
        from newsdesk.tasks import sources_poll_enqueue  # lazily: see the note at the imports

        now = sources_poll_now(source_ids=queryset.values_list("id", flat=True))
        queued = sources_poll_enqueue(source_ids=now.due)
        note = f" {now.disabled} disabled source(s) skipped: enable them first, or use Preview." if now.disabled else ""
        self.message_user(request, f"Queued {queued} source(s) for polling.{note}", messages.SUCCESS)

    @admin.action(description="Enable selected sources")
    def enable(self, request, queryset) -> None:
        n = sources_enable(source_ids=queryset.values_list("id", flat=True))
        self.message_user(request, f"Enabled {n} source(s).", messages.SUCCESS)

    @admin.action(description="Disable selected sources")
    def disable(self, request, queryset) -> None:
        n = sources_disable(
            source_ids=queryset.values_list("id", flat=True), reason=f"Disabled by {request.user.get_username()}."
        )
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


class OriginalLanguageFilter(admin.SimpleListFilter):
    """The dashboard's "Original language" filter (newsdesk/languages.py), not the raw column."""

    title = "original language"
    parameter_name = "original_language"

    def lookups(self, request, model_admin):
        codes = set(Source.objects.exclude(language="").values_list("language", flat=True).distinct())
        codes |= set(Article.objects.order_by().exclude(language="").values_list("language", flat=True).distinct())
        return sorted(((code, language_name(code)) for code in codes), key=lambda pair: pair[1])

    def queryset(self, request, queryset):
        return queryset.filter(original_language_q([self.value()])) if self.value() else queryset


ARTICLE_INTERNALS = ("dedupe_key", "content_hash", "fetched_at", "updated_at", "enriched_at", "translation_attempts")


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    """A readable article: original and English side by side, language facts, why it joined its story."""

    list_display = (
        "display_title",
        "source",
        "country",
        "original_language_label",
        "translation_status",
        "published_at",
        "story",
    )
    list_filter = ("translation_status", "country", OriginalLanguageFilter)
    formfield_overrides = URL_FIELDS
    search_fields = ("title_orig", "title_en", "dedupe_key")
    raw_id_fields = ("source", "story")
    list_select_related = ("source", "story")
    date_hierarchy = "published_at"
    actions = ("retranslate",)
    fieldsets = (
        (None, {"fields": ("source", "published_at", "url", "author", "category")}),
        ("Text: original and English", {"fields": ("side_by_side",)}),
        ("Language", {"fields": ("language_facts",)}),
        ("Translation", {"fields": ("translation_facts",)}),
        ("Similar Coverage", {"fields": ("story", "coverage_evidence")}),
        ("Stored internals (read-only)", {"fields": ARTICLE_INTERNALS, "classes": COLLAPSED}),
    )
    readonly_fields = ("side_by_side", "language_facts", "translation_facts", "coverage_evidence", *ARTICLE_INTERNALS)

    class Media:
        css = {"all": ("newsdesk/admin.css",)}

    def has_add_permission(self, request) -> bool:
        return False  # articles come from feeds, drops and ingest, never typed in

    @admin.display(description="Original language", ordering="language")
    def original_language_label(self, obj: Article) -> str:
        code = obj.original_language
        return f"{language_name(code)} ({code.upper()})" if code else "—"

    @admin.display(description="")
    def side_by_side(self, obj: Article) -> str:
        lang = obj.original_language or "und"
        rows = [
            ("Title", obj.title_orig, obj.title_en),
            ("Summary", obj.summary_orig, obj.summary_en),
        ]
        body = format_html_join(
            "",
            '<tr><th scope="row">{}</th><td lang="{}">{}</td><td lang="en">{}</td></tr>',
            ((label, lang, orig, english or "—") for label, orig, english in rows),
        )
        return format_html(
            '<table class="nd-side-by-side"><thead><tr><th></th><th scope="col">Original ({})</th>'
            '<th scope="col">English</th></tr></thead><tbody>{}</tbody></table>',
            language_name(lang) if lang != "und" else "unknown language",
            body,
        )

    @admin.display(description="")
    def language_facts(self, obj: Article) -> str:
        note = language_note(language=obj.language, declared=obj.language_declared, detected=obj.language_detected)
        confidence = f"{obj.language_confidence:.2f}" if obj.language_confidence is not None else "—"
        return format_html(
            "<p>Original language: <strong>{}</strong></p>"
            "<p>Declared: {} · detected: {} (confidence {}) · text in: {}</p>{}",
            language_name(obj.original_language) if obj.original_language else "unknown",
            language_name(obj.language_declared) if obj.language_declared else "—",
            language_name(obj.language_detected) if obj.language_detected else "not yet",
            confidence,
            language_name(obj.language) if obj.language else "—",
            format_html("<p><em>{}</em></p>", note) if note else "",
        )

    @admin.display(description="")
    def translation_facts(self, obj: Article) -> str:
        return format_html(
            "<p>Status: <strong>{}</strong>{}{}</p><p>Attempts: {}</p>",
            obj.get_translation_status_display(),
            format_html(" by {}", obj.translation_provider) if obj.translation_provider else "",
            format_html(" — {}", obj.translation_error) if obj.translation_error else "",
            obj.translation_attempts,
        )

    @admin.display(description="Why it joined")
    def coverage_evidence(self, obj: Article) -> str:
        evidence = obj.story_evidence or {}
        if not obj.story_id:
            return "Not in a story yet."
        if not evidence.get("score"):
            return "It started this story (or joined it without a scored match)."
        matched = evidence.get("matched_article")
        parts = [format_html("<p>Score {}", f"{float(evidence['score']):.2f}")]
        if matched:
            url = reverse("admin:newsdesk_article_change", args=[matched])
            parts.append(format_html(' against <a href="{}">article {}</a>', url, matched))
        parts.append(mark_safe("</p>"))
        for label, key in (("Shared terms", "shared_terms"), ("Shared names", "shared_names")):
            values = evidence.get(key) or []
            if values:
                parts.append(format_html("<p>{}: {}</p>", label, ", ".join(str(v) for v in values)))
        return format_html("{}", mark_safe("".join(parts)))  # noqa: S308 - every part is format_html

    @admin.action(description="Re-translate selected articles")
    def retranslate(self, request, queryset) -> None:
        from newsdesk.tasks import articles_retranslate_enqueue  # lazily: see the note at the imports

        ids = articles_retranslate_mark(article_ids=queryset.values_list("id", flat=True))
        queued = articles_retranslate_enqueue(article_ids=ids)
        self.message_user(request, f"Queued {queued} article(s) for translation.", messages.SUCCESS)


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
    """The translation cache, under a summary of where translation stands (providers, use, pending articles)."""

    change_list_template = "admin/newsdesk/translation/change_list.html"
    list_display = ("provider", "source_language", "target_language", "characters", "created_at")
    list_filter = ("provider", "source_language")

    def has_add_permission(self, request) -> bool:
        return False  # rows are written by the translation stage only

    def changelist_view(self, request, extra_context=None):
        from django.db.models import Count

        from newsdesk.enrich.status import provider_statuses
        from newsdesk.models import ProviderUsage

        try:
            statuses = provider_statuses()
        except Exception:  # Redis down: the page still lists the cache
            statuses = []
        counts = dict(Article.objects.values_list("translation_status").annotate(n=Count("id")).order_by())
        context = {
            "providers": statuses,
            "usage": ProviderUsage.objects.order_by("-day", "provider")[:21],
            "article_counts": [(label, counts.get(value, 0)) for value, label in TranslationStatus.choices],
        }
        return super().changelist_view(request, {**context, **(extra_context or {})})


# Dead letters, the file-drop ledger, saved views and story decisions (their own admin modules register them).
from newsdesk.accounts import admin as _accounts_admin  # noqa: E402, F401
from newsdesk.alerts import admin as _alerts_admin  # noqa: E402, F401
from newsdesk.coverage import admin as _coverage_admin  # noqa: E402, F401
from newsdesk.delivery import admin as _delivery_admin  # noqa: E402, F401
from newsdesk.drops import admin as _drops_admin  # noqa: E402, F401
from newsdesk.ops import admin as _ops_admin  # noqa: E402, F401
from newsdesk.websub import admin as _websub_admin  # noqa: E402, F401
