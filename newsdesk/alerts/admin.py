"""Admin for alerts and the events they fired (the deliveries are under Delivery)."""

from __future__ import annotations

from django.contrib import admin

from newsdesk.models import Alert, AlertEvent


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("name", "saved_view", "metric", "thresholds", "enabled", "webhook", "email", "checked_at")
    list_filter = ("metric", "enabled")
    search_fields = ("name", "saved_view__name", "saved_view__owner__username")
    list_select_related = ("saved_view", "webhook", "email")
    raw_id_fields = ("saved_view", "webhook", "email")
    readonly_fields = ("created_at", "checked_at")


@admin.register(AlertEvent)
class AlertEventAdmin(admin.ModelAdmin):
    list_display = ("id", "alert", "story_ref", "threshold", "value", "created_at")
    list_filter = ("alert__metric",)
    search_fields = ("id", "alert__name")
    list_select_related = ("alert",)
    readonly_fields = ("id", "alert", "story", "story_ref", "threshold", "value", "payload", "created_at")

    def has_add_permission(self, request) -> bool:
        return False
