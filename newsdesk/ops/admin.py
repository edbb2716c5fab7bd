"""Admin for dead letters: see what failed too often, and retry it."""

from __future__ import annotations

from django.contrib import admin, messages

from newsdesk.models import DeadLetter

from .deadletter import dead_letter_retry


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    list_display = ("task_name", "object_key", "attempts", "skipped", "created_at", "reason_short")
    list_filter = ("task_name",)
    search_fields = ("object_key", "reason")
    readonly_fields = ("task_name", "object_key", "args", "kwargs", "attempts", "skipped", "reason", "last_task_id")
    actions = ("retry",)

    @admin.display(description="Reason")
    def reason_short(self, obj: DeadLetter) -> str:
        return obj.reason[:120]

    @admin.action(description="Retry selected (send the task once more)")
    def retry(self, request, queryset) -> None:
        sent = dead_letter_retry(dead_letter_ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"Sent {sent} task(s) again.", messages.SUCCESS)

    def has_add_permission(self, request) -> bool:
        return False
