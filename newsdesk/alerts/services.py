"""An editor's alerts: create, change where they go, pause, delete, new secret.

Like the saved-view services, every function takes the owner and refuses
(``Alert.DoesNotExist``) an alert on someone else's view.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from newsdesk.accounts.desks import saved_view_get
from newsdesk.delivery.service import destination_enable, email_addresses
from newsdesk.delivery.signing import secret_new
from newsdesk.ingest.fetch import FetchError, url_guard_check
from newsdesk.models import Alert, AlertMetric, Delivery, Destination, DestinationKind

from .sweep import alert_check

MAX_THRESHOLDS = 5
MAX_RECIPIENTS = 10
_SPLIT = re.compile(r"[\s,;]+")


class AlertError(ValueError):
    """A user-facing reason why an alert change was refused."""


def thresholds_parse(*, metric: str, raw: str) -> list[int]:
    """'3, 5 10' -> [3, 5, 10]; a new-story alert has the single level 1."""
    if metric not in AlertMetric.values:
        raise AlertError("Choose what the alert watches.")
    if metric == AlertMetric.NEW_STORY:
        return [1]
    values: set[int] = set()
    for part in _SPLIT.split((raw or "").strip()):
        if not part:
            continue
        if not part.isdigit() or not 2 <= int(part) <= 1000:
            raise AlertError(f"“{part[:20]}” is not a level: give whole numbers from 2 to 1000, e.g. 3, 5, 10.")
        values.add(int(part))
    if not values:
        raise AlertError("Give at least one level, e.g. 3 (or 3, 5, 10).")
    if len(values) > MAX_THRESHOLDS:
        raise AlertError(f"At most {MAX_THRESHOLDS} levels per alert.")
    return sorted(values)


def webhook_url_check(*, url: str) -> str:
    """The URL, if the SSRF guard lets it through; AlertError saying why not otherwise."""
    url = (url or "").strip()
    if len(url) > 2000:
        raise AlertError("The webhook URL is too long.")
    try:
        return url_guard_check(url=url)
    except FetchError as exc:
        raise AlertError(f"Webhook URL refused: {exc}") from exc


def recipients_clean(*, raw: str) -> str:
    addresses = email_addresses(raw)
    if len(addresses) > MAX_RECIPIENTS:
        raise AlertError(f"At most {MAX_RECIPIENTS} e-mail addresses per alert.")
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError as exc:
            raise AlertError(f"“{address[:80]}” is not an e-mail address.") from exc
    return ", ".join(addresses)


def alerts_of(*, owner: AbstractBaseUser) -> list[Alert]:
    return list(
        Alert.objects.filter(saved_view__owner=owner)
        .select_related("saved_view", "webhook", "email")
        .order_by("saved_view__position", "saved_view_id", "id")
    )


def alert_get(*, owner: AbstractBaseUser, pk: int) -> Alert:
    return Alert.objects.select_related("saved_view", "webhook", "email").get(saved_view__owner=owner, pk=pk)


@transaction.atomic
def alert_create(
    *,
    owner: AbstractBaseUser,
    view_pk: int,
    name: str,
    metric: str,
    thresholds: str = "",
    webhook_url: str = "",
    email_to: str = "",
) -> tuple[Alert, str]:
    """Make an alert on one of the owner's saved views; return it and the webhook's secret ("" without one).

    The secret is shown once, in the response to this request. Stories that
    already stand at a level count as sent: the alert tells of what happens from now on.
    """
    view = saved_view_get(owner=owner, pk=view_pk)
    name = " ".join((name or "").split())[:120] or view.name
    levels = thresholds_parse(metric=metric, raw=thresholds)
    if Alert.objects.filter(saved_view__owner=owner).count() >= settings.NEWSDESK_MAX_ALERTS:
        raise AlertError(f"You can keep at most {settings.NEWSDESK_MAX_ALERTS} alerts; delete one first.")
    url = webhook_url_check(url=webhook_url) if (webhook_url or "").strip() else ""
    recipients = recipients_clean(raw=email_to)
    if not url and not recipients:
        raise AlertError("Send the alert somewhere: a webhook URL, e-mail addresses, or both.")
    secret = secret_new() if url else ""
    webhook = Destination.objects.create(kind=DestinationKind.WEBHOOK, url=url, secret=secret) if url else None
    email = Destination.objects.create(kind=DestinationKind.EMAIL, email_to=recipients) if recipients else None
    alert = Alert.objects.create(
        saved_view=view, name=name, metric=metric, thresholds=levels, webhook=webhook, email=email
    )
    for destination in (webhook, email):
        if destination is not None:
            destination.label = f"Alert “{name}”"[:200]
            destination.save(update_fields=["label"])
    alert_check(alert_id=alert.id, now=timezone.now(), baseline=True)
    return alert, secret


@transaction.atomic
def alert_secret_rotate(*, owner: AbstractBaseUser, pk: int) -> tuple[Alert, str]:
    """A new signing secret for the alert's webhook (shown once); the old one stops validating at once."""
    alert = alert_get(owner=owner, pk=pk)
    if alert.webhook is None:
        raise AlertError("This alert has no webhook.")
    secret = secret_new()
    Destination.objects.filter(id=alert.webhook_id).update(secret=secret)
    return alert, secret


def alert_enable(*, owner: AbstractBaseUser, pk: int, enabled: bool) -> Alert:
    """Pause or resume an alert. Resuming also re-enables destinations disabled after failures."""
    alert = alert_get(owner=owner, pk=pk)
    Alert.objects.filter(id=alert.id).update(enabled=enabled, checked_at=timezone.now())
    if enabled:
        for destination_id in (alert.webhook_id, alert.email_id):
            if destination_id:
                destination_enable(destination_id=destination_id)
    alert.enabled = enabled
    return alert


@transaction.atomic
def alert_delete(*, owner: AbstractBaseUser, pk: int) -> Alert:
    """Delete the alert and its own destinations; returns the deleted alert."""
    alert = alert_get(owner=owner, pk=pk)
    destinations = [d for d in (alert.webhook_id, alert.email_id) if d]
    alert.delete()
    Destination.objects.filter(id__in=destinations).delete()
    return alert


def alert_deliveries(*, alert: Alert, limit: int = 20) -> list[Delivery]:
    """The alert's latest deliveries, newest first, with their destination (for the editor's log)."""
    destinations = [d for d in (alert.webhook_id, alert.email_id) if d]
    return list(
        Delivery.objects.filter(destination_id__in=destinations)
        .select_related("destination")
        .order_by("-created_at", "-id")[:limit]
    )
