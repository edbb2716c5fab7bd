"""The API instance: /api/v1/, its auth, throttle, error bodies and OpenAPI schema (docs/openapi.json)."""

from __future__ import annotations

from ninja import NinjaAPI

from .articles import router as articles_router
from .articles import stories as stories_router
from .auth import DeskAuth, DeskThrottle
from .errors import handlers_install
from .sources import router as sources_router
from .sources import views as views_router

api = NinjaAPI(
    title="Newsdesk API",
    version="1",
    description=(
        "Read access to the desk: articles (filtered exactly as the dashboard's query string), stories with "
        "their members and coverage, sources and your saved views. Auth: 'Authorization: Bearer <token>' "
        "(make one under API tokens). On a public desk, articles, stories and sources are readable without one. "
        'Every refusal has the body {"error": {"code", "message", "fields"}}.'
    ),
    urls_namespace="api-1",
    docs_url=None,
    openapi_url="/openapi.json",
    auth=DeskAuth(public=True),
    throttle=[DeskThrottle()],
)
handlers_install(api)
api.add_router("", articles_router)
api.add_router("", stories_router)
api.add_router("", sources_router)
api.add_router("", views_router, auth=DeskAuth(public=False))
