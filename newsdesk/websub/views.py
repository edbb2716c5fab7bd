"""The hub endpoint (subscribers POST hub.mode, hub.topic, hub.callback, hub.lease_seconds, hub.secret),
and the callback sources' hubs call us on (intent verification GET, content distribution POST)."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from newsdesk.accounts.middleware import public_view
from newsdesk.accounts.throttle import client_ip
from newsdesk.ingest.push import hub_push_receive, hub_verify
from newsdesk.tasks import enrich_enqueue

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


@public_view  # hubs are servers; the token in the path names the subscription
@csrf_exempt  # a push is checked by its HMAC signature, not a session
@require_http_methods(["GET", "POST"])
def websub_callback(request: HttpRequest, token: str) -> HttpResponse:
    """Where a source's hub verifies our intent (GET) and pushes the feed (POST, signed)."""
    now = timezone.now()
    if request.method == "GET":
        query = request.GET
        answer = hub_verify(
            token=token,
            mode=query.get("hub.mode", ""),
            topic=query.get("hub.topic", ""),
            challenge=query.get("hub.challenge", ""),
            lease_seconds=query.get("hub.lease_seconds", ""),
            reason=query.get("hub.reason", ""),
            now=now,
        )
        if answer is None:
            return _text("No such subscription request here.", 404)
        return HttpResponse(answer, content_type="text/plain; charset=utf-8")
    cap = int(settings.NEWSDESK_FETCH_MAX_BYTES)  # a pushed feed is bounded as a fetched one is
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > cap:
        return _text(f"A push is limited to {cap} bytes.", 413)
    body = request.read(cap + 1)
    if len(body) > cap:
        return _text(f"A push is limited to {cap} bytes.", 413)
    headers = {"content-type": request.headers.get("Content-Type", "")}
    outcome = hub_push_receive(
        token=token, body=body, signature=request.headers.get("X-Hub-Signature", ""), headers=headers, now=now
    )
    if outcome.to_enrich:
        enrich_enqueue(by_source={outcome.source_id: outcome.to_enrich})
    if outcome.status == 204:
        return HttpResponse(status=204)
    return _text(outcome.message, outcome.status)
