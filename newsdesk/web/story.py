"""The story page and its feed: every outlet that covered one story.

The charts are server-rendered SVG (the CSP allows no inline script or style),
computed here so the template only places shapes.
"""

from __future__ import annotations

import calendar
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from newsdesk.accounts.roles import user_can_correct_stories
from newsdesk.countries import country_name, flag
from newsdesk.coverage.storycounts import article_names_story
from newsdesk.coverage.text import text_fold
from newsdesk.languages import language_name, original_language
from newsdesk.models import Article, Story, StoryDecision, StoryDecisionKind

from .cards import cards_from, time_label
from .charts import RankedBar, ranked_bars, time_positions
from .feeds import ArticleFeed, xml_text
from .filters import CARD_COLUMNS, ArticleFilter

CHART_WIDTH = 300  # SVG user units of one bar or timeline row; labels are HTML text beside it
MAX_FOLLOW = 50  # merged_into hops followed before giving up (a cycle would be a bug)
STORY_COLUMNS = (*CARD_COLUMNS, "story_evidence")


@dataclass(frozen=True, slots=True)
class TimelineRow:
    outlet: str
    dots: list[tuple[int, str]]  # (x of CHART_WIDTH, tooltip)


@dataclass(frozen=True, slots=True)
class Headline:
    """The story's English headline, with the original it was translated from at hand."""

    text: str
    lang: str  # '' when English
    original: str  # '' when the headline is the original
    original_lang: str
    original_language_name: str


def story_resolve(pk: int) -> Story:
    """The story, following merges to the one that absorbed it."""
    story = get_object_or_404(Story, pk=pk)
    for _ in range(MAX_FOLLOW):
        if story.merged_into_id is None:
            return story
        story = get_object_or_404(Story, pk=story.merged_into_id)
    raise Http404("story merge chain too long")


def story_members(story: Story) -> QuerySet:
    """The story's articles, oldest first, as the card rows the dashboard renders (plus evidence)."""
    return Article.objects.filter(story=story).order_by("published_at", "id").values_list(*STORY_COLUMNS, named=True)


def story_headline(*, story: Story, members: list) -> Headline:
    """The first member's English title (the story's own headline while none is translated).

    Which member names the story is the coverage stage's rule (``article_names_story``).
    """
    for row in members:
        if article_names_story(row):
            lang = original_language(language=row.language, declared=row.language_declared)
            original = row.title_orig if row.title_orig.strip() != row.title_en.strip() else ""
            return Headline(row.title_en, "", original, lang, language_name(lang) if lang else "")
    first = members[0] if members else None
    lang = original_language(language=first.language, declared=first.language_declared) if first else ""
    return Headline(story.headline or (first.title_orig if first else ""), lang or "und", "", "", "")


def _timeline(members: list) -> tuple[list[TimelineRow], datetime | None, datetime | None]:
    if not members:
        return [], None, None
    first, last = members[0].published_at, members[-1].published_at
    rows: dict[str, list[tuple[int, str]]] = {}
    xs = time_positions((a.published_at for a in members), width=CHART_WIDTH)
    for a, x in zip(members, xs, strict=True):
        tip = f"{a.source__name} · {time_label(a.published_at)}"
        rows.setdefault(a.source__name, []).append((x, tip))
    return [TimelineRow(outlet=name, dots=dots) for name, dots in rows.items()], first, last


def story_breakdown(members: list) -> list[tuple[str, list[RankedBar]]]:
    """Outlets, countries and languages of the story, by number of articles."""
    languages = Counter(
        language_name(lang)
        for a in members
        if (lang := original_language(language=a.language, declared=a.language_declared))
    )
    return [
        ("Outlets", ranked_bars(Counter(a.source__name for a in members), width=CHART_WIDTH)),
        (
            "Countries",
            ranked_bars(
                Counter(f"{flag(a.country)} {country_name(a.country)}" for a in members if a.country),
                width=CHART_WIDTH,
            ),
        ),
        ("Languages", ranked_bars(languages, width=CHART_WIDTH)),
    ]


@dataclass(slots=True)
class Why:
    """What ties one member to its story, as the story page shows it."""

    first: bool = False  # started the story (nothing to compare with then)
    score: float | None = None
    names: list[str] = field(default_factory=list)
    particulars: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    matched: object = None  # the member row it was matched with
    by_editor: StoryDecision | None = None  # the decision that placed it here
    language: str = ""  # the original's language, by name ("Spanish")
    language_code: str = ""
    translation_status: str = ""


def particular_label(key: str) -> str:
    """A particular (``p:MX``, ``c:Asia/Tomsk``, ``y:2008``, ``d:12-14``, ``n:6.1``) as a reader says it."""
    kind, _, value = key.partition(":")
    if kind == "p" and len(value) == 2:
        return f"{flag(value)} {country_name(value)}".strip()
    if kind == "c":  # a city by its time zone: Asia/Tomsk
        return value.rsplit("/", 1)[-1].replace("_", " ")
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


