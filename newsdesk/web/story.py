"""The story page and its feed: every outlet that covered one story.

The charts are server-rendered SVG (the CSP allows no inline script or style),
computed here so the template only places shapes.
"""

from __future__ import annotations

import calendar
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from newsdesk.accounts.roles import user_can_correct_stories
from newsdesk.coverage.text import text_fold
from newsdesk.models import Article, Story, StoryDecision, StoryDecisionKind

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


@dataclass(slots=True)
class Why:
    """What ties one member to its story, as the story page shows it."""

    first: bool = False  # started the story (nothing to compare with then)
    score: float | None = None
    names: list[str] = field(default_factory=list)
    particulars: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    matched: Article | None = None
    by_editor: StoryDecision | None = None  # the decision that placed it here


def particular_label(key: str) -> str:
    """A particular (``p:MX``, ``y:2008``, ``d:12-14``, ``n:6.1``) as a reader says it."""
    kind, _, value = key.partition(":")
    if kind == "p" and len(value) == 2:
        return f"{flag(value)} {country_name(value)}".strip()
    if kind == "d":
        month, _, day = value.partition("-")
        if month.isdigit() and day.isdigit() and 1 <= int(month) <= 12:
            return f"{calendar.month_abbr[int(month)]} {int(day)}"
    return value or key


_WORD = re.compile(r"\w+(?:[.,][0-9]+)*")


def terms_readable(stems: list[str], *texts: str) -> list[str]:
    """The clustering's folded word stems (``sumatr``) as the words the article wrote (``Sumatra``)."""
    words: dict[str, str] = {}
    for text in texts:
        for raw in _WORD.findall(text or ""):
            folded = text_fold(raw)
            if folded[:1].isdigit():
                folded = folded.replace(",", "").replace(".", "")
            words.setdefault(folded, raw)
    out = []
    for stem in stems:
        word = words.get(stem) or next((raw for folded, raw in words.items() if folded.startswith(stem)), stem)
        if word.casefold() not in (w.casefold() for w in out):
            out.append(word)
    return out


def story_decisions(members: list[Article]) -> list[StoryDecision]:
    """Standing decisions that put members where they are (moves into, merges into the story)."""
    ids = [a.id for a in members]
    moved = StoryDecision.objects.filter(undone_at__isnull=True, kind=StoryDecisionKind.MOVE, article_id__in=ids)
    merged = StoryDecision.objects.filter(undone_at__isnull=True, kind=StoryDecisionKind.MERGE)
    found = list(moved.select_related("editor"))
    present = set(ids)
    found += [d for d in merged.select_related("editor") if present.intersection(d.subject)]
    return sorted(found, key=lambda d: (d.created_at, d.pk))


def story_decisions_for_editors(
    story: Story, members: list[Article], placing: list[StoryDecision]
) -> list[StoryDecision]:
    """Every standing decision about this story: what was taken out of it, moved into it, merged into it."""
    touching = StoryDecision.objects.filter(undone_at__isnull=True).filter(
        Q(story_id=story.pk) | Q(target_id=story.pk) | Q(article_id__in=[a.id for a in members])
    )
    found = {d.pk: d for d in [*placing, *touching.select_related("editor", "article")]}
    return sorted(found.values(), key=lambda d: (d.created_at, d.pk), reverse=True)


def member_reasons(members: list[Article], decisions: list[StoryDecision]) -> dict[int, Why]:
    """Each member's ties to the story: its recorded evidence, or the editor's decision that placed it."""
    by_id = {a.id: a for a in members}
    placed: dict[int, StoryDecision] = {}
    for d in decisions:  # oldest first: the latest decision about an article is the one shown
        for key in [d.article_id] if d.kind == StoryDecisionKind.MOVE else d.subject:
            if key in by_id:
                placed[key] = d
    out: dict[int, Why] = {}
    for a in members:
        ev = a.story_evidence or {}
        score = ev.get("score")
        texts = (a.title_orig, a.summary_orig, a.title_en, a.summary_en)
        out[a.id] = Why(
            first=score is None and not ev.get("by_editor") and a.id not in placed,
            score=score,
            names=terms_readable(list(ev.get("shared_names", [])), *texts),
            particulars=[particular_label(p) for p in ev.get("shared_particulars", [])],
            terms=terms_readable(list(ev.get("shared_terms", [])), *texts),
            matched=by_id.get(ev.get("matched_article")),
            by_editor=placed.get(a.id),
        )
    return out


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
    decisions = story_decisions(members)
    reasons = member_reasons(members, decisions)
    for a in members:
        a.why = reasons[a.id]
    can_correct = user_can_correct_stories(user=request.user)
    context = {
        "story": story,
        "members": members,
        "can_correct": can_correct,
        # Readers of the public desk see the result; editors see who decided what, and can undo it.
        "decisions": story_decisions_for_editors(story, members, decisions) if can_correct else [],
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
