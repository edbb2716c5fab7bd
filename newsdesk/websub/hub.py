"""Subscriptions, intent verification and publishing of the WebSub hub.

The flow, each step one function:

1. ``websub_request`` checks a subscriber's request (the topic is one of this
   desk's feeds that a hub may push; the callback passes the feeds' SSRF
   guard), records it as *requested*, and sends the verification task after
   the commit. The live subscription changes only once the callback confirms.
2. ``websub_verify`` GETs the callback with a random ``hub.challenge``; a 2xx
   echoing it confirms the request: a subscription becomes live for its
   lease (starting from the feed's current ETag), an unsubscription removes it.
3. ``websub_publish`` (beat, every ``NEWSDESK_WEBSUB_PUBLISH_SECONDS``, and
   right after a committed change: ``websub_publish_soon``) does nothing at
   all while the feeds' global version (newsdesk/changes.py) has not moved;
   otherwise it asks each view's feed, through the feed view itself with
   ``If-None-Match: <last ETag>``, whether it changed. That is the feeds' own
   conditional GET (web/feeds/conditional.py): one validator check per
   distinct view and ETag, shared by its subscribers. A changed feed is queued
   as one delivery per subscriber (the whole feed document, signed), all in
   one transaction, sent by Celery after the commit and retried with backoff
   by the delivery service.

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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.core.handlers.wsgi import WSGIRequest
from django.db import connection, transaction
from django.http import Http404
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone

from newsdesk.accounts.middleware import TOKEN
from newsdesk.changes import versioned_get, versioned_set
from newsdesk.delivery.service import delivery_queue
from newsdesk.ingest.fetch import FetchError, fetch_url, url_guard_check
from newsdesk.models import Article, Destination, DestinationKind, WebSubSubscription
from newsdesk.perprocess import PerProcess
from newsdesk.redisconn import redis_client
from newsdesk.web.feeds import ArticleFeed

log = logging.getLogger(__name__)

VERIFY_TASK = "newsdesk.tasks.websub_verify_request"
PUBLISH_TASK = "newsdesk.tasks.websub_publish"
PUBLISH_SOON_KEY = "websub:publish-soon"
PUBLISH_LATER_KEY = "websub:publish-later"
# A change is swept at once; the further changes of the next half second share one more sweep.
PUBLISH_DEBOUNCE_SECONDS = 0.5
LIVE_KEY = "websub:has-subscribers"
# The sweep checks first the views that the newest articles changed in this time may have entered.
ORDER_HINT_ROWS = 200
ORDER_HINT_SECONDS = 120
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
    """After a committed change: a publish sweep at once, and one more at the end of a
    PUBLISH_DEBOUNCE_SECONDS window for the changes committed during it (a burst costs two sweeps).

    One Redis call and no query per committed write, and nothing queued unless the desk
    has live subscribers (LIVE_KEY, kept by verification and by the sweep itself). Beat's
    sweep (every NEWSDESK_WEBSUB_PUBLISH_SECONDS) stays the safety net for a lost message.
    """
    if not settings.NEWSDESK_WEBSUB_PUBLISH_ON_COMMIT:
        return
    client = redis_client(timeout=1.0)
    script = _soon_script.get(client)
    delay_ms = script(keys=[LIVE_KEY, PUBLISH_SOON_KEY, PUBLISH_LATER_KEY], args=[int(PUBLISH_DEBOUNCE_SECONDS * 1000)])
    if delay_ms is not None and int(delay_ms) >= 0:
        from celery import current_app

        current_app.send_task(PUBLISH_TASK, countdown=int(delay_ms) / 1000 or None)


# -1: no subscribers, or a sweep is already queued for the end of this window; 0: sweep now (a
# window starts); N: the first change in a running window, a sweep in N ms, when the window ends.
_SOON_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('SET', KEYS[2], 1, 'NX', 'PX', ARGV[1]) then return 0 end
local left = math.max(redis.call('PTTL', KEYS[2]), 1)
if redis.call('SET', KEYS[3], 1, 'NX', 'PX', left) then return left end
return -1
"""
_soon_script: PerProcess = PerProcess(lambda client: client.register_script(_SOON_LUA))


