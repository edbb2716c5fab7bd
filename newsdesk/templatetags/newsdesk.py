from __future__ import annotations

from datetime import UTC, datetime

from django import template

from newsdesk.web.countries import country_name as _country_name
from newsdesk.web.countries import flag as _flag

register = template.Library()


@register.filter
def flag(code: str) -> str:
    return _flag(code)


@register.filter
def country_name(code: str) -> str:
    return _country_name(code)


@register.filter
def card_time(value: datetime | None) -> str:
    """'Feb 9 • 11:00 UTC', as on the dashboard card."""
    if value is None:
        return ""
    value = value.astimezone(UTC)
    return f"{value:%b} {value.day} • {value:%H:%M} UTC"


@register.filter
def similar_count(story) -> int:
    """Other outlets covering the story: the N of '📡 Similar Coverage (N)'."""
    if story is None:
        return 0
    return max((story.source_count or 0) - 1, 0)


@register.filter
def http_url(value: str) -> str:
    """``value`` if it is an http(s) URL, else ''. Autoescape does not stop ``javascript:``."""
    value = (value or "").strip()
    return value if value.lower().startswith(("http://", "https://")) else ""
