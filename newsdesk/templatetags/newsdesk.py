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
