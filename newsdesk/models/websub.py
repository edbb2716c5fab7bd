"""WebSub subscriptions to Newsdesk's own feeds (newsdesk/websub/)."""

from __future__ import annotations

from django.db import models


class WebSubSubscription(models.Model):
    """One subscriber's callback for one feed (topic), with its lease.

    Pushes go through the outgoing-delivery service: ``destination`` is the
    callback, signing with the subscriber's ``hub.secret`` in ``X-Hub-Signature``.
    A request waits in ``requested_*`` until the callback confirms it
    (intent verification); only then does it change the live subscription.
    """

    topic = models.URLField(max_length=2000)
    callback = models.URLField(max_length=2000)
    destination = models.OneToOneField(
        "newsdesk.Destination", on_delete=models.CASCADE, related_name="websub_subscription"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    lease_seconds = models.PositiveIntegerField(default=0)
    # The ETag of the topic's feed when the subscriber last got it (or subscribed): a push only when it moved.
    last_etag = models.CharField(max_length=100, blank=True)
    requested_mode = models.CharField(max_length=12, blank=True)  # subscribe / unsubscribe, awaiting verification
    requested_lease = models.PositiveIntegerField(default=0)
    requested_secret = models.CharField(max_length=200, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["topic", "callback"], name="websub_one_per_topic_callback"),
        ]
        indexes = [models.Index(fields=["expires_at"], name="websub_active_idx")]

    def __str__(self) -> str:
        return f"{self.topic} → {self.callback}"


class HubState(models.TextChoices):
    """Where Newsdesk's own subscription to a source's hub stands (newsdesk/ingest/push.py)."""

    PENDING = "pending", "To request"  # the feed advertised a hub; the request is not sent yet
    REQUESTED = "requested", "Requested"  # the hub accepted it (202) and owes us a verification GET
    LIVE = "live", "Live"  # verified: the hub pushes, polling is relaxed until the lease ends
    DENIED = "denied", "Denied"  # the hub said no (hub.mode=denied)
    FAILED = "failed", "Failed"  # the hub refused the request or could not be reached
    EXPIRED = "expired", "Expired"  # the lease ran out before a renewal was verified


class SourceHub(models.Model):
    """Newsdesk as a WebSub *subscriber*: one subscription to the hub a source's feed advertises.

    The callback is ``NEWSDESK_BASE_URL/websub/callback/<token>/``; the hub signs
    each push with ``secret`` (fresh for every request). ``next_request_at`` is
    when beat sends the next (re)subscription request: soon after discovery, a
    while before the lease ends, or after a back-off when the hub said no.
    """

    source = models.OneToOneField("newsdesk.Source", on_delete=models.CASCADE, related_name="hub")
    hub_url = models.URLField(max_length=2000)
    topic_url = models.URLField(max_length=2000)
    token = models.CharField(max_length=64, unique=True)
    secret = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=12, choices=HubState.choices, default=HubState.PENDING)
    lease_seconds = models.PositiveIntegerField(default=0)
    requested_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    next_request_at = models.DateTimeField(null=True, blank=True)
    last_push_at = models.DateTimeField(null=True, blank=True)
    pushes = models.PositiveIntegerField(default=0)
    pushes_refused = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["next_request_at"], name="sourcehub_due_idx")]

    def __str__(self) -> str:
        return f"{self.topic_url} via {self.hub_url} ({self.state})"
