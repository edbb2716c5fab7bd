"""Secret tokens for saved views' private feeds: made with ``secrets``, stored as SHA-256, revocable.

The raw token exists only in the response that creates it and in the feed
reader's URL. The database keeps its SHA-256 digest: a leaked backup or
admin screen reveals no usable URL. A 256-bit random token needs no slow
hash or salt; nothing can be brute-forced from its digest.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from newsdesk.models import FeedToken, SavedView

from .desks import saved_view_get
from .roles import user_can_read_desk

TOKEN_BYTES = 32  # 256 bits; token_urlsafe(32) gives 43 characters
# What a token looks like in a URL; anything else is refused before any lookup.
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


@transaction.atomic
def feed_token_rotate(*, owner: AbstractBaseUser, pk: int) -> tuple[SavedView, str]:
    """Make a fresh token for the owner's view, revoking any live one; return the raw token.

    The old token's URL gives 404 from the moment this commits.
    """
    # Locking the view serialises two rotations, so exactly one token stays live.
    view = SavedView.objects.select_for_update().get(owner=owner, pk=pk)
    FeedToken.objects.filter(saved_view=view, revoked_at__isnull=True).update(revoked_at=timezone.now())
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    FeedToken.objects.create(saved_view=view, token_hash=token_digest(raw))
    return view, raw


def feed_token_revoke(*, owner: AbstractBaseUser, pk: int) -> int:
    """Revoke the owner's live token for a view; returns how many were revoked (0 or 1)."""
    view = saved_view_get(owner=owner, pk=pk)
    return FeedToken.objects.filter(saved_view=view, revoked_at__isnull=True).update(revoked_at=timezone.now())


def feed_token_resolve(*, raw: str) -> SavedView | None:
    """The saved view a raw token opens, or None when it is malformed, unknown or revoked.

    The lookup is by digest (an index probe whose timing depends only on the
    digest, which says nothing about other tokens); the final comparison of
    digests is constant-time all the same. The owner must still be allowed to
    read the desk: deactivating an editor closes their feeds too.
    """
    if not isinstance(raw, str) or not TOKEN_RE.match(raw):
        return None
    digest = token_digest(raw)
    token = (
        FeedToken.objects.select_related("saved_view", "saved_view__owner")
        .filter(token_hash=digest, revoked_at__isnull=True)
        .first()
    )
    if token is None or not hmac.compare_digest(token.token_hash.encode(), digest.encode()):
        return None
    if not user_can_read_desk(user=token.saved_view.owner):
        return None
    now = timezone.now()
    # Coarse "last used", written at most once a minute so a busy reader costs no writes.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        FeedToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.saved_view
