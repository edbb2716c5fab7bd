"""Saved views ("desks"): save, rename, reorder, delete, open, and count what is new.

Every function takes the owner and refuses (``SavedView.DoesNotExist``) a
view that belongs to someone else, so a view can never act on another
editor's desk by guessing an id.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Max
from django.http import QueryDict
from django.utils import timezone

from newsdesk.models import Article, SavedView
from newsdesk.redisconn import cache_get, cache_set
from newsdesk.web.filters import ArticleFilter

NAME_MAX = 120

log = logging.getLogger(__name__)


class DeskError(ValueError):
    """A user-facing reason why a saved-view change was refused."""


def saved_view_query_normalize(*, query: str) -> str:
    """The canonical, allowlisted form of a dashboard query string.

    Going through ``ArticleFilter`` drops unknown or invalid parameters (and
    the pagination cursor), so what is stored is exactly what the dashboard
    and feeds will apply.
    """
    return ArticleFilter.from_query(QueryDict(query)).as_query()


def saved_view_filter(*, view: SavedView) -> ArticleFilter:
    return ArticleFilter.from_query(QueryDict(view.query))


def saved_view_problem(*, view: SavedView) -> str:
    """Why a saved view can no longer be evaluated as saved ('' when it can).

    A stored value the filter now refuses (a date out of range saved before
    dates were checked, say) would be dropped, and the view would silently
    show more than its owner chose: such a view is broken, shown as such, and
    its counts, feeds and alerts match nothing until it is saved again.
    """
    ignored = saved_view_filter(view=view).ignored
    if ignored:
        return f"its saved filter holds values that can no longer be used ({', '.join(ignored)}); save the view again"
    return ""


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DeskError("Give the view a name.")
    if len(name) > NAME_MAX:
        raise DeskError(f"Names are at most {NAME_MAX} characters.")
    return name


def _latest_article_id() -> int:
    return Article.objects.aggregate(m=Max("id"))["m"] or 0


def saved_views_of(*, owner: AbstractBaseUser) -> list[SavedView]:
    return list(SavedView.objects.filter(owner=owner).order_by("position", "id"))


def saved_view_get(*, owner: AbstractBaseUser, pk: int) -> SavedView:
    return SavedView.objects.get(owner=owner, pk=pk)


def saved_view_create(*, owner: AbstractBaseUser, name: str, query: str) -> SavedView:
    """Save a filter set under a name, at the end of the owner's list.

    The new view counts as opened now: "new" means new since it was saved.
    """
    name = _clean_name(name)
    limit = settings.NEWSDESK_MAX_SAVED_VIEWS
    try:
        with transaction.atomic():
            existing = SavedView.objects.select_for_update().filter(owner=owner)
            positions = list(existing.values_list("position", flat=True))
            if len(positions) >= limit:
                raise DeskError(f"You can keep at most {limit} saved views; delete one first.")
            return SavedView.objects.create(
                owner=owner,
                name=name,
                query=saved_view_query_normalize(query=query),
                position=max(positions, default=-1) + 1,
                last_opened_at=timezone.now(),
                seen_article_id=_latest_article_id(),
            )
    except IntegrityError as exc:
        raise DeskError(f"You already have a view named “{name}”.") from exc


def saved_view_rename(*, owner: AbstractBaseUser, pk: int, name: str) -> SavedView:
    name = _clean_name(name)
    view = saved_view_get(owner=owner, pk=pk)
    if view.name == name:
        return view
    try:
        with transaction.atomic():
            view.name = name
            view.save(update_fields=["name"])
    except IntegrityError as exc:
        raise DeskError(f"You already have a view named “{name}”.") from exc
    return view


@transaction.atomic
def saved_view_move(*, owner: AbstractBaseUser, pk: int, offset: int) -> list[SavedView]:
    """Move a view ``offset`` places up (negative) or down, renumbering the list 0..n-1.

    Renumbering the whole (small) list under a row lock keeps positions
    unique and gap-free even after deletes or two concurrent moves.
    """
    views = list(SavedView.objects.select_for_update().filter(owner=owner).order_by("position", "id"))
    index = next((i for i, v in enumerate(views) if v.pk == pk), None)
    if index is None:
        raise SavedView.DoesNotExist(f"no saved view {pk} for this user")
    target = min(max(index + offset, 0), len(views) - 1)
    views.insert(target, views.pop(index))
    for position, view in enumerate(views):
        if view.position != position:
            view.position = position
            view.save(update_fields=["position"])
    return views


def saved_view_delete(*, owner: AbstractBaseUser, pk: int) -> SavedView:
    """Delete a view and, with it, its feed tokens: their URLs give 404 from now on. Returns the deleted view."""
    view = saved_view_get(owner=owner, pk=pk)
    view.delete()
    return view


def saved_view_open(*, owner: AbstractBaseUser, pk: int) -> SavedView:
    """Mark the view as opened now; its new-article count starts again from zero."""
    view = saved_view_get(owner=owner, pk=pk)
    view.last_opened_at = timezone.now()
    view.seen_article_id = max(view.seen_article_id, _latest_article_id())
    view.save(update_fields=["last_opened_at", "seen_article_id"])
    return view


@dataclass(frozen=True)
class NewCount:
    count: int
    capped: bool
    broken: str = ""  # saved_view_problem, or why counting failed

    @property
    def label(self) -> str:
        if self.broken:
            return "broken"
        if self.capped:
            return f"{self.count}+"
        return str(self.count)


def saved_view_new_count(*, view: SavedView) -> NewCount:
    """How many matching articles arrived since the view was last opened, capped.

    ``SELECT COUNT(*) FROM (... LIMIT cap+1)``: the database stops after the
    cap, so a busy view costs the same as a quiet one. Arrival is measured by
    article id (ids only grow), which also counts late-fetched items with old
    publication dates. The figure is cached for ``NEWSDESK_NEW_COUNT_CACHE_SECONDS``
    so a sidebar of many views does not re-run a search per view on every
    page; opening or editing a view changes the key, so its badge is never
    stale after the editor acted.
    """
    ttl = settings.NEWSDESK_NEW_COUNT_CACHE_SECONDS
    key = _new_count_key(view)
    if ttl > 0:
        cached = cache_get(key, what="saved view count")
        if cached is not None:
            return NewCount(count=cached[0], capped=cached[1])
    problem = saved_view_problem(view=view)
    if problem:
        return NewCount(count=0, capped=False, broken=problem)
    cap = settings.NEWSDESK_NEW_COUNT_CAP
    qs = saved_view_filter(view=view).queryset().filter(id__gt=view.seen_article_id).order_by()
    try:
        # Requests run in autocommit (no ATOMIC_REQUESTS): a failed count leaves the page's connection usable.
        n = qs.values("id")[: cap + 1].count()
    except (ArithmeticError, ValueError, DatabaseError) as exc:
        # One view that cannot be counted must not take the page down with it.
        log.warning("event=saved_view_count_failed view_id=%s error=%r", view.pk, exc)
        return NewCount(count=0, capped=False, broken=f"it could not be evaluated ({type(exc).__name__})")
    result = NewCount(count=cap, capped=True) if n > cap else NewCount(count=n, capped=False)
    if ttl > 0:
        cache_set(key, (result.count, result.capped), timeout=ttl, what="saved view count")
    return result


def _new_count_key(view: SavedView) -> str:
    # created_at keeps keys apart when a database is recreated and ids repeat (tests, restores).
    state = f"{view.pk}|{view.created_at.timestamp():.6f}|{view.seen_article_id}|{view.query}|{settings.NEWSDESK_NEW_COUNT_CAP}"
    return "desk-new:" + hashlib.sha256(state.encode()).hexdigest()[:32]
