"""The hub endpoint: subscribers POST hub.mode, hub.topic, hub.callback (and hub.lease_seconds, hub.secret)."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from newsdesk.accounts.middleware import public_view
from newsdesk.accounts.throttle import client_ip

from .hub import HubRefused, websub_request

WINDOW_SECONDS = 3600


def _over_limit(request: HttpRequest) -> bool:
    """True once this client made NEWSDESK_WEBSUB_MAX_REQUESTS_PER_IP requests this hour.

    Each request makes the hub call a URL back: an open hub must not become a way to make
    Newsdesk send requests on someone's behalf.
    """
    key = f"websub-requests:{client_ip(request=request)}"
    try:
        cache.add(key, 0, timeout=WINDOW_SECONDS)
        return cache.incr(key) > settings.NEWSDESK_WEBSUB_MAX_REQUESTS_PER_IP
    except Exception:  # the cache down: let the request through (the SSRF guard still applies)
        return False


def _text(body: str, status: int) -> HttpResponse:
    return HttpResponse(body + "\n", status=status, content_type="text/plain; charset=utf-8")


@public_view  # the hub checks each topic itself (topic_check): on a private desk only token feeds
@csrf_exempt  # subscribers are other servers, not browsers with a session
@require_POST
def websub_hub(request: HttpRequest) -> HttpResponse:
    """202 once the request is recorded: the callback is verified asynchronously, as WebSub expects."""
    if _over_limit(request):
        response = _text("Too many subscription requests from this address; try again later.", 429)
        response["Retry-After"] = str(WINDOW_SECONDS)
        return response
    data = request.POST
    lease = data.get("hub.lease_seconds", "")
    try:
        websub_request(
            mode=data.get("hub.mode", ""),
            topic=data.get("hub.topic", ""),
            callback=data.get("hub.callback", ""),
            lease_seconds=int(lease) if lease.isdigit() else None,
            secret=data.get("hub.secret", ""),
            host=request.get_host(),
        )
    except HubRefused as exc:
        return _text(str(exc), exc.status)
    return _text("Accepted: the hub will verify the callback's intent.", 202)
