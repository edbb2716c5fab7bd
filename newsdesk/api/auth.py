"""Who may call the API: a bearer token, or nobody at all on a public desk.

- ``Authorization: Bearer nd_…``: an editor's token (newsdesk/accounts/apitokens.py),
  looked up on every request, so a revoked one is refused on the next.
- no header: anonymous, allowed only while ``NEWSDESK_DASHBOARD_PUBLIC`` is on,
  and only for what the public dashboard shows (articles, stories, sources).
- anything else (another scheme, a malformed, unknown or revoked token): 401
  ``bad_token``, never a silent fall-back to anonymous.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from ninja.security.base import AuthBase
from ninja.throttling import BaseThrottle

from newsdesk.accounts.apitokens import api_token_resolve
from newsdesk.accounts.throttle import client_ip
from newsdesk.models import ApiToken
from newsdesk.redisconn import redis_client

from .errors import ApiError


@dataclass(frozen=True)
class Caller:
    """``request.auth`` for every API call."""

    token: ApiToken | None

    @property
    def user(self):
        return self.token.owner if self.token else None

    @property
    def is_admin(self) -> bool:
        user = self.user
        return bool(user and user.is_active and (user.is_superuser or user.has_perm("newsdesk.change_source")))

    def __str__(self) -> str:
        return f"token:{self.token.pk}" if self.token else "anonymous"


class DeskAuth(AuthBase):
    """Bearer tokens; anonymous reads on a public desk (``public=True`` endpoints only)."""

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __init__(self, *, public: bool) -> None:
        self.public = public
        super().__init__()

    def __call__(self, request: HttpRequest) -> Caller | None:
        header = request.headers.get("Authorization", "")
        if not header:
            if self.public and settings.NEWSDESK_DASHBOARD_PUBLIC:
                return Caller(token=None)
            return None  # 401 token_required
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise ApiError(401, "bad_token", "The Authorization header must be 'Bearer <token>'.")
        token = api_token_resolve(raw=raw.strip())
        if token is None:
            raise ApiError(401, "bad_token", "This token is malformed, unknown or revoked.")
        return Caller(token=token)


def admin_required(request: HttpRequest) -> Caller:
    caller: Caller = request.auth  # type: ignore[attr-defined]
    if not caller.is_admin:
        raise ApiError(403, "forbidden", "Only an admin's token may change sources.")
    return caller


def _parse_rate(rate: str) -> tuple[int, int]:
    count, _, period = rate.partition("/")
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(period.strip()[:1].lower())
    if not count.strip().isdigit() or seconds is None:
        raise ValueError(f"a rate looks like '600/m', got {rate!r}")
    return int(count), seconds


# Count one request in its window and give the window its expiry: one round trip
# (through Django's cache it was three: SET NX, then EXISTS and INCR).
_COUNT_LUA = "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n"
_scripts: dict[int, object] = {}


def _count_script():
    client = redis_client(timeout=1.0)
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_COUNT_LUA)
    return script


class DeskThrottle(BaseThrottle):
    """A fixed-window counter per token (per client address when anonymous), in Redis.

    ``INCR`` is atomic in Redis, so parallel requests of one client are all
    counted. A Redis outage lets requests through rather than refusing them.
    """

    def __init__(self) -> None:
        # One instance serves every thread: the wait belongs to the request that was refused.
        self._local = threading.local()

    def allow_request(self, request: HttpRequest) -> bool:
        caller = getattr(request, "auth", None)
        if caller is not None and getattr(caller, "token", None) is not None:
            # The digest, not the id: ids come back after a restore, digests do not.
            ident, rate = f"t{caller.token.token_hash[:24]}", settings.NEWSDESK_API_RATE_TOKEN
        else:
            address = hashlib.sha256(client_ip(request=request).encode()).hexdigest()[:24]
            ident, rate = f"a{address}", settings.NEWSDESK_API_RATE_ANONYMOUS
        limit, period = _parse_rate(rate)
        window = int(time.time() // period)
        try:
            count = int(_count_script()(keys=[f"newsdesk:api-rate:{ident}:{period}:{window}"], args=[period + 1]))
        except Exception:
            return True
        if count > limit:
            self._local.wait = max(1, math.ceil((window + 1) * period - time.time()))
            return False
        return True

    def wait(self) -> float | None:
        return getattr(self._local, "wait", None)
