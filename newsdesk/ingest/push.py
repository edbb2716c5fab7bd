"""Newsdesk as a WebSub subscriber: sources' hubs push their feeds to us, polling stays the fallback.

On only when ``NEWSDESK_BASE_URL`` gives the desk a public address a hub can
call back (``<base>/websub/callback/<token>/``). The flow, each step one function:

1. ``hub_discover`` (after a poll parsed a new body): the hub the feed
   advertises, from the HTTP ``Link`` header first, then ``rel="hub"`` and
   ``rel="self"`` in RSS/Atom (``hubs`` and ``feed_url`` in JSON Feed), is
   recorded as a ``SourceHub`` to request.
2. ``hub_subscribe`` POSTs the request (topic, callback, a per-subscription
   secret) to the hub through the fetcher's SSRF guard, as a feed is fetched.
3. ``hub_verify`` answers the hub's intent verification GET: the echo of
   ``hub.challenge`` only for our own token, topic and a request we made;
   the lease is stored, the source's polling relaxed until it ends
   (``Source.push_until``, schedule.py) and a renewal is due before then.
   A ``hub.mode=denied`` puts the source back on its usual polling.
4. ``hub_push_receive`` takes a push: signed with the secret
   (``X-Hub-Signature``: sha1, sha256, sha384 or sha512, as WebSub allows)
   or refused, bounded in size, then the same parse and store as a poll
   (parse.py refuses hostile XML; store.py's unique key absorbs a repeat).
5. ``hub_subscriptions_due`` (beat): leases that ended unrenewed go back to
   polling; requests that are due (new, renewals, retries) are claimed.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse

from newsdesk.models import FetchAttempt, HubState, Source, SourceHub
from newsdesk.signatures import signature_valid

from .fetch import FetchError, post_url
from .parse import FeedRejected, ParsedFeed, parse_feed
from .store import articles_upsert
from .urls import url_safe

log = logging.getLogger(__name__)

SUBSCRIBE_TASK = "newsdesk.tasks.hub_subscribe_request"
# WebSub 8: the hub signs with one of these; sha1 is allowed by the spec, sha256 is what we ask for.
# A request the hub did not verify within this time is sent again; a refused or failed one too.
REQUEST_RETRY = timedelta(hours=1)
DENIED_RETRY = timedelta(days=1)
# A live lease is renewed this fraction of its length before it ends (at least a minute before).
RENEW_FRACTION = 0.1
DUE_LIMIT = 500
_LINK_RE = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]*)*)")
_REL_RE = re.compile(r'rel\s*=\s*"?([^";]*)"?', re.IGNORECASE)


def push_enabled() -> bool:
    """Receiving pushes needs an address the hub can call back: NEWSDESK_BASE_URL."""
    return bool(settings.NEWSDESK_BASE_URL)


def callback_url(*, token: str) -> str:
    return settings.NEWSDESK_BASE_URL.rstrip("/") + reverse("websub-callback", args=[token])


def link_header_rels(value: str, *, base_url: str) -> dict[str, str]:
    """RFC 8288 ``Link`` header: the first URL for each relation (``rel="hub self"`` names two)."""
    found: dict[str, str] = {}
    for url, params in _LINK_RE.findall(value or ""):
        rel = _REL_RE.search(params)
        for name in rel.group(1).lower().split() if rel else ():
            found.setdefault(name, url_safe(url.strip(), base=base_url))
    return found


def hub_links(*, feed: ParsedFeed, headers: dict[str, str], feed_url: str) -> tuple[str, str]:
    """(hub, topic) the feed advertises: the Link header first (WebSub 4), then the document."""
    rels = link_header_rels(headers.get("link", ""), base_url=feed_url)
    if rels.get("hub"):
        return rels["hub"], rels.get("self") or feed.self_url or feed_url
    if feed.hub_url:
        return feed.hub_url, feed.self_url or feed_url
    return "", ""


def _polling_restore(*, source_id: int, now: datetime) -> None:
    """The hub stopped pushing: the source is polled again now, then on its usual schedule."""
    Source.objects.filter(id=source_id).update(push_until=None, next_poll_at=now)


def hub_discover(*, source: Source, feed: ParsedFeed, headers: dict[str, str], now: datetime) -> None:
    """Record (or update) the subscription to the hub this freshly parsed feed advertises."""
    if not push_enabled():
        return
    hub, topic = hub_links(feed=feed, headers=headers, feed_url=source.url)
    current = SourceHub.objects.filter(source_id=source.id).first()
    if not hub:
        if current is not None and current.next_request_at is not None:
            # The feed no longer names a hub: a live lease runs out, it is not renewed.
            SourceHub.objects.filter(id=current.id).update(next_request_at=None)
        return
    if current is not None and (current.hub_url, current.topic_url) == (hub, topic):
        return
    fields = {"hub_url": hub, "topic_url": topic, "state": HubState.PENDING, "secret": secrets.token_urlsafe(32)}
    fields |= {"next_request_at": now, "expires_at": None, "last_error": ""}
    with transaction.atomic():
        if current is None:
            current = SourceHub.objects.create(source_id=source.id, token=secrets.token_urlsafe(24), **fields)
        else:
            SourceHub.objects.filter(id=current.id).update(**fields)
    log.info("event=hub_discovered source_id=%s hub=%s topic=%s", source.id, hub, topic)
    hub_id = current.id
    transaction.on_commit(lambda: _task_subscribe(hub_id))


def _task_subscribe(hub_id: int) -> None:
    from celery import current_app

    try:
        current_app.send_task(SUBSCRIBE_TASK, args=[hub_id])
    except Exception:  # the broker is down: beat's sweep sends it (next_request_at is due)
        log.warning("event=hub_subscribe_enqueue_failed hub_id=%s", hub_id, exc_info=True)


def hub_subscribe(*, hub_id: int, now: datetime) -> str:
    """POST the (re)subscription request to the hub; returns ``requested`` or why not."""
    sub = SourceHub.objects.filter(id=hub_id).first()
    if sub is None or not push_enabled():
        return "nothing"
    # Recorded before the POST: a hub may verify before it even answers the request.
    state = sub.state if sub.state == HubState.LIVE else HubState.REQUESTED
    SourceHub.objects.filter(id=sub.id).update(state=state, requested_at=now, next_request_at=now + REQUEST_RETRY)
    form = {"hub.mode": "subscribe", "hub.topic": sub.topic_url, "hub.callback": callback_url(token=sub.token)}
    form["hub.secret"] = sub.secret
    try:
        answer = post_url(
            url=sub.hub_url,
            body=urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            max_bytes=4096,
        )
        error = "" if 200 <= answer.status < 300 else f"the hub answered HTTP {answer.status}"
    except FetchError as exc:  # the SSRF guard's refusal too: a hub is fetched like a feed
        error = f"request failed ({exc.kind}): {exc}"
    if not error:
        log.info("event=hub_requested hub_id=%s hub=%s", sub.id, sub.hub_url)
        return "requested"
    # A failed renewal keeps a live lease running; anything else is failed until the retry.
    SourceHub.objects.filter(id=sub.id, state=HubState.REQUESTED).update(state=HubState.FAILED)
    SourceHub.objects.filter(id=sub.id).update(last_error=error[:2000])
    log.warning("event=hub_request_failed hub_id=%s error=%s", sub.id, error)
    return "failed"


def hub_verify(
    *, token: str, mode: str, topic: str, challenge: str, lease_seconds: str, reason: str, now: datetime
) -> str | None:
    """The hub's verification of intent (GET on the callback): the body to answer, or None for 404.

    Only our own request is confirmed: the token, the topic we asked for, and a
    subscription we requested (or hold live, for a renewal). Unsubscriptions are
    never ours (a subscription we drop simply lapses), so they are not confirmed.
    """
    sub = SourceHub.objects.filter(token=token).first()
    if sub is None or topic != sub.topic_url:
        return None
    if mode == "denied":
        SourceHub.objects.filter(id=sub.id).update(
            state=HubState.DENIED, expires_at=None, next_request_at=now + DENIED_RETRY,
            last_error=f"denied by the hub: {reason or 'no reason given'}"[:2000],
        )  # fmt: skip
        _polling_restore(source_id=sub.source_id, now=now)
        log.info("event=hub_denied hub_id=%s reason=%s", sub.id, reason)
        return ""
    requested = sub.state in (HubState.REQUESTED, HubState.LIVE) and sub.requested_at is not None
    if mode != "subscribe" or not requested or not challenge or not push_enabled():
        return None
    lease = int(lease_seconds) if lease_seconds.isdigit() else 0
    if lease <= 0:
        return None  # WebSub 5.3: hub.lease_seconds is required when subscribing
    expires = now + timedelta(seconds=lease)
    renew = expires - timedelta(seconds=max(60, lease * RENEW_FRACTION))
    SourceHub.objects.filter(id=sub.id).update(
        state=HubState.LIVE, verified_at=now, lease_seconds=lease, expires_at=expires,
        next_request_at=max(renew, now + timedelta(seconds=30)), last_error="",
    )  # fmt: skip
    Source.objects.filter(id=sub.source_id).update(push_until=expires)
    log.info("event=hub_verified hub_id=%s lease=%s", sub.id, lease)
    return challenge


@dataclass
class PushOutcome:
    status: int
    message: str
    source_id: int = 0
    new: int = 0
    to_enrich: list[int] = field(default_factory=list)


def hub_push_receive(*, token: str, body: bytes, signature: str, headers: dict[str, str], now: datetime) -> PushOutcome:
    """A push on the callback: verified, then parsed and stored as a poll's body is."""
    sub = SourceHub.objects.filter(token=token).select_related("source").first()
    if sub is None or sub.state != HubState.LIVE or not sub.source.enabled or not push_enabled():
        return PushOutcome(410, "No live subscription here.")  # WebSub hubs drop a subscription on 410
    if not signature_valid(secret=sub.secret, body=body, header=signature):
        SourceHub.objects.filter(id=sub.id).update(
            pushes_refused=F("pushes_refused") + 1, last_error="a push was refused: missing or bad X-Hub-Signature"
        )
        log.warning("event=hub_push_refused hub_id=%s reason=signature", sub.id)
        return PushOutcome(403, "Missing or bad X-Hub-Signature.")
    source = sub.source
    attempt = FetchAttempt(source=source, started_at=now, http_status=200, bytes=len(body), detail="WebSub push")
    try:
        feed = parse_feed(body=body, headers=headers, base_url=sub.topic_url)
    except FeedRejected as exc:
        attempt.outcome, attempt.error = FetchAttempt.Outcome.ERROR, f"push rejected: {exc}"[:2000]
        attempt.save()
        SourceHub.objects.filter(id=sub.id).update(last_error=attempt.error)
        return PushOutcome(400, f"Not a feed we accept: {exc}", source_id=source.id)
    with transaction.atomic():
        counts = articles_upsert(source=source, items=feed.items[: settings.NEWSDESK_MAX_ITEMS_PER_POLL], now=now)
        attempt.items_new, attempt.items_updated, attempt.items_unchanged = counts.new, counts.updated, counts.unchanged
        attempt.save()
        SourceHub.objects.filter(id=sub.id).update(pushes=F("pushes") + 1, last_push_at=now)
    log.info("event=hub_push hub_id=%s source_id=%s new=%s updated=%s", sub.id, source.id, counts.new, counts.updated)
    return PushOutcome(204, "", source_id=source.id, new=counts.new, to_enrich=counts.to_enrich)


def hub_subscriptions_due(*, now: datetime) -> list[int]:
    """Beat: end the leases that ran out (polling as usual again) and claim the requests due now."""
    for hub_id, source_id in SourceHub.objects.filter(state=HubState.LIVE, expires_at__lt=now).values_list(
        "id", "source_id"
    ):
        ended = SourceHub.objects.filter(id=hub_id, state=HubState.LIVE, expires_at__lt=now).update(
            state=HubState.EXPIRED, last_error="the lease ended before a renewal was verified"
        )
        if ended:
            _polling_restore(source_id=source_id, now=now)
            # Asked again at once, unless the feed stopped naming a hub (no request planned).
            SourceHub.objects.filter(id=hub_id, next_request_at__isnull=False).update(next_request_at=now)
    if not push_enabled():
        return []
    due = SourceHub.objects.filter(Q(next_request_at__lte=now), source__enabled=True)
    ids = list(due.order_by("next_request_at").values_list("id", flat=True)[:DUE_LIMIT])
    if ids:  # claimed: the next sweep does not send them again while the request is on its way
        SourceHub.objects.filter(id__in=ids).update(next_request_at=now + REQUEST_RETRY)
    return ids
