"""Failed-login throttling, counted in the cache (Redis), in three windows.

* per (account, client IP): ``NEWSDESK_LOGIN_MAX_FAILURES_PER_ACCOUNT``. A
  guesser locks the account only for the address it guesses from, so nobody
  can lock the rightful owner (or an admin) out by failing on purpose;
* per client IP, whatever the account: ``NEWSDESK_LOGIN_MAX_FAILURES_PER_IP``
  (one address spraying many accounts);
* per account, all clients together: ``NEWSDESK_LOGIN_MAX_FAILURES_PER_ACCOUNT_ALL``,
  a high global cap against a guesser spread over many addresses. When it
  is reached, ``manage.py unlock_login USERNAME`` lets the owner in again.

A fixed window per key: the first failure starts it, each failure adds one,
and at the limit every further attempt is refused *before* the password is
checked, so a locked-out guesser learns nothing. A success clears the
(account, client) counter only: one right password must not reset a spray
across many accounts, nor a distributed attack on this one.

It is wired in twice: ``ThrottledModelBackend`` refuses throttled attempts for
every login form (ours and Django admin's), and the ``user_login_failed``
signal counts failures from any of them.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest

from newsdesk.redisconn import cache_call, cache_get_many

log = logging.getLogger(__name__)

_PREFIX = "login-fail"


def client_ip(*, request: HttpRequest | None) -> str:
    """The client's address: REMOTE_ADDR, or X-Forwarded-For as written by our own trusted proxies.

    With ``NEWSDESK_TRUSTED_PROXY_COUNT=n`` the n-th address from the right of
    X-Forwarded-For is taken, the one our outermost proxy saw; anything left
    of it is client-supplied and could be forged to dodge the throttle.
    """
    if request is None:
        return "unknown"
    hops = settings.NEWSDESK_TRUSTED_PROXY_COUNT
    if hops > 0:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _digest(username: str) -> str:
    # Hashed so that neither odd characters nor the name itself end up in a cache key.
    return hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]


def _account_key(username: str) -> str:
    return f"{_PREFIX}:user:{_digest(username)}"


def _epoch_key(username: str) -> str:
    """Bumped by ``login_unlock``: every (account, client) counter of the account is then new."""
    return f"{_PREFIX}:epoch:{_digest(username)}"


def _pair_key(username: str, ip: str, epoch: int) -> str:
    return f"{_PREFIX}:pair:{_digest(username)}:{epoch}:{ip}"


def _ip_key(ip: str) -> str:
    return f"{_PREFIX}:ip:{ip}"


def _keys(*, username: str, ip: str) -> list[tuple[str, int]]:
    keys = [(_ip_key(ip), settings.NEWSDESK_LOGIN_MAX_FAILURES_PER_IP)]
    if username:
        epoch = cache_call(lambda: cache.get(_epoch_key(username), 0), default=0, what="login throttle")
        keys.append((_pair_key(username, ip, int(epoch or 0)), settings.NEWSDESK_LOGIN_MAX_FAILURES_PER_ACCOUNT))
        keys.append((_account_key(username), settings.NEWSDESK_LOGIN_MAX_FAILURES_PER_ACCOUNT_ALL))
    return keys


def login_throttled(*, username: str, request: HttpRequest | None) -> bool:
    """True when this client, this (account, client) pair or this account has reached its failure limit."""
    ip = client_ip(request=request)
    keys = _keys(username=username or "", ip=ip)
    # With the cache down no failure can be counted, so none refuses a sign-in:
    # the desk stays usable, and the password check still protects it.
    counts = cache_get_many([k for k, _ in keys], what="login throttle")
    return any(counts.get(k, 0) >= limit for k, limit in keys)


def login_failure_record(*, username: str, request: HttpRequest | None) -> None:
    window = settings.NEWSDESK_LOGIN_LOCKOUT_SECONDS
    for key, _ in _keys(username=username or "", ip=client_ip(request=request)):
        cache_call(lambda key=key: _failure_count(key, window), default=None, what="login throttle")


def _failure_count(key: str, window: int) -> None:
    # add() starts the window only if none is running; incr() is atomic in Redis.
    cache.add(key, 0, timeout=window)
    try:
        cache.incr(key)
    except ValueError:
        # The window expired between add() and incr(): start a new one.
        cache.set(key, 1, timeout=window)


def _pair_forget(username: str, ip: str) -> list[str]:
    epoch = cache_call(lambda: cache.get(_epoch_key(username), 0), default=0, what="login throttle")
    return [_pair_key(username, ip, int(epoch or 0))]


def login_failures_clear(*, username: str, ip: str | None = None) -> None:
    """The (account, ``ip``) counter starts again, and with ``ip`` given, that address's own counter."""
    keys = _pair_forget(username, ip or "unknown") + ([_ip_key(ip)] if ip is not None else [])
    cache_call(lambda: cache.delete_many(keys), default=None, what="login throttle")


def login_unlock(*, username: str, ips: tuple[str, ...] = ()) -> None:
    """Let an account in again from everywhere (an admin's ``manage.py unlock_login``):
    its global counter and every (account, client) counter go, and the given
    addresses' own counters too."""

    def unlock() -> None:
        cache.add(_epoch_key(username), 0, timeout=None)
        cache.incr(_epoch_key(username))
        cache.delete_many([_account_key(username), *(_ip_key(ip) for ip in ips)])

    cache_call(unlock, default=None, what="login throttle")


class ThrottledModelBackend(ModelBackend):
    """Django's model backend, refusing attempts from a throttled IP or for a throttled account.

    Raising PermissionDenied stops ``authenticate()`` from trying any other
    backend and still sends ``user_login_failed``.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(self._username_field_name())
        if login_throttled(username=username or "", request=request):
            log.warning("login refused: throttled ip=%s", client_ip(request=request))
            raise PermissionDenied("too many failed logins")
        return super().authenticate(request, username=username, password=password, **kwargs)

    @staticmethod
    def _username_field_name() -> str:
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD


@receiver(user_login_failed, dispatch_uid="newsdesk.accounts.throttle.failed")
def _on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    username = credentials.get("username", "") if isinstance(credentials, dict) else ""
    if login_throttled(username=username, request=request):
        # Already locked: refused attempts do not extend the window.
        return
    login_failure_record(username=username, request=request)
    log.info("login failed ip=%s", client_ip(request=request))


@receiver(user_logged_in, dispatch_uid="newsdesk.accounts.throttle.succeeded")
def _on_logged_in(sender, request, user, **kwargs) -> None:
    keys = _pair_forget(user.get_username(), client_ip(request=request))
    cache_call(lambda: cache.delete_many(keys), default=None, what="login throttle")
