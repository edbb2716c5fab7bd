"""Django system checks for fetch settings: found at start, not at the first poll."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.compatibility)
def fetch_settings_check(app_configs=None, **kwargs) -> list:
    """A bad CIDR in NEWSDESK_FETCH_ALLOWED_NETWORKS would fail every fetch; say so now."""
    errors = []
    for cidr in getattr(settings, "NEWSDESK_FETCH_ALLOWED_NETWORKS", ()) or ():
        try:
            ipaddress.ip_network(str(cidr).strip(), strict=False)
        except ValueError as exc:
            errors.append(
                Error(
                    f"NEWSDESK_FETCH_ALLOWED_NETWORKS: {cidr!r} is not a network ({exc}).",
                    hint="Comma-separated CIDRs, for example 10.0.0.0/8,192.168.10.0/24.",
                    id="newsdesk.E003",
                )
            )
    return errors
