"""Articles and stories: the dashboard's filter and keyset pagination, as JSON."""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict
from django.urls import get_script_prefix, reverse
from ninja import Field, Query, Router, Schema

from newsdesk.languages import display_summary, display_title
from newsdesk.models import Article, Story
from newsdesk.models.articles import original_language
from newsdesk.web.filters import ArticleFilter
from newsdesk.web.pagination import cursor_condition, cursor_encode

from .errors import ApiError
from .paging import PAGE_PARAMS, id_page, next_link, page_size, query_check
from .schemas import ArticleOut, ArticlePage, ErrorOut, StoryDetail, StoryPage

router = Router(tags=["articles"])
stories = Router(tags=["stories"])

# The dashboard's own parameters (web/filters.py), plus the cursor and the page size.
FILTER_PARAMS = frozenset({"country", "lang", "source", "category", "from", "to", "status", "coverage", "q", "sort"})
ERRORS = {400: ErrorOut, 401: ErrorOut, 429: ErrorOut}
MEMBERS_MAX = 500


class ArticleQuery(Schema):
    """The dashboard's query string, parameter for parameter (README "Filters")."""

    country: list[str] = []
    lang: list[str] = []
    source: list[str] = []
    category: str = ""
    from_: str = Field("", alias="from")
    to: str = ""
    status: str = ""
    coverage: str = ""
    q: str = ""
    sort: str = ""
    before: str = ""
    limit: str = ""


def filter_from(query: QueryDict) -> ArticleFilter:
    """The dashboard's parse of the query string; where the page drops a bad value, the API says so."""
    flt = ArticleFilter.from_query(query)
    if flt.ignored:
        raise ApiError(
            400, "invalid_filter",
            f"Invalid value for: {', '.join(flt.ignored)}. The dashboard would ignore it; the API refuses it.",
            fields=list(flt.ignored),
        )  # fmt: skip
    return flt


def _prefix(name: str) -> str:
    """A detail URL without its id: reverse() once per script prefix, not once an item (a third of a list's time)."""
    return _prefix_under(name, get_script_prefix())


@lru_cache(maxsize=16)
def _prefix_under(name: str, script_prefix: str) -> str:
    return reverse(name, args=[0]).removesuffix("0/")


# What an API article shows, read as plain rows (as the dashboard's cards are): building
# model instances with their source and story cost more than the query.
API_COLUMNS = (
    "id", "story_id", "url", "title_orig", "summary_orig", "title_en", "summary_en", "language",
    "language_declared", "country", "category", "translation_status", "published_at", "updated_at",
    "source_id", "source__name", "story__source_count",
)  # fmt: skip


def article_rows(qs) -> QuerySet:
    return qs.values_list(*API_COLUMNS, named=True)


def article_out(row) -> dict:
    """The JSON of a row of :func:`article_rows`."""
    return {
        "id": row.id,
        "url": row.url,
        "title": display_title(row),
        "summary": display_summary(row),
        "title_en": row.title_en,
        "title_orig": row.title_orig,
        "summary_en": row.summary_en,
        "summary_orig": row.summary_orig,
        "language": row.language,
        "original_language": original_language(language=row.language, declared=row.language_declared),
        "country": row.country,
        "category": row.category,
        "translation_status": row.translation_status,
        "published_at": row.published_at,
        "updated_at": row.updated_at,
        "source": {"id": row.source_id, "name": row.source__name},
        "story_id": row.story_id,
        "story_outlets": row.story__source_count if row.story_id else None,
        "link": f"{_prefix('api-1:article')}{row.id}/",
    }


def articles_page(request: HttpRequest, flt: ArticleFilter) -> dict:
    """One keyset page of ``flt``: the same query, order and cursor as the dashboard's."""
    size = page_size(request.GET)
    qs = article_rows(flt.queryset())
    cursor = request.GET.get("before", "").strip()
    if cursor:
        condition = cursor_condition(cursor[:80], sort=flt.sort)
        if condition is None or len(cursor) > 80:
            raise ApiError(
                400, "bad_cursor", "before is not a cursor this API gave (take next_cursor from a page as it is).",
                fields=["before"],
            )  # fmt: skip
        qs = qs.filter(condition)
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = cursor_encode(rows[-1], sort=flt.sort) if more and rows else ""
    return {
        "items": [article_out(r) for r in rows],
        "next_cursor": next_cursor,
        "next": next_link(request, next_cursor),
    }


@router.get("/articles/", response={200: ArticlePage, **ERRORS}, url_name="articles")
def articles_list(request: HttpRequest, filters: Query[ArticleQuery]):
    """Articles, newest first (or ``sort=covered``), filtered exactly as the dashboard filters them."""
    query_check(request.GET, allowed=FILTER_PARAMS | PAGE_PARAMS)
    return articles_page(request, filter_from(request.GET))


@router.get("/articles/{article_id}/", response={200: ArticleOut, 404: ErrorOut, 401: ErrorOut}, url_name="article")
def article_detail(request: HttpRequest, article_id: int):
    row = article_rows(Article.objects.filter(id=article_id)).first()
    if row is None:
        raise ApiError(404, "not_found", f"No article {article_id}.")
    return article_out(row)


def story_out(story: Story) -> dict:
    return {
        "id": story.id,
        "headline": story.headline,
        "article_count": story.article_count,
        "source_count": story.source_count,
        "country_count": story.country_count,
        "language_count": story.language_count,
        "first_published_at": story.first_published_at,
        "last_published_at": story.last_published_at,
        "link": f"{_prefix('api-1:story')}{story.id}/",
    }


class StoryQuery(Schema):
    coverage: str = ""
    before: str = ""
    limit: str = ""


@stories.get("/stories/", response={200: StoryPage, **ERRORS}, url_name="stories")
def stories_list(request: HttpRequest, filters: Query[StoryQuery]):
    """Stories, newest first; ``coverage=N`` keeps those covered by at least N outlets (as the dashboard's filter)."""
    query_check(request.GET, allowed=frozenset({"coverage"}) | PAGE_PARAMS)
    flt = filter_from(QueryDict(f"coverage={request.GET.get('coverage', '')}" if request.GET.get("coverage") else ""))
    qs = Story.objects.filter(merged_into__isnull=True, article_count__gt=0)
    if flt.coverage:
        qs = qs.filter(source_count__gte=flt.coverage)
    return id_page(request, qs, descending=True, out=story_out)


@stories.get("/stories/{story_id}/", response={200: StoryDetail, 404: ErrorOut, 401: ErrorOut}, url_name="story")
def story_detail(request: HttpRequest, story_id: int):
    """A story with its members (oldest first) and its coverage by country, language and outlet."""
    story = Story.objects.filter(id=story_id).first()
    while story is not None and story.merged_into_id:
        story = Story.objects.filter(id=story.merged_into_id).first()
    if story is None:
        raise ApiError(404, "not_found", f"No story {story_id}.")
    members = list(article_rows(Article.objects.filter(story=story).order_by("published_at", "id"))[:MEMBERS_MAX])
    return {
        **story_out(story),
        "coverage": {
            "countries": dict(Counter(m.country for m in members if m.country).most_common()),
            "languages": dict(Counter(m.language for m in members if m.language).most_common()),
            "outlets": dict(Counter(m.source__name for m in members).most_common()),
        },
        "members": [article_out(m) for m in members],
    }
