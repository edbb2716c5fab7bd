"""Admin for editors' saved views and their private-feed tokens.

Admins can see who follows what and revoke a leaked feed URL; they cannot
mint a token (the raw secret is only ever shown to its owner, once), and the
stored digest is never displayed.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from newsdesk.models import FeedToken, SavedView


class FeedTokenInline(admin.TabularInline):
    model = FeedToken
    fields = ("created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "query", "live_feed", "last_opened_at", "created_at")
    list_filter = ("owner",)
    search_fields = ("name", "query", "owner__username")
    list_select_related = ("owner",)
    readonly_fields = ("created_at", "last_opened_at", "seen_article_id")
    raw_id_fields = ("owner",)
    inlines = [FeedTokenInline]
    actions = ["revoke_feed_tokens"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SavedView]:
        return (
            super()
            .get_queryset(request)
            .annotate(_live=Count("feed_tokens", filter=Q(feed_tokens__revoked_at__isnull=True)))
        )

    @admin.display(boolean=True, description="Live feed URL")
    def live_feed(self, obj: SavedView) -> bool:
        return bool(obj._live)

    @admin.action(description="Revoke the private feed URLs of the selected views")
    def revoke_feed_tokens(self, request: HttpRequest, queryset: QuerySet[SavedView]) -> None:
        revoked = FeedToken.objects.filter(saved_view__in=queryset, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        self.message_user(request, f"Revoked {revoked} feed URL(s).", messages.SUCCESS)
