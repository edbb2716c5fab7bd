"""``/favicon.ico``: browsers ask for it on every site, whatever the page links."""

from __future__ import annotations

from functools import lru_cache

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe


@lru_cache(maxsize=1)
def _icon() -> bytes:
    path = finders.find("newsdesk/favicon.ico")
    with open(path, "rb") as handle:
        return handle.read()


@require_safe
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_icon(), content_type="image/x-icon")
