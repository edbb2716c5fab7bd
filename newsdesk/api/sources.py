"""Sources (read by anyone who may read the desk; created, changed and disabled by admins) and saved views."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from ninja import Query, Router, Schema, Status

from newsdesk.accounts.desks import saved_view_filter, saved_view_new_count, saved_view_problem, saved_views_of
from newsdesk.ingest.fetch import FetchError, url_for_fetch
from newsdesk.models import SavedView, Source, SourceKind

from .articles import ERRORS, ArticleQuery, articles_page
from .auth import Caller, DeskAuth, admin_required
from .errors import ApiError
from .paging import PAGE_PARAMS, id_page, query_check
from .schemas import ArticlePage, ErrorOut, SavedViewOut, SourceIn, SourceOut, SourcePage, SourcePatch

router = Router(tags=["sources"])
views = Router(tags=["saved views"])
WRITE_ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 429: ErrorOut}


def source_out(source: Source, *, caller: Caller) -> dict:
    out = {
        "id": source.id,
        "name": source.name,
        "kind": source.kind,
        # A feed URL can carry a publisher's access key: not for anonymous readers of a public desk.
        "url": source.url if caller.token is not None else None,
        "site_url": source.site_url,
        "country": source.country,
        "language": source.language,
        "category": source.category,
        "enabled": source.enabled,
    }
    if caller.is_admin:
        out.update(
            disabled_reason=source.disabled_reason,
            error_count=source.error_count,
            last_error=source.last_error,
            last_success_at=source.last_success_at,
        )
    return out


class PageQuery(Schema):
    before: str = ""
    limit: str = ""


@router.get("/sources/", response={200: SourcePage, **ERRORS}, url_name="sources")
def sources_list(request: HttpRequest, page: Query[PageQuery]):
    """Every source, by id; health fields (errors, disabled reason) for admins' tokens."""
    query_check(request.GET, allowed=PAGE_PARAMS)
    return id_page(request, Source.objects.all(), descending=False, out=lambda s: source_out(s, caller=request.auth))


def _source(source_id: int) -> Source:
    source = Source.objects.filter(id=source_id).first()
    if source is None:
        raise ApiError(404, "not_found", f"No source {source_id}.")
    return source


@router.get("/sources/{source_id}/", response={200: SourceOut, 401: ErrorOut, 404: ErrorOut}, url_name="source")
def source_detail(request: HttpRequest, source_id: int):
    return source_out(_source(source_id), caller=request.auth)


def _source_save(source: Source, *, created: bool) -> Source:
    """Validate as the admin form does (model rules, a fetchable feed URL) and save; errors say which field."""
    if source.kind == SourceKind.FEED and source.url:
        try:
            url_for_fetch(source.url)
        except FetchError as exc:
            raise ApiError(400, "bad_request", f"url: {exc}", fields=["url"]) from exc
    try:
        # Unique constraints are left to the database: a duplicate is a 409, not a 400.
        source.full_clean(validate_constraints=False)
    except ValidationError as exc:
        fields = sorted(exc.message_dict)
        detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        raise ApiError(400, "bad_request", detail[:1000], fields=fields) from exc
    try:
        with transaction.atomic():
            source.save(force_insert=created)
    except IntegrityError as exc:
        raise ApiError(409, "conflict", "A feed source with this URL exists already.", fields=["url"]) from exc
    return source


@router.post(
    "/sources/", response={201: SourceOut, **WRITE_ERRORS}, url_name="source-create", auth=DeskAuth(public=False)
)
def source_create(request: HttpRequest, data: SourceIn):
    """Add a feed source (admins' tokens only). It is polled from the next dispatcher tick."""
    caller = admin_required(request)
    source = Source(kind=SourceKind.FEED, **data.model_dump())
    return Status(201, source_out(_source_save(source, created=True), caller=caller))


@router.patch(
    "/sources/{source_id}/",
    response={200: SourceOut, **WRITE_ERRORS},
    url_name="source-update",
    auth=DeskAuth(public=False),
)
def source_update(request: HttpRequest, source_id: int, data: SourcePatch):
    """Change a source; ``{"enabled": false, "disabled_reason": "..."}`` disables it (admins' tokens only)."""
    caller = admin_required(request)
    source = _source(source_id)
    changes = data.model_dump(exclude_unset=True)
    if any(v is None for v in changes.values()):
        raise ApiError(400, "bad_request", "null is not a value; leave a field out to keep it.")
    for name, value in changes.items():
        setattr(source, name, value)
    if changes.get("enabled") is True and "disabled_reason" not in changes:
        source.disabled_reason = ""
    return source_out(_source_save(source, created=False), caller=caller)


def _own_view(request: HttpRequest, view_id: int) -> SavedView:
    caller: Caller = request.auth  # type: ignore[attr-defined]
    if caller.user is None:
        raise ApiError(401, "token_required", "Saved views belong to an editor: send their API token.")
    view = SavedView.objects.filter(owner=caller.user, id=view_id).first()
    if view is None:
        raise ApiError(404, "not_found", f"No saved view {view_id} of yours.")
    return view


def view_out(view: SavedView) -> dict:
    count = saved_view_new_count(view=view)
    return {
        "id": view.id,
        "name": view.name,
        "query": view.query,
        "position": view.position,
        "new_articles": count.count,
        "new_articles_capped": count.capped,
        "articles": reverse("api-1:view-articles", args=[view.id]),
    }


@views.get("/views/", response={200: list[SavedViewOut], **ERRORS}, url_name="views")
def views_list(request: HttpRequest):
    """The token owner's saved views, in their order, with the count of articles new since last opened."""
    query_check(request.GET, allowed=frozenset())
    caller: Caller = request.auth  # type: ignore[attr-defined]
    if caller.user is None:
        raise ApiError(401, "token_required", "Saved views belong to an editor: send their API token.")
    return [view_out(v) for v in saved_views_of(owner=caller.user)[: settings.NEWSDESK_MAX_SAVED_VIEWS]]


@views.get("/views/{view_id}/", response={200: SavedViewOut, 401: ErrorOut, 404: ErrorOut}, url_name="view")
def view_detail(request: HttpRequest, view_id: int):
    return view_out(_own_view(request, view_id))


class ViewArticlesQuery(Schema):
    before: str = ""
    limit: str = ""


@views.get("/views/{view_id}/articles/", response={200: ArticlePage, **ERRORS, 404: ErrorOut}, url_name="view-articles")
def view_articles(request: HttpRequest, view_id: int, page: Query[ViewArticlesQuery]):
    """The saved view's articles: its stored query, paged like /articles/."""
    view = _own_view(request, view_id)
    query_check(request.GET, allowed=PAGE_PARAMS)
    problem = saved_view_problem(view=view)
    if problem:
        raise ApiError(409, "view_broken", f"This saved view is broken: {problem}.")
    return articles_page(request, saved_view_filter(view=view))


__all__ = ["ArticleQuery", "QueryDict", "router", "views"]
