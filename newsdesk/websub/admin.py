"""Admin for Newsdesk's own subscriptions to sources' hubs (receiving WebSub pushes).

Each source whose feed advertises a hub has one row: its state (requested, live,
denied, failed, expired), the lease's end, pushes taken and refused, and the last
error. Secrets are never shown. "Request again now" sends a new subscription request.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from newsdesk.models import SourceHub


@admin.register(SourceHub)
class SourceHubAdmin(admin.ModelAdmin):
    list_display = (
        "source", "state", "hub_url", "expires_at", "next_request_at", "last_push_at", "pushes", "pushes_refused",
        "last_error",
    )  # fmt: skip
    list_filter = ("state",)
    search_fields = ("source__name", "hub_url", "topic_url")
    fields = (
        "source", "state", "hub_url", "topic_url", "lease_seconds", "requested_at", "verified_at", "expires_at",
        "next_request_at", "last_push_at", "pushes", "pushes_refused", "last_error", "updated_at",
    )  # fmt: skip
    readonly_fields = fields
    actions = ["request_again"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made by discovery, when a polled feed advertises a hub

    @admin.action(description="Request the subscription again now")
    def request_again(self, request: HttpRequest, queryset: QuerySet[SourceHub]) -> None:
        from newsdesk.tasks import hub_subscribe_request

        ids = list(queryset.values_list("id", flat=True))
        queryset.update(next_request_at=timezone.now())
        for hub_id in ids:
            hub_subscribe_request.delay_on_commit(hub_id)
        self.message_user(request, f"{len(ids)} subscription request(s) queued.", messages.SUCCESS)
