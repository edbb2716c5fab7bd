"""Query-string checks and pages shared by every list of the API."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict

from .errors import ApiError

PAGE_PARAMS = frozenset({"before", "limit"})


def query_check(query: QueryDict, *, allowed: frozenset[str]) -> None:
    """Refuse parameters the endpoint does not know (a typo must not silently widen a list)."""
    unknown = sorted(set(query) - allowed)
    if unknown:
        raise ApiError(
            400, "unknown_parameter",
            f"Unknown parameter(s): {', '.join(unknown)[:200]}. Allowed: {', '.join(sorted(allowed))}.",
            fields=unknown[:20],
        )  # fmt: skip


def page_size(query: QueryDict) -> int:
    raw = query.get("limit", "").strip()
    if not raw:
        return settings.NEWSDESK_API_PAGE_SIZE
    top = settings.NEWSDESK_API_MAX_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= top:
        raise ApiError(400, "invalid_filter", f"limit must be a whole number from 1 to {top}.", fields=["limit"])
    return int(raw)


def next_link(request: HttpRequest, cursor: str) -> str | None:
    if not cursor:
        return None
    query = request.GET.copy()
    query["before"] = cursor
    return f"{request.path}?{query.urlencode()}"


def id_page(request: HttpRequest, qs: QuerySet, *, descending: bool, out: Callable[[object], dict]) -> dict:
    """One page of ``qs`` by id (newest first when ``descending``), the cursor being the last id shown."""
    size = page_size(request.GET)
    qs = qs.order_by("-id" if descending else "id")
    cursor = request.GET.get("before", "").strip()
    if cursor:
        if not cursor.isdigit() or len(cursor) > 18:
            raise ApiError(400, "bad_cursor", "before is not a cursor this API gave.", fields=["before"])
        qs = qs.filter(id__lt=int(cursor)) if descending else qs.filter(id__gt=int(cursor))
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = str(rows[-1].id) if more and rows else ""
    return {"items": [out(r) for r in rows], "next_cursor": next_cursor, "next": next_link(request, next_cursor)}
