"""Read-only views: the dashboard and the story page."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from newsdesk.models import Article, Source, Story

from .countries import country_name
from .filters import ArticleFilter
from .pagination import keyset_page


def dashboard(request: HttpRequest) -> HttpResponse:
    flt = ArticleFilter.from_query(request.GET)
    page = keyset_page(flt.queryset(), cursor=request.GET.get("before", ""), size=settings.NEWSDESK_PAGE_SIZE)
    countries = sorted(
        {c for c in Source.objects.exclude(country="").values_list("country", flat=True)},
        key=country_name,
    )
    context = {
        "filter": flt,
        "page": page,
        "countries": [(c, country_name(c)) for c in countries],
        "languages": sorted(set(Source.objects.exclude(language="").values_list("language", flat=True))),
        "sources": Source.objects.filter(enabled=True).only("id", "name").order_by("name"),
    }
    return render(request, "newsdesk/dashboard.html", context)


def story_detail(request: HttpRequest, pk: int) -> HttpResponse:
    story = get_object_or_404(Story, pk=pk)
    members = list(Article.objects.filter(story=story).select_related("source").order_by("published_at", "id"))
    return render(request, "newsdesk/story.html", {"story": story, "members": members})
