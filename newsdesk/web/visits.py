""" "New since your last visit": where the articles an editor has not seen begin.

Saved views keep ``seen_article_id`` (opening one moves it on and passes the
old value to the dashboard as ``seen``); the unfiltered dashboard keeps the
same per user in :class:`DeskVisit`. A visit is one full render of the first
page, and costs one small write.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from newsdesk.models import DeskVisit


def desk_visit(*, user: AbstractBaseUser, latest_id: int) -> int | None:
    """Record a visit of the unfiltered dashboard; return the highest id seen before it (None the first time)."""
    visit = DeskVisit.objects.filter(user=user).first()
    if visit is None:
        DeskVisit.objects.create(user=user, seen_article_id=latest_id, visited_at=timezone.now())
        return None
    DeskVisit.objects.filter(pk=visit.pk).update(seen_article_id=latest_id, visited_at=timezone.now())
    return visit.seen_article_id


def seen_marker(*, cards: list, seen_id: int | None) -> int | None:
    """The id of the first card the editor had seen, when some card above it is new; else None."""
    if seen_id is None or not cards or cards[0].id <= seen_id:
        return None
    return next((c.id for c in cards if c.id <= seen_id), None)
