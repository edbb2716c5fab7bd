"""Admin for outgoing deliveries: every destination's health, every delivery and its attempts.

Signing secrets are never displayed. Admins can re-enable a destination
(its failure count starts again) and send failed deliveries once more.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from newsdesk.models import Delivery, DeliveryAttempt, DeliveryStatus, Destination

from .service import destination_enable


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ("number", "at", "outcome", "status_code", "duration_ms", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False


@admin.register(Destination)
class DestinationAdmin(admin.ModelAdmin):
    # https for a URL typed without a scheme, as Django 6 will (and no RemovedInDjango60Warning).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ("__str__", "kind", "enabled", "failure_streak", "last_success_at", "disabled_reason")
    list_filter = ("kind", "enabled")
    search_fields = ("label", "url", "email_to")
    fields = (
        "kind", "label", "url", "email_to", "signature_header", "enabled", "disabled_reason", "disabled_at",
        "failure_streak", "last_success_at", "created_at",
    )  # fmt: skip
    readonly_fields = ("kind", "disabled_at", "failure_streak", "last_success_at", "created_at")
    actions = ["enable_destinations"]

    @admin.action(description="Re-enable (failure count starts from zero)")
    def enable_destinations(self, request: HttpRequest, queryset: QuerySet[Destination]) -> None:
        for destination_id in queryset.values_list("id", flat=True):
            destination_enable(destination_id=destination_id)
        messages.success(request, "Re-enabled.")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("event_type", "event_id", "destination", "status", "attempts", "last_status_code", "created_at")
    list_filter = ("status", "event_type", "destination__kind")
    search_fields = ("event_id", "destination__url", "destination__email_to")
    list_select_related = ("destination",)
    readonly_fields = (
        "destination", "event_id", "event_type", "subject", "body", "content_type", "status", "attempts",
        "next_attempt_at", "claimed_at", "last_status_code", "last_error", "created_at", "delivered_at",
    )  # fmt: skip
    inlines = [DeliveryAttemptInline]
    actions = ["send_again"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Send again (failed or cancelled deliveries; never a delivered one)")
    def send_again(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = queryset.filter(status__in=[DeliveryStatus.FAILED, DeliveryStatus.CANCELLED]).update(
            status=DeliveryStatus.PENDING, next_attempt_at=timezone.now(), attempts=0
        )
        messages.success(request, f"{count} deliveries queued; the dispatcher sends them within a minute.")
