from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    """Last time a named periodic component ran (worker, beat). Read by /healthz."""

    name = models.CharField(max_length=50, unique=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.at:%Y-%m-%d %H:%M:%S}"


class TaskAttempt(models.Model):
    """Unfinished runs of one task for one object (e.g. ``poll_source`` for source 12).

    Late acks plus ``task_reject_on_worker_lost`` redeliver a message whose
    worker died, which is right for a machine that lost power and wrong for a
    feed that kills the worker every time: that message would loop forever.
    So the task base class (newsdesk/ops/guard.py) counts a run here before it
    starts and forgets it when the run ends normally. A count that keeps
    growing means runs that never finished (worker killed, hard time limit,
    unexpected exception); past the limit the work goes to :class:`DeadLetter`.
    """

    task_name = models.CharField(max_length=200)
    object_key = models.CharField(max_length=200, help_text="The task's object id (first argument).")
    count = models.PositiveIntegerField(default=0)
    last_task_id = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task_name", "object_key"], name="taskattempt_unique")]

    def __str__(self) -> str:
        return f"{self.task_name}({self.object_key}) x{self.count}"


class DeadLetter(models.Model):
    """Work that failed too often to be retried automatically; an admin decides.

    While a row exists, the task skips that object (logging why) instead of
    running it again. The admin's "retry" action deletes the row and sends
    the task once more.
    """

    task_name = models.CharField(max_length=200)
    object_key = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    reason = models.TextField(blank=True)
    last_task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    skipped = models.PositiveIntegerField(default=0, help_text="Messages skipped since it died.")

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["task_name", "object_key"], name="deadletter_unique")]

    def __str__(self) -> str:
        return f"dead {self.task_name}({self.object_key})"