def _live_flag(live: bool) -> None:
    try:
        client = redis_client(timeout=1.0)
        client.set(LIVE_KEY, 1) if live else client.delete(LIVE_KEY)
    except Exception:  # without Redis, beat's sweep still pushes
        log.warning("event=websub_live_flag_failed", exc_info=True)


def websub_publish(*, now: datetime) -> int:
    """Push each live subscription's feed if it changed since its last push; returns the pushes queued.

    Subscribers of one view that got the same version share one check, and a changed view's
    pushes are queued together, in one transaction, as soon as that view is checked.
    """
    version, published = versioned_get(PUBLISHED_KEY)
    if version is not None and published == version:
        return 0  # nothing any feed shows has changed: no query at all
    WebSubSubscription.objects.filter(expires_at__lt=now).delete()
    live = list(
        WebSubSubscription.objects.filter(verified_at__isnull=False, expires_at__gte=now).select_related("destination")
    )
    _live_flag(bool(live))
    views: dict[tuple[str, str], list[WebSubSubscription]] = {}
    for sub in live:
        views.setdefault((sub.topic, sub.last_etag), []).append(sub)
    pushed = sum(
        websub_push_view(topic=t, etag=e, subscriptions=views[t, e])
        for t, e in views_likely_changed_first(views, now=now)
    )
    if version is not None:
        versioned_set(PUBLISHED_KEY, version, timeout=settings.NEWSDESK_FEED_VALIDATOR_TTL)
    return pushed


def views_likely_changed_first(views: Iterable[tuple[str, str]], *, now: datetime) -> list[tuple[str, str]]:
    """The (topic, ETag) views in the order to check them: first those that an article stored or
    changed in the last ORDER_HINT_SECONDS may have entered (by country, language, category or
    source), so their pushes are queued at the start of the sweep; then the rest, as they came.

    Only an order: every view is still checked by its validator.
    """
    views = list(views)
    since = now - timedelta(seconds=ORDER_HINT_SECONDS)
    columns = ("updated_at", "country", "language", "language_declared", "category", "source_id")
    rows = [r for r in Article.objects.order_by("-id").values_list(*columns)[:ORDER_HINT_ROWS] if r[0] >= since]
    if not rows:
        return views
    wanted = {topic: parse_qsl(urlsplit(topic).query) for topic, _ in views}

    def may_show(topic: str, row: tuple) -> bool:
        for key, value in wanted[topic]:
            if (key == "country" and value.upper() != row[1]) or (key == "source" and value != str(row[5])):
                return False
            if (key == "lang" and value.lower() not in row[2:4]) or (
                key == "category" and value.lower() != row[4].lower()
            ):
                return False
        return True

    return sorted(views, key=lambda view: not any(may_show(view[0], row) for row in rows))


@contextmanager
def _push_transaction() -> Iterator[None]:
    """Not waiting for the WAL flush on PostgreSQL: a crash can lose the pushes just queued, but
    with them the subscriptions' new ETags, so the next sweep queues them again."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def websub_push_view(*, topic: str, etag: str, subscriptions: list[WebSubSubscription]) -> int:
    """One validator check of ``topic``'s feed for its subscribers at ``etag``; push to each if it changed."""
    answer = feed_answer(topic=topic, etag=etag)
    if answer.status == 304:
        return 0
    if answer.status != 200:
        # The feed is gone (a revoked token, a private desk now): the subscriptions end, nothing is sent.
        log.info(
            "event=websub_topic_gone topic=%s status=%s subscriptions=%s", topic, answer.status, len(subscriptions)
        )
        Destination.objects.filter(id__in=[sub.destination_id for sub in subscriptions]).delete()
        return 0
    parts = urlsplit(topic)
    hub = f"{parts.scheme}://{parts.netloc}{reverse('websub-hub')}"
    body, content_type = answer.body.decode("utf-8"), answer.content_type.split(";")[0].strip()
    pushed = 0
    with _push_transaction():
        for sub in subscriptions:
            if not WebSubSubscription.objects.filter(id=sub.id, last_etag=etag).update(last_etag=answer.etag):
                continue  # another sweep pushed this change
            delivery_queue(
                destination=sub.destination,
                event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{sub.id}|{answer.etag}"),
                event_type="websub.content",
                body=body,
                content_type=content_type,
                headers={"Link": f'<{hub}>; rel="hub", <{topic}>; rel="self"'},
            )
            pushed += 1
    return pushed
