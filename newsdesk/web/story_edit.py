"""Editors correct a story from its page: not the same story, move to another story, merge, undo.

POST only, CSRF checked by the middleware; without the editors' role the
answer is 403 (a reader of the public desk included). Each action calls one
service of :mod:`newsdesk.coverage.decisions` and returns to the story page
with a message; a decision that cannot be carried out says why.
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from newsdesk.accounts.roles import user_can_correct_stories
from newsdesk.coverage.decisions import (
    DecisionError,
    decision_undo,
    stories_merge,
    story_article_move,
    story_article_split,
)
from newsdesk.models import Article, Story, StoryDecision

# A story named by its number or by its page's address (".../stories/123/").
_STORY_REF = re.compile(r"^\s*(?:\S*/stories/)?#?(\d{1,18})/?\s*$")


def _editor(request: HttpRequest):
    if not user_can_correct_stories(user=request.user):
        raise PermissionDenied("only editors may correct stories")
    return request.user


def _story_named(value: str) -> Story:
    """The story a form field names by number or address; DecisionError (refused like any decision) when none."""
    match = _STORY_REF.match(value or "")
    story = Story.objects.filter(pk=int(match.group(1))).first() if match else None
    if story is None:
        raise DecisionError("give the number (or address) of an existing story")
    return story


def _member(pk: int, article_pk: int) -> Article:
    return get_object_or_404(Article, pk=article_pk, story_id=pk)


def _refused(request: HttpRequest, text: str, *, pk: int) -> HttpResponse:
    """Back to the story page, saying why nothing was changed."""
    messages.error(request, text)
    return redirect("story", pk=pk)


def _done(request: HttpRequest, *, story_id: int | None, text: str, fallback: int) -> HttpResponse:
    messages.success(request, text)
    target = story_id if story_id and Story.objects.filter(pk=story_id).exists() else fallback
    return redirect("story", pk=target)


@require_POST
def story_article_split_view(request: HttpRequest, pk: int, article_pk: int) -> HttpResponse:
    editor = _editor(request)
    article = _member(pk, article_pk)
    try:
        decision = story_article_split(article=article, editor=editor)
    except DecisionError as exc:
        return _refused(request, f"Not taken out: {exc}.", pk=pk)
    messages.success(request, f"“{article.display_title}” was taken out of this story.")
    return redirect("story", pk=decision.story_id or pk)


@require_POST
def story_article_move_view(request: HttpRequest, pk: int, article_pk: int) -> HttpResponse:
    editor = _editor(request)
    article = _member(pk, article_pk)
    try:
        target = _story_named(request.POST.get("target", ""))
        decision = story_article_move(article=article, target=target, editor=editor)
    except DecisionError as exc:
        return _refused(request, f"Not moved: {exc}.", pk=pk)
    return _done(
        request,
        story_id=decision.story_id,
        text=f"“{article.display_title}” was moved to story {decision.target_id}.",
        fallback=pk,
    )


@require_POST
def story_merge_view(request: HttpRequest, pk: int) -> HttpResponse:
    editor = _editor(request)
    story = get_object_or_404(Story, pk=pk)
    try:
        into = _story_named(request.POST.get("into", ""))
        decision = stories_merge(story=story, into=into, editor=editor)
    except DecisionError as exc:
        return _refused(request, f"Not merged: {exc}.", pk=pk)
    return _done(request, story_id=decision.target_id, text="The two stories were merged.", fallback=pk)


@require_POST
def story_decision_undo_view(request: HttpRequest, decision_pk: int) -> HttpResponse:
    editor = _editor(request)
    decision = get_object_or_404(StoryDecision, pk=decision_pk)
    back = request.POST.get("story", "")
    fallback = int(back) if back.isdigit() else (decision.story_id or decision.target_id or 0)
    try:
        decision_undo(decision=decision, editor=editor)
    except DecisionError as exc:
        messages.error(request, f"Not undone: {exc}.")
        return redirect("story", pk=fallback) if fallback else redirect("dashboard")
    text = f"Undone: {decision.get_kind_display().lower()}."
    if not fallback or not Story.objects.filter(pk=fallback).exists():
        messages.success(request, text)
        return redirect("dashboard")
    return _done(request, story_id=fallback, text=text, fallback=fallback)
