"""Subscriptions, intent verification and publishing of the WebSub hub.

The flow, each step one function:

1. ``websub_request`` checks a subscriber's request (the topic is one of this
   desk's feeds that a hub may push; the callback passes the feeds' SSRF
   guard), records it as *requested*, and sends the verification task after
   the commit. The live subscription changes only once the callback confirms.
2. ``websub_verify`` GETs the callback with a random ``hub.challenge``; a 2xx
   echoing it confirms the request: a subscription becomes live for its
   lease (starting from the feed's current ETag), an unsubscription removes it.
3. ``websub_publish`` (beat, every ``NEWSDESK_WEBSUB_PUBLISH_SECONDS``) does
   nothing at all while the feeds' global version (newsdesk/changes.py) has
   not moved; otherwise it asks each live subscription's feed, through the
   feed view itself with ``If-None-Match: <last ETag>``, whether it changed.
   That is the feeds' own conditional GET (web/feeds/conditional.py): one
   validator check per subscription, answered from the memo when that view
   did not change. A changed feed is queued as one delivery (the whole feed
   document, signed), sent by Celery after the commit and retried with
   backoff by the delivery service.

Private token feeds: a subscription to one names its token in the topic, so
only a holder of the token can make one; the feed is asked with that token at
every publish, so a rotated or revoked token (404) ends the subscription
before anything is pushed. On a private desk the dashboard feeds are never
subscribable (a hub cannot sign in).
"""

from __future__ import annotations

import io
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.core.handlers.wsgi import WSGIRequest
from django.db import transaction
from django.http import Http404
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone

from newsdesk.accounts.middleware import TOKEN
from newsdesk.changes import versioned_get, versioned_set
from newsdesk.delivery.service import delivery_queue
from newsdesk.ingest.fetch import FetchError, fetch_url, url_guard_check
from newsdesk.models import Destination, DestinationKind, WebSubSubscription
from newsdesk.perprocess import PerProcess
from newsdesk.redisconn import redis_client
from newsdesk.web.feeds import ArticleFeed

log = logging.getLogger(__name__)

VERIFY_TASK = "newsdesk.tasks.websub_verify_request"
PUBLISH_TASK = "newsdesk.tasks.websub_publish"
PUBLISH_SOON_KEY = "websub:publish-soon"
# Changes committed within this time of each other are pushed by one sweep.
PUBLISH_DEBOUNCE_SECONDS = 0.5
LIVE_KEY = "websub:has-subscribers"
PUBLISHED_KEY = "websub:published-version"
SIGNATURE_HEADER = "X-Hub-Signature"
MAX_SECRET_BYTES = 200  # WebSub: "MUST be less than 200 bytes"
MODES = ("subscribe", "unsubscribe")


class HubRefused(Exception):
    """A request the hub will not take, with the HTTP status and a reason fit for the subscriber."""

    def __init__(self, reason: str, *, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class FeedAnswer:
    status: int
    etag: str
    body: bytes
    content_type: str


def _feed_view(path: str):
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match if isinstance(match.func, ArticleFeed) else None


def topic_check(*, topic: str, host: str) -> str:
    """The topic as the hub keeps it, if it is a feed of this desk the hub may push; else HubRefused."""
    parts = urlsplit(topic.strip())
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != host.lower():
        raise HubRefused(f"hub.topic must be a feed URL of this desk (https://{host}/feeds/...)")
    match = _feed_view(parts.path)
    if match is None:
        raise HubRefused("hub.topic is not a feed of this desk")
    if not settings.NEWSDESK_DASHBOARD_PUBLIC and getattr(match.func, "newsdesk_access", None) != TOKEN:
        raise HubRefused("this desk is private: subscribe to a saved view's private feed URL instead", status=403)
    return parts._replace(fragment="").geturl()


def feed_answer(*, topic: str, etag: str = "") -> FeedAnswer:
    """The topic's feed as a reader polling with ``If-None-Match: etag`` gets it (304 when unchanged)."""
    parts = urlsplit(topic)
    match = _feed_view(parts.path)
    if match is None:
        return FeedAnswer(404, "", b"", "")
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": parts.path,
        "QUERY_STRING": parts.query,
        "SERVER_NAME": parts.hostname or "",
        "SERVER_PORT": str(parts.port or (443 if parts.scheme == "https" else 80)),
        "HTTP_HOST": parts.netloc,
        "wsgi.url_scheme": parts.scheme,
        "wsgi.input": io.BytesIO(),
    }
    if etag:
        environ["HTTP_IF_NONE_MATCH"] = etag
    try:
        response = match.func(WSGIRequest(environ), *match.args, **match.kwargs)
    except Http404:
        return FeedAnswer(404, "", b"", "")
    except SuspiciousOperation:  # the topic's host is no longer in ALLOWED_HOSTS
        log.warning("event=websub_topic_host_refused topic=%s", topic)
        return FeedAnswer(400, "", b"", "")
    return FeedAnswer(
        response.status_code, response.get("ETag", ""), response.content, response.get("Content-Type", "")
    )


