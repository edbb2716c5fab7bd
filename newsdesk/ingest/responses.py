"""What a fetched response means for a feed: the one status-to-outcome mapping.

As Miniflux's response handler does, the poller classifies a fetch once
(:func:`response_classify`) and then takes one short branch per verdict.
Failures before any response (DNS, timeouts, the SSRF guard...) are
:class:`~newsdesk.ingest.fetch.FetchError` and never reach this module.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from enum import StrEnum

from .fetch import FetchResult

# Statuses that mean "not now": an error whose retry honours Retry-After.
THROTTLED_STATUSES = frozenset({429, 503})


class Verdict(StrEnum):
    NOT_MODIFIED = "not_modified"  # 304: nothing new, nothing read
    GONE = "gone"  # 410: the publisher removed the feed; disable the source
    THROTTLED = "throttled"  # 429/503: an error, retried no sooner than Retry-After
    HTTP_ERROR = "http_error"  # any other status outside 2xx/3xx (401, 404, 500...)
    UNCHANGED = "unchanged"  # a body identical to the last one stored: not parsed
    CHANGED = "changed"  # a new body: parse and store it


@dataclass(frozen=True, slots=True)
class Classified:
    verdict: Verdict
    status: int
    # sha256 of the body, for a 2xx/3xx response ("" otherwise).
    body_hash: str = ""
    # Server floors on the next poll, in whole seconds (None: no hint).
    max_age: int | None = None
    retry_after: int | None = None


def response_classify(*, result: FetchResult, content_hash: str) -> Classified:
    """The verdict on ``result`` for a source whose last stored body hashed to ``content_hash``."""
    status = result.status
    max_age = result.max_age_seconds
    retry_after = None if result.retry_after_seconds is None else math.ceil(result.retry_after_seconds)

    def verdict(kind: Verdict, body_hash: str = "") -> Classified:
        return Classified(kind, status, body_hash, max_age, retry_after)

    if status == 304:
        return verdict(Verdict.NOT_MODIFIED)
    if status == 410:
        return verdict(Verdict.GONE)
    if status in THROTTLED_STATUSES:
        return verdict(Verdict.THROTTLED)
    if status < 200 or status >= 400:
        # Backoff and, in the end, disabling handle a feed that stays broken.
        return verdict(Verdict.HTTP_ERROR)
    body_hash = hashlib.sha256(result.body).hexdigest()
    return verdict(Verdict.UNCHANGED if body_hash == content_hash else Verdict.CHANGED, body_hash)
