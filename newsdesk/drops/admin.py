"""Admin for the drop ledger: which file contents were stored, when, by which attempt."""

from __future__ import annotations

from django.contrib import admin

from newsdesk.models import DropFile


@admin.register(DropFile)
class DropFileAdmin(admin.ModelAdmin):
    list_display = ("name", "source", "format", "encoding", "articles", "size", "ingested_at", "sha256")
    list_filter = ("format", "source")
    search_fields = ("name", "sha256")
    list_select_related = ("source",)
    raw_id_fields = ("source", "attempt")
    date_hierarchy = "ingested_at"

    def has_add_permission(self, request) -> bool:
        return False  # rows are written by the ingest path only

    def has_change_permission(self, request, obj=None) -> bool:
        return False