def websub_request(
    *, mode: str, topic: str, callback: str, lease_seconds: int | None, secret: str, host: str
) -> WebSubSubscription:
    """Record a (un)subscription request and send its intent verification after the commit."""
    if mode not in MODES:
        raise HubRefused("hub.mode must be subscribe or unsubscribe")
    topic = topic_check(topic=topic, host=host)
    try:
        callback = url_guard_check(url=callback)
    except FetchError as exc:
        raise HubRefused(f"hub.callback refused: {exc}") from exc
    if len(secret.encode()) >= MAX_SECRET_BYTES:
        raise HubRefused("hub.secret must be shorter than 200 bytes")
    if mode == "subscribe" and feed_answer(topic=topic).status != 200:
        raise HubRefused("hub.topic does not answer (a revoked or unknown private feed?)", status=404)
    lease = min(max(lease_seconds or settings.NEWSDESK_WEBSUB_LEASE_SECONDS, 60), settings.NEWSDESK_WEBSUB_LEASE_MAX)
    with transaction.atomic():
        sub = WebSubSubscription.objects.select_for_update().filter(topic=topic, callback=callback).first()
        if sub is None:
            if mode == "unsubscribe":
                raise HubRefused("no such subscription", status=404)
            destination = Destination.objects.create(
                kind=DestinationKind.WEBHOOK, url=callback, label=f"WebSub: {topic}"[:200],
                signature_header=SIGNATURE_HEADER, enabled=False,
            )  # fmt: skip
            sub = WebSubSubscription(topic=topic, callback=callback, destination=destination)
        sub.requested_mode, sub.requested_lease, sub.requested_secret = mode, lease, secret
        sub.requested_at = timezone.now()
        sub.save()
        transaction.on_commit(lambda: _task_verify(sub.id))
    return sub


def _task_verify(subscription_id: int) -> None:
    from celery import current_app

    try:
        current_app.send_task(VERIFY_TASK, args=[subscription_id])
    except Exception:  # the broker is down: the subscriber asks again (its request got no confirmation)
        log.warning("event=websub_verify_enqueue_failed subscription_id=%s", subscription_id, exc_info=True)


def websub_verify(*, subscription_id: int) -> str:
    """Confirm the pending request with the subscriber's callback; returns the outcome.

    A network failure raises FetchError (the task retries it); any other answer settles the request.
    """
    sub = WebSubSubscription.objects.filter(id=subscription_id).select_related("destination").first()
    if sub is None or not sub.requested_mode:
        return "nothing"
    mode, challenge = sub.requested_mode, secrets.token_urlsafe(24)
    params = {"hub.mode": mode, "hub.topic": sub.topic, "hub.challenge": challenge}
    if mode == "subscribe":
        params["hub.lease_seconds"] = str(sub.requested_lease)
    try:
        result = fetch_url(url=sub.callback + ("&" if "?" in sub.callback else "?") + urlencode(params))
    except FetchError as exc:
        if exc.transient:
            raise  # the task tries again
        result = None  # refused for good (the SSRF guard at connect time, a bad URL): not confirmed
    confirmed = result is not None and 200 <= result.status < 300 and result.body.strip() == challenge.encode()
    now = timezone.now()
    with transaction.atomic():
        sub = WebSubSubscription.objects.select_for_update().get(id=sub.id)
        if sub.requested_mode != mode:
            return "superseded"
        if (confirmed and mode == "unsubscribe") or (not confirmed and sub.verified_at is None):
            sub.destination.delete()  # and the subscription with it
            return "unsubscribed" if confirmed else "refused"
        if confirmed:
            sub.verified_at, sub.lease_seconds = now, sub.requested_lease
            sub.expires_at = now + timedelta(seconds=sub.requested_lease)
            sub.last_etag = feed_answer(topic=sub.topic).etag  # pushes start with the next change
            Destination.objects.filter(id=sub.destination_id).update(
                secret=sub.requested_secret, enabled=True, disabled_reason="", failure_streak=0
            )
            transaction.on_commit(lambda: _live_flag(True))
        sub.requested_mode, sub.requested_secret, sub.requested_at = "", "", None
        sub.save()
    log.info("event=websub_verified subscription_id=%s mode=%s confirmed=%s", sub.id, mode, confirmed)
    return "verified" if confirmed else "refused"


