"""A private desk's reader, remembered per session for the live dashboard's polls.

Every open dashboard asks ``/live/`` every ``NEWSDESK_LIVE_POLL_SECONDS``.
On a private desk each ask would first load the session, the user and the
user's and groups' permissions (four queries) only to learn, again, that
this session may read the desk. Instead, after the whole stack has said yes
once, a *pass* is kept in the cache (Redis) under a digest of the session key:
``(user id, access epoch, until)``. The next polls of that session show the
pass and are answered without the session, auth or any query.

Revocation:

- **at once** for every change made through Django (admin, the accounts
  pages, ``manage.py``, the ORM): signing out, a deleted session, a saved or
  deleted user (deactivated, demoted, new password), a change of anyone's
  groups or permissions, or of a group's permissions. Each bumps one global
  *access epoch*; a pass holds the epoch it was made under and is void once
  the epoch moved. The epoch is read before the reader is checked, and bumped
  when the change is made and again when it commits, so a pass made from the
  old state during the change is void too. A sign-in (its ``last_login``
  stamp, the anonymous session it replaces) voids nothing.
- **within** :data:`PASS_SECONDS` for what Django cannot see (raw SQL on the
  auth tables, a session expiring by the clock): a pass is never older.
- With the cache unreachable there is no pass: every poll takes the whole stack.

The read API remembers a token owner's right to read the desk under the same
epoch (:func:`reader_right`), so a token's request costs one simple token
query instead of the permission queries.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model, user_logged_out
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpRequest

from newsdesk.redisconn import cache_call, cache_get_many, cache_set

from .roles import user_can_read_desk

EPOCH_KEY = "live:access-epoch"
# The longest a pass lives: the bound on revocations Django does not see.
PASS_SECONDS = 60
EPOCH_ATTR = "newsdesk_access_epoch"


def pass_key(session_key: str) -> str:
    """Where a session's pass is kept: a digest, so the cache never holds a session key."""
    return "live:pass:" + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def session_key_of(request: HttpRequest) -> str:
    return request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")


def pass_valid(found: dict[str, object], *, session_key: str, now: float | None = None) -> bool:
    """True when ``found`` (the cache's values of EPOCH_KEY and the session's pass) holds a live pass."""
    epoch = found.get(EPOCH_KEY)
    held = found.get(pass_key(session_key))
    if epoch is None or not (isinstance(held, tuple) and len(held) == 3):
        return False
    _, held_epoch, until = held
    return held_epoch == epoch and (time.time() if now is None else now) < until


def pass_grant(request: HttpRequest, response_status: int) -> None:
    """After a whole-stack answer: keep a pass for this session if its reader may read the desk.

    Only under the epoch read *before* the reader was checked (``EPOCH_ATTR``):
    a change since then voids the pass it would have made.
    """
    epoch = getattr(request, EPOCH_ATTR, None)
    session = getattr(request, "session", None)
    if epoch is None or response_status != 200 or session is None:
        return
    session_key = session_key_of(request)
    if not session_key or session.session_key != session_key or not user_can_read_desk(user=request.user):
        return
    held = (request.user.pk, epoch, time.time() + PASS_SECONDS)
    cache_set(pass_key(session_key), held, timeout=PASS_SECONDS, what="live_pass")


def reader_right(user) -> bool:
    """``user_can_read_desk(user)``, remembered under the access epoch for at most PASS_SECONDS.

    Active staff and superusers need no lookup; anyone else costs one Redis
    read (the epoch and the remembered answer together) instead of the user's
    and groups' permission queries, and those queries once per epoch.
    """
    if not user.is_active:
        return False
    if user.is_staff or user.is_superuser:
        return True
    key = f"live:reader:{user.pk}"
    found = cache_get_many([EPOCH_KEY, key], what="reader_right")
    epoch, held = found.get(EPOCH_KEY), found.get(key)
    if epoch is not None and isinstance(held, tuple) and len(held) == 2 and held[0] == epoch:
        return bool(held[1])
    if epoch is None:
        epoch = epoch_current()  # read before the check, like a pass
    right = user_can_read_desk(user=user)
    if epoch is not None:
        cache_set(key, (epoch, right), timeout=PASS_SECONDS, what="reader_right")
    return right


def epoch_current() -> int | None:
    """The access epoch, made (at a random value) if missing; None when the cache is unreachable."""

    def read() -> int | None:
        value = cache.get(EPOCH_KEY)
        if value is None:
            cache.add(EPOCH_KEY, secrets.randbits(52), timeout=None)
            value = cache.get(EPOCH_KEY)
        return value

    return cache_call(read, default=None, what="live_access_epoch")


def _bump() -> None:
    def bump() -> None:
        try:
            cache.incr(EPOCH_KEY)
        except ValueError:  # missing: a fresh random value, never one an old pass holds
            cache.set(EPOCH_KEY, secrets.randbits(52), timeout=None)

    cache_call(bump, default=None, what="live_access_epoch_bump")


def access_changed(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """Void every pass: now, and once more when the current transaction commits.

    Now, so the change counts at once for this process and its tests; at the
    commit, because a pass granted from the old rows while the transaction was
    open would otherwise hold the epoch of the first bump. One commit bump per
    transaction, however many rows it changes.
    """
    _bump()
    connection = connections[using]
    if connection.in_atomic_block and not any(func is _bump for _, func, _ in connection.run_on_commit):
        transaction.on_commit(_bump, using=using)


def _on_change(sender, using=DEFAULT_DB_ALIAS, update_fields=None, action="post_", **kwargs) -> None:
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # a sign-in stamping its time takes no right away
    if action.startswith("post_"):  # m2m changes: once, after the rows changed
        access_changed(using=using or DEFAULT_DB_ALIAS)


def _on_session_delete(sender, instance=None, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    # Only a signed-in session can hold a pass: the anonymous one a sign-in replaces
    # (cycle_key) leaves the others' passes alone.
    if instance is None or SESSION_KEY in instance.get_decoded():
        access_changed(using=using or DEFAULT_DB_ALIAS)


def _on_logout(sender, request=None, **kwargs) -> None:
    access_changed()


def signals_connect() -> None:
    """Every write that can take a reader's right away voids the passes (see the module docstring)."""
    from django.contrib.sessions.models import Session

    User = get_user_model()
    for model in (User, Group, Permission):
        name = f"{model._meta.app_label}.{model.__name__}"
        post_save.connect(_on_change, sender=model, dispatch_uid=f"live-pass-save-{name}")
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"live-pass-delete-{name}")
    # A saved session grants nothing by itself; a deleted one revokes.
    post_delete.connect(_on_session_delete, sender=Session, dispatch_uid="live-pass-delete-session")
    for through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
        m2m_changed.connect(_on_change, sender=through, dispatch_uid=f"live-pass-m2m-{through.__name__}")
    user_logged_out.connect(_on_logout, dispatch_uid="live-pass-logout")