def story_decisions(members: list) -> list[StoryDecision]:
    """Standing decisions that put members where they are (moves into, merges into the story)."""
    ids = [a.id for a in members]
    moved = StoryDecision.objects.filter(undone_at__isnull=True, kind=StoryDecisionKind.MOVE, article_id__in=ids)
    merged = StoryDecision.objects.filter(undone_at__isnull=True, kind=StoryDecisionKind.MERGE)
    found = list(moved.select_related("editor"))
    present = set(ids)
    found += [d for d in merged.select_related("editor") if present.intersection(d.subject)]
    return sorted(found, key=lambda d: (d.created_at, d.pk))


def story_decisions_for_editors(story: Story, members: list, placing: list[StoryDecision]) -> list[StoryDecision]:
    """Every standing decision about this story: what was taken out of it, moved into it, merged into it."""
    touching = StoryDecision.objects.filter(undone_at__isnull=True).filter(
        Q(story_id=story.pk) | Q(target_id=story.pk) | Q(article_id__in=[a.id for a in members])
    )
    found = {d.pk: d for d in [*placing, *touching.select_related("editor", "article")]}
    return sorted(found.values(), key=lambda d: (d.created_at, d.pk), reverse=True)


def member_reasons(members: list, decisions: list[StoryDecision]) -> dict[int, Why]:
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
        lang = original_language(language=a.language, declared=a.language_declared)
        out[a.id] = Why(
            first=score is None and not ev.get("by_editor") and a.id not in placed,
            score=score,
            names=terms_readable(list(ev.get("shared_names", [])), *texts),
            particulars=[particular_label(p) for p in ev.get("shared_particulars", [])],
            terms=terms_readable(list(ev.get("shared_terms", [])), *texts),
            matched=by_id.get(ev.get("matched_article")),
            by_editor=placed.get(a.id),
            language=language_name(lang) if lang else "",
            language_code=lang,
            translation_status=a.translation_status,
        )
    return out


NEARBY_STORIES = 30  # offered to an editor as targets of a move or a merge
NEARBY_DAYS = 3


def stories_nearby(story: Story) -> list[Story]:
    """Other stories running around the same time, most covered first: where a move or merge usually goes."""
    if story.first_published_at is None:
        return []
    since = story.first_published_at - timedelta(days=NEARBY_DAYS)
    until = (story.last_published_at or story.first_published_at) + timedelta(days=NEARBY_DAYS)
    nearby = Story.objects.filter(
        merged_into__isnull=True, article_count__gt=0, last_published_at__gte=since, first_published_at__lte=until
    ).exclude(pk=story.pk)
    return list(nearby.order_by("-source_count", "-id").only("id", "headline", "source_count")[:NEARBY_STORIES])


def back_url(request: HttpRequest) -> str:
    """The dashboard view the reader came from (its filters kept), else the dashboard.

    Only this site's own dashboard path is taken from the Referer, never another host's URL.
    """
    dashboard = reverse("dashboard")
    referer = urlsplit(request.headers.get("Referer", ""))
    if referer.netloc == request.get_host() and referer.path == dashboard:
        return dashboard + (
            f"?{ArticleFilter.from_query(QueryDict(referer.query)).as_query()}" if referer.query else ""
        )
    return dashboard


def story_detail(request: HttpRequest, pk: int) -> HttpResponse:
    story = story_resolve(pk)
    if story.pk != pk:
        return redirect("story", pk=story.pk, permanent=True)
    members = list(story_members(story))
    cards = cards_from(members, story_links=False)
    timeline, first, last = _timeline(members)
    outlets = len({a.source__name for a in members})
    decisions = story_decisions(members)
    reasons = member_reasons(members, decisions)
    can_correct = user_can_correct_stories(user=request.user)
    context = {
        "story": story,
        "back_url": back_url(request),
        "headline": story_headline(story=story, members=members),
        "members": [(a, card, reasons[a.id]) for a, card in zip(members, cards, strict=True)],
        "can_correct": can_correct,
        # Readers of the public desk see the result; editors see who decided what, and can undo it.
        "decisions": story_decisions_for_editors(story, members, decisions) if can_correct else [],
        "nearby": stories_nearby(story) if can_correct else [],
        "outlets": outlets,
        "countries": len({a.country for a in members if a.country}),
        "languages": len(
            {original_language(language=a.language, declared=a.language_declared) for a in members} - {""}
        ),
        "breakdown": story_breakdown(members) if outlets > 1 else [],
        "timeline": timeline if len(members) > 1 else [],
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
        # The story page's own headline: the first English title, not an untranslated one.
        headline = story_headline(story=obj, members=list(story_members(obj)[:50]))
        return xml_text(f"Newsdesk story — {headline.text}")

    def description(self, obj: Story) -> str:
        return xml_text(
            f"Coverage of one story: {obj.source_count} outlets, {obj.country_count} countries, "
            f"{obj.language_count} languages"
        )

    def link(self, obj: Story) -> str:
        return reverse("story", args=[obj.pk])

    def feed_url(self, obj: Story) -> str:
        return reverse("story-rss", args=[obj.pk])
