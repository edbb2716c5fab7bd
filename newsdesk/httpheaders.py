"""What a server's response headers tell us about when to ask it again.

Shared below the stages: the feed fetcher and scheduler (``ingest/``) and
the translation providers (``enrich/``) read the same headers the same way.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_DELTA_SECONDS = re.compile(r"\d{1,10}(?:\.\d+)?")
_MAX_AGE = re.compile(r"(?:^|[,\s])(s-maxage|max-age)\s*=\s*\"?(\d{1,10})", re.IGNORECASE)


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value, or None when absent or unreadable.

    The value is delta-seconds or an HTTP date (RFC 9110, 10.2.3); a date in
    the past means "now" (0), and a date without a zone is read as UTC, as
    RFC 5322 says of ``-0000``.
    """
    value = (value or "").strip()
    if not value:
        return None
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(tz=UTC))).total_seconds())


def max_age_seconds(cache_control: str | None) -> int | None:
    """Cache-Control's max-age in seconds (s-maxage when max-age is absent), or None.

    ``no-cache`` and ``no-store`` say nothing about how often to poll, so
    they are ignored.
    """
    found: dict[str, int] = {}
    for match in _MAX_AGE.finditer(cache_control or ""):
        found.setdefault(match.group(1).lower(), int(match.group(2)))
    return found.get("max-age", found.get("s-maxage"))
