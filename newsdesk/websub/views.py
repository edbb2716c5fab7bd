"""The hub endpoint: subscribers POST hub.mode, hub.topic, hub.callback (and hub.lease_seconds, hub.secret)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from newsdesk.accounts.middleware import public_view

from .hub import HubRefused, websub_request


def _text(body: str, status: int) -> HttpResponse:
    return HttpResponse(body + "\n", status=status, content_type="text/plain; charset=utf-8")


@public_view  # the hub checks each topic itself (topic_check): on a private desk only token feeds
@csrf_exempt  # subscribers are other servers, not browsers with a session
@require_POST
def websub_hub(request: HttpRequest) -> HttpResponse:
    """202 once the request is recorded: the callback is verified asynchronously, as WebSub expects."""
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
