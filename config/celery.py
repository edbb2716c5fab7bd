"""The Celery app, configured from Django settings (namespace ``CELERY_``).

Every task's base class is ``newsdesk.ops.guard.GuardedTask``: Celery's
``DjangoTask`` (``delay_on_commit``) plus the attempt counter that sends a
task which keeps killing its worker to the dead letters instead of looping.
The signal hooks in ``newsdesk.ops.celery_hooks`` log each task's start and
end and time it. docs/operations.md explains every setting.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# The optional semantic backend runs numpy; one BLAS thread per worker child,
# or BLAS threads fight the prefork pool for the same cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

app = Celery("newsdesk", task_cls="newsdesk.ops.guard:GuardedTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

import newsdesk.ops.celery_hooks  # noqa: E402  (connects the task signal hooks)
import newsdesk.ops.memory  # noqa: E402, F401  (the memory guard)
