"""Deciding which alerts fire: once per (alert, story, threshold), never again after a split or merge.

Beat runs :func:`alerts_sweep` every ``NEWSDESK_ALERT_SWEEP_SECONDS``. For
each alert it looks only at stories changed since its last check (a margin
covers transactions that committed late), that reach the alert's lowest
level and hold at least one article matching the saved view, through the
same ``ArticleFilter`` as the dashboard.

What has been sent is remembered by *article* (:class:`AlertCovered`), not by
story id: the refinement pass and editors split and merge stories, and ids
come and go with them. A story holding any article already covered for a
threshold has been sent for it; its other members are covered too, so a
later split does not send them again. Only a story with no covered member
fires, and the event is unique on (alert, story, threshold) as well.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from newsdesk.accounts.desks import saved_view_filter, saved_view_problem
from newsdesk.accounts.roles import user_can_read_desk
from newsdesk.delivery.service import delivery_queue
from newsdesk.models import Alert, AlertCovered, AlertEvent, AlertMetric, Article, Story

from .payload import email_body, email_subject, event_payload, event_type, webhook_body

log = logging.getLogger(__name__)

METRIC_FIELD = {
    AlertMetric.NEW_STORY: "article_count",
    AlertMetric.OUTLETS: "source_count",
    AlertMetric.COUNTRIES: "country_count",
    AlertMetric.LANGUAGES: "language_count",
}
CHUNK = 500


@dataclass
class SweepStats:
    alerts: int = 0
    candidates: int = 0
    fired: int = 0


def alerts_sweep(*, now: datetime) -> SweepStats:
    """Check every enabled alert once; return what was looked at and fired.

    The stories changed since the earliest of the alerts' last checks are
    read once, for all of them: the sweep costs one scan of the changed
    stories, not one per alert.
    """
    stats = SweepStats()
    alerts = list(
        Alert.objects.filter(enabled=True, saved_view__owner__is_active=True)
        .order_by("id")
        .values_list("id", "checked_at", "created_at")
    )
    if not alerts:
        return stats
    margin = timedelta(seconds=settings.NEWSDESK_ALERT_MARGIN_SECONDS)
    since = min((checked or created) for _, checked, created in alerts) - margin
    pool = list(_window_stories(now=now).filter(updated_at__gte=since))
    for alert_id, _, _ in alerts:
        one = alert_check(alert_id=alert_id, now=now, pool=pool)
        stats.alerts += 1
        stats.candidates += one.candidates
        stats.fired += one.fired
    return stats


def _window_stories(*, now: datetime) -> QuerySet[Story]:
    """Stories that may still fire: standing (not merged away), newest article within the window."""
    return Story.objects.filter(
        merged_into__isnull=True,
        last_published_at__gte=now - timedelta(hours=settings.NEWSDESK_ALERT_WINDOW_HOURS),
    )


def _candidates(*, alert: Alert, stories: list[Story], since: datetime | None) -> list[Story]:
    """The stories at or above the alert's lowest level, changed since ``since`` (None: all)."""
    field, lowest = METRIC_FIELD[alert.metric], min(alert.thresholds)
    out = [s for s in stories if getattr(s, field) >= lowest and (since is None or s.updated_at >= since)]
    if alert.metric == AlertMetric.NEW_STORY:
        # "Appears": started after the alert was made, not an old story that grew.
        out = [s for s in out if s.created_at >= alert.created_at]
    return out


def _matching(*, alert: Alert, stories: list[Story]) -> list[Story]:
    """The stories with at least one article the saved view shows."""
    if saved_view_problem(view=alert.saved_view):
        return []  # a broken view matches nothing rather than more than its owner chose
    flt = saved_view_filter(view=alert.saved_view)
    found: set[int] = set()
    ids = [s.id for s in stories]
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        # The dashboard's own query, so an alert matches exactly what the view lists.
        rows = flt.queryset().order_by().filter(story_id__in=chunk).values_list("story_id", flat=True).distinct()
        found.update(rows)
    return [s for s in stories if s.id in found]


def _members(story_ids: list[int]) -> dict[int, list[int]]:
    members: dict[int, list[int]] = defaultdict(list)
    for start in range(0, len(story_ids), CHUNK):
        rows = Article.objects.filter(story_id__in=story_ids[start : start + CHUNK]).values_list("story_id", "id")
        for story_id, article_id in rows:
            members[story_id].append(article_id)
    return members


