"""Editors' story decisions in Django admin: who decided what, when, and whether it was undone."""

from __future__ import annotations

from django.contrib import admin, messages

from newsdesk.models import StoryDecision

from .decisions import DecisionError, decision_undo


@admin.register(StoryDecision)
class StoryDecisionAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "article", "story", "target", "editor", "created_at", "undone_at", "undone_by")
    list_filter = ("kind", ("undone_at", admin.EmptyFieldListFilter))
    list_select_related = ("article", "story", "target", "editor", "undone_by")
    search_fields = ("article__title_orig", "article__title_en", "editor__username")
    date_hierarchy = "created_at"
    # A decision is made on the story page (where the machine carries it out) and undone there or here.
    readonly_fields = [f.name for f in StoryDecision._meta.fields]
    actions = ["undo"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # history: an undone decision stays, marked undone

    @admin.action(description="Undo selected decisions (gives back the machine's grouping)")
    def undo(self, request, queryset):
        done = 0
        for decision in queryset.filter(undone_at__isnull=True).order_by("-created_at", "-id"):
            try:
                decision_undo(decision=decision, editor=request.user)
                done += 1
            except DecisionError as exc:
                self.message_user(request, f"{decision}: {exc}", messages.WARNING)
        self.message_user(request, f"{done} decision(s) undone.", messages.SUCCESS)
