"""The story page and its feed: every outlet that covered one story.

The charts are server-rendered SVG (the CSP allows no inline script or style),
computed here so the template only places shapes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from newsdesk.models import Article, Story

from .countries import country_name, flag
from .feeds import ArticleFeed, xml_text

CHART_WIDTH = 300  # SVG user units: bars and the timeline scale to this
TIMELINE_ROW = 18
MAX_FOLLOW = 50  # merged_into hops followed before giving up (a cycle would be a bug)


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    count: int
    width: int  # of CHART_WIDTH
    y: int


@dataclass(frozen=True, slots=True)
class TimelineRow:
    outlet: str
    y: int
    dots: list[tuple[int, str]]  # (x, tooltip)


def story_resolve(pk: int) -> Story:
    """The story, following merges to the one that absorbed it."""
    story = get_object_or_404(Story, pk=pk)
    for _ in range(MAX_FOLLOW):
        if story.merged_into_id is None:
            return story
        story = get_object_or_404(Story, pk=story.merged_into_id)
    raise Http404("story merge chain too long")


def story_members(story: Story) -> QuerySet[Article]:
    return Article.objects.filter(story=story).select_related("source").order_by("published_at", "id")


def _bars(counter: Counter[str], *, label) -> list[Bar]:
    if not counter:
        return []
    top = max(counter.values())
    rows = sorted(counter.items(), key=lambda kv: (-kv[1], label(kv[0])))
    return [
        Bar(label=label(key), count=n, width=max(2, round(CHART_WIDTH * n / top)), y=i * TIMELINE_ROW)
        for i, (key, n) in enumerate(rows)
    ]


def _timeline(members: list[Article]) -> tuple[list[TimelineRow], datetime | None, datetime | None]:
    if not members:
        return [], None, None
    first, last = members[0].published_at, members[-1].published_at
    span = (last - first).total_seconds() or 1.0
    rows: dict[str, list[tuple[int, str]]] = {}
    for a in members:
        x = round(CHART_WIDTH * (a.published_at - first).total_seconds() / span)
        rows.setdefault(a.source.name, []).append((x, f"{a.source.name} · {a.published_at:%b %d %H:%M} UTC"))
    return (
        [TimelineRow(outlet=name, y=i * TIMELINE_ROW, dots=dots) for i, (name, dots) in enumerate(rows.items())],
        first,
        last,
    )


def story_detail(request: HttpRequest, pk: int) -> HttpResponse:
    story = story_resolve(pk)
    if story.pk != pk:
        return redirect("story", pk=story.pk, permanent=True)
    members = list(story_members(story))
    timeline, first, last = _timeline(members)
    breakdown = [
        ("Outlets", _bars(Counter(a.source.name for a in members), label=str)),
        (
            "Countries",
            _bars(
                Counter(a.country for a in members if a.country),
                label=lambda c: f"{flag(c)} {country_name(c)}",
            ),
        ),
        ("Languages", _bars(Counter(a.language.upper() for a in members if a.language), label=str)),
    ]
    context = {
        "story": story,
        "members": members,
        "breakdown": [(title, bars, len(bars) * TIMELINE_ROW) for title, bars in breakdown],
        "timeline": timeline,
        "timeline_height": len(timeline) * TIMELINE_ROW,
        "chart_width": CHART_WIDTH,
        "first": first,
        "last": last,
    }
    return render(request, "newsdesk/story.html", context)


class StoryFeed(ArticleFeed):
    """RSS of one story: a subscriber follows its coverage as outlets join."""

    def get_object(self, request: HttpRequest, *args, **kwargs) -> Story:
        return story_resolve(kwargs["pk"])

    def item_queryset(self, obj: Story) -> QuerySet[Article]:
        return Article.objects.filter(story=obj).order_by("-published_at", "-id")

    def title(self, obj: Story) -> str:
        return xml_text(f"Newsdesk story — {obj.headline}")

    def description(self, obj: Story) -> str:
        return xml_text(
            f"Coverage of one story: {obj.source_count} outlets, {obj.country_count} countries, "
            f"{obj.language_count} languages"
        )

    def link(self, obj: Story) -> str:
        return reverse("story", args=[obj.pk])

    def feed_url(self, obj: Story) -> str:
        return reverse("story-rss", args=[obj.pk])