def _covered(*, alert: Alert, article_ids: list[int]) -> dict[int, set[int]]:
    covered: dict[int, set[int]] = defaultdict(set)
    for start in range(0, len(article_ids), CHUNK):
        rows = AlertCovered.objects.filter(alert=alert, article_id__in=article_ids[start : start + CHUNK])
        for threshold, article_id in rows.values_list("threshold", "article_id"):
            covered[threshold].add(article_id)
    return covered


def _cover(*, alert: Alert, threshold: int, article_ids: list[int]) -> None:
    AlertCovered.objects.bulk_create(
        [AlertCovered(alert=alert, threshold=threshold, article_id=a) for a in article_ids],
        ignore_conflicts=True,
        batch_size=CHUNK,
    )


@dataclass
class CheckResult:
    candidates: int = 0
    fired: int = 0


@transaction.atomic
def alert_check(
    *, alert_id: int, now: datetime, baseline: bool = False, pool: list[Story] | None = None
) -> CheckResult:
    """One alert against the stories changed since its last check.

    ``baseline`` covers what already stands at a level without sending
    anything: an alert made now tells of stories that reach a level from now on.
    ``pool`` is the sweep's one read of the changed stories (read here when absent).
    """
    # The row lock serialises two sweeps of one alert (a repeated beat message).
    alert = (
        Alert.objects.select_for_update(of=("self",))
        .select_related("saved_view", "saved_view__owner", "webhook", "email")
        .filter(id=alert_id, enabled=True)
        .first()
    )
    result = CheckResult()
    if alert is None or not alert.thresholds:
        return result
    if not user_can_read_desk(user=alert.saved_view.owner):
        # An editor who may no longer read the desk sends nothing out of it.
        return result
    margin = timedelta(seconds=settings.NEWSDESK_ALERT_MARGIN_SECONDS)
    since = None if baseline else (alert.checked_at or alert.created_at) - margin
    if pool is None:
        window = _window_stories(now=now)
        pool = list(window if since is None else window.filter(updated_at__gte=since))
    stories = _matching(alert=alert, stories=_candidates(alert=alert, stories=pool, since=since))
    result.candidates = len(stories)
    members = _members([s.id for s in stories])
    covered = _covered(alert=alert, article_ids=[a for ids in members.values() for a in ids])
    field = METRIC_FIELD[alert.metric]
    for story in stories:
        value = getattr(story, field)
        ids = members.get(story.id, [])
        for threshold in sorted(t for t in alert.thresholds if t <= value):
            done = covered[threshold]
            if baseline or done.intersection(ids):
                fresh = [a for a in ids if a not in done]
                if fresh:
                    _cover(alert=alert, threshold=threshold, article_ids=fresh)
                    done.update(fresh)
                continue
            if _fire(alert=alert, story=story, threshold=threshold, value=value, now=now):
                result.fired += 1
            _cover(alert=alert, threshold=threshold, article_ids=ids)
            done.update(ids)
    Alert.objects.filter(id=alert.id).update(checked_at=now)
    return result


def _fire(*, alert: Alert, story: Story, threshold: int, value: int, now: datetime) -> bool:
    """Record the event and queue it to the alert's destinations; False if it already exists."""
    event = AlertEvent(alert=alert, story=story, story_ref=story.id, threshold=threshold, value=value, payload={})
    event.payload = event_payload(
        alert=alert, story=story, threshold=threshold, value=value, event_id=event.id, now=now
    )
    try:
        with transaction.atomic():
            event.save(force_insert=True)
    except IntegrityError:
        return False
    kind = event_type(alert.metric)
    for destination in (alert.webhook, alert.email):
        if destination is None:
            continue
        if destination.kind == "email":
            body, subject = email_body(event.payload), email_subject(event.payload)
        else:
            body, subject = webhook_body(event.payload), ""
        delivery_queue(destination=destination, event_id=event.id, event_type=kind, body=body, subject=subject)
    log.info(
        "event=alert_fired alert_id=%s story_id=%s threshold=%s value=%s event_id=%s",
        alert.id,
        story.id,
        threshold,
        value,
        event.id,
    )
    return True


def alerts_covered_prune(*, now: datetime) -> int:
    """Forget what was sent for articles long out of the alert window (four windows back).

    A story is only looked at while its newest article is within the window,
    and a story that keeps growing has its new members covered as it goes, so
    rows this old can no longer stop a repeat.
    """
    before = now - timedelta(hours=4 * settings.NEWSDESK_ALERT_WINDOW_HOURS)
    deleted, _ = AlertCovered.objects.filter(created_at__lt=before).delete()
    return deleted
