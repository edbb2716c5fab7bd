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
