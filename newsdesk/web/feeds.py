"""Syndication feeds of any dashboard view, built from the same filter."""

from __future__ import annotations

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import HttpRequest
from django.urls import reverse
from django.utils.feedgenerator import Rss201rev2Feed

from newsdesk.models import Article

from .countries import country_name
from .filters import ArticleFilter


class ArticleFeed(Feed):
    feed_type = Rss201rev2Feed
    description = "English headlines from Newsdesk"

    def get_object(self, request: HttpRequest) -> ArticleFilter:
        return ArticleFilter.from_query(request.GET)

    def title(self, obj: ArticleFilter) -> str:
        return "Newsdesk" + (f" — {obj.as_query()}" if not obj.is_empty else "")

    def link(self, obj: ArticleFilter) -> str:
        query = obj.as_query()
        return reverse("dashboard") + (f"?{query}" if query else "")

    def items(self, obj: ArticleFilter) -> list[Article]:
        return list(obj.queryset()[: settings.NEWSDESK_FEED_SIZE])

    def item_title(self, item: Article) -> str:
        return item.display_title

    def item_description(self, item: Article) -> str:
        return item.display_summary

    def item_link(self, item: Article) -> str:
        if item.url:
            return item.url
        if item.story_id:
            return reverse("story", args=[item.story_id])
        return reverse("dashboard")

    def item_guid(self, item: Article) -> str:
        return f"newsdesk-article-{item.id}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: Article):
        return item.published_at

    def item_updateddate(self, item: Article):
        return item.updated_at

    def item_categories(self, item: Article) -> list[str]:
        cats = [item.source.name]
        if item.country:
            cats.append(country_name(item.country))
        if item.language:
            cats.append(f"lang:{item.language}")
        return cats
