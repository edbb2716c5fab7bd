"""The Celery app, configured from Django settings (namespace ``CELERY_``).

Every task's base class is ``newsdesk.ops.guard.GuardedTask``: Celery's
``DjangoTask`` (``delay_on_commit``) plus the attempt counter that sends a
task which keeps killing its worker to the dead letters instead of looping.
The signal hooks in ``newsdesk.ops.celery_hooks`` log each task's start and
end and time it. docs/operations.md explains every setting.
"""

import os
import sys

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# The optional semantic backend runs numpy; one BLAS thread per worker child,
# or BLAS threads fight the prefork pool for the same cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

app = Celery("newsdesk", task_cls="newsdesk.ops.guard:GuardedTask")
app.config_from_object("django.conf:settings", namespace="CELERY")


def _beat_only(argv: list[str]) -> bool:
    """True for ``celery ... beat``: the process that only sends the schedule's tasks."""
    commands = [
        a for a in argv[1:] if a in {"worker", "beat", "call", "inspect", "control", "shell", "purge", "events"}
    ]
    return bool(commands) and commands[0] == "beat"


# beat sends its schedule's tasks by name (their queues are CELERY_TASK_ROUTES,
# settings) and runs none, so it does not import the task modules and what
# they import: lingua, feedparser, the translation clients (about 30 MB of
# its 85; docs/benchmarks.md, "Memory of the production process set").
# A worker with an embedded beat (``worker -B``) imports them as any worker.
# Nor does it run Django's system checks: they import the URL conf, and
# through the views the same modules; the worker and the web run them.
if _beat_only(sys.argv):
    os.environ.setdefault("CELERY_SKIP_CHECKS", "true")
else:
    app.autodiscover_tasks()

import newsdesk.ops.celery_hooks  # noqa: E402  (connects the task signal hooks)
import newsdesk.ops.memory  # noqa: E402, F401  (the memory guard)