def websub_publish_soon() -> None:
    """After a committed change: one publish sweep PUBLISH_DEBOUNCE_SECONDS later, shared by a burst of changes.

    One Redis call and no query per committed write: the sweep is queued only while the
    desk has live subscribers (LIVE_KEY, kept by verification and by the sweep itself).
    Beat's sweep (every NEWSDESK_WEBSUB_PUBLISH_SECONDS) stays the safety net for a lost
    message or a change committed while a sweep was already reading.
    """
    if not settings.NEWSDESK_WEBSUB_PUBLISH_ON_COMMIT:
        return
    client = redis_client(timeout=1.0)
    script = _soon_script.get(client)
    if script(keys=[LIVE_KEY, PUBLISH_SOON_KEY], args=[int(PUBLISH_DEBOUNCE_SECONDS * 1000)]):
        from celery import current_app

        current_app.send_task(PUBLISH_TASK, countdown=PUBLISH_DEBOUNCE_SECONDS)


# Queue a sweep only if there are subscribers and none is queued already: (EXISTS, SET NX PX) in one call.
_SOON_LUA = "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('SET', KEYS[2], 1, 'NX', 'PX', ARGV[1]) end return false"
_soon_script: PerProcess = PerProcess(lambda client: client.register_script(_SOON_LUA))


def _live_flag(live: bool) -> None:
    try:
        client = redis_client(timeout=1.0)
        client.set(LIVE_KEY, 1) if live else client.delete(LIVE_KEY)
    except Exception:  # without Redis, beat's sweep still pushes
        log.warning("event=websub_live_flag_failed", exc_info=True)


def websub_publish(*, now: datetime) -> int:
    """Push each live subscription's feed if it changed since its last push; returns the pushes queued."""
    version, published = versioned_get(PUBLISHED_KEY)
    if version is not None and published == version:
        return 0  # nothing any feed shows has changed: no query at all
    WebSubSubscription.objects.filter(expires_at__lt=now).delete()
    pushed = 0
    live = WebSubSubscription.objects.filter(verified_at__isnull=False, expires_at__gte=now).select_related(
        "destination"
    )
    answers: dict[tuple[str, str], FeedAnswer] = {}  # subscribers of one view at one ETag share its check
    live = list(live)
    _live_flag(bool(live))
    for sub in live:
        pushed += websub_push_if_changed(subscription=sub, answers=answers)
    if version is not None:
        versioned_set(PUBLISHED_KEY, version, timeout=settings.NEWSDESK_FEED_VALIDATOR_TTL)
    return pushed


def websub_push_if_changed(
    *, subscription: WebSubSubscription, answers: dict[tuple[str, str], FeedAnswer] | None = None
) -> int:
    """One validator check of the subscription's feed; queue a push if it changed (1) or not (0).

    ``answers`` holds the checks already made in this sweep, by (topic, ETag): the subscribers
    of one view that got the same version share one check.
    """
    key = (subscription.topic, subscription.last_etag)
    answer = answers.get(key) if answers is not None else None
    if answer is None:
        answer = feed_answer(topic=subscription.topic, etag=subscription.last_etag)
        if answers is not None:
            answers[key] = answer
    if answer.status == 304:
        return 0
    if answer.status != 200:
        # The feed is gone (a revoked token, a private desk now): the subscription ends, nothing is sent.
        log.info("event=websub_topic_gone subscription_id=%s status=%s", subscription.id, answer.status)
        subscription.destination.delete()
        return 0
    parts = urlsplit(subscription.topic)
    hub = f"{parts.scheme}://{parts.netloc}{reverse('websub-hub')}"
    with transaction.atomic():
        updated = WebSubSubscription.objects.filter(id=subscription.id, last_etag=subscription.last_etag).update(
            last_etag=answer.etag
        )
        if not updated:
            return 0  # another sweep pushed this change
        delivery_queue(
            destination=subscription.destination,
            event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{subscription.id}|{answer.etag}"),
            event_type="websub.content",
            body=answer.body.decode("utf-8"),
            content_type=answer.content_type.split(";")[0].strip(),
            headers={"Link": f'<{hub}>; rel="hub", <{subscription.topic}>; rel="self"'},
        )
    return 1
