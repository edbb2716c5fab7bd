"""What the API returns, as pydantic schemas (they are also the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

# Plain pydantic models, not ninja's Schema: the endpoints return dicts, and
# Schema's Django-object getter, run on every nested item, cost as much as
# the query of a 50-article page.
Schema = BaseModel


class ErrorDetail(Schema):
    code: str
    message: str
    fields: list[str] = []


class ErrorOut(Schema):
    error: ErrorDetail


class SourceRef(Schema):
    id: int
    name: str


class ArticleOut(Schema):
    id: int
    url: str
    title: str
    summary: str
    title_en: str
    title_orig: str
    summary_en: str
    summary_orig: str
    language: str
    original_language: str
    country: str
    category: str
    translation_status: str
    published_at: datetime
    updated_at: datetime
    source: SourceRef
    story_id: int | None
    story_outlets: int | None
    link: str


class ArticlePage(Schema):
    items: list[ArticleOut]
    next_cursor: str
    next: str | None


class StoryOut(Schema):
    id: int
    headline: str
    article_count: int
    source_count: int
    country_count: int
    language_count: int
    first_published_at: datetime | None
    last_published_at: datetime | None
    link: str


class StoryPage(Schema):
    items: list[StoryOut]
    next_cursor: str
    next: str | None


class Breakdown(Schema):
    countries: dict[str, int]
    languages: dict[str, int]
    outlets: dict[str, int]


class StoryDetail(StoryOut):
    coverage: Breakdown
    members: list[ArticleOut]


class SourceOut(Schema):
    id: int
    name: str
    kind: str
    # The feed URL, for token holders only (null for anonymous readers of a public desk).
    url: str | None
    site_url: str
    country: str
    language: str
    category: str
    enabled: bool
    # Health, for admins' tokens only (null otherwise).
    disabled_reason: str | None = None
    error_count: int | None = None
    last_error: str | None = None
    last_success_at: datetime | None = None


class SourcePage(Schema):
    items: list[SourceOut]
    next_cursor: str
    next: str | None


class SourceIn(Schema):
    name: str
    url: str
    site_url: str = ""
    country: str = ""
    language: str = ""
    category: str = ""
    poll_interval: int = 900


class SourcePatch(Schema):
    name: str | None = None
    url: str | None = None
    site_url: str | None = None
    country: str | None = None
    language: str | None = None
    category: str | None = None
    poll_interval: int | None = None
    enabled: bool | None = None
    disabled_reason: str | None = None


class SavedViewOut(Schema):
    id: int
    name: str
    query: str
    position: int
    new_articles: int
    new_articles_capped: bool
    articles: str
