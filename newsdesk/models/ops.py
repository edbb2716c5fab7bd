from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    """Last time a named periodic component ran (worker, beat). Read by /healthz."""

    name = models.CharField(max_length=50, unique=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.at:%Y-%m-%d %H:%M:%S}"
