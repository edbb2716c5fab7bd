"""Project configuration package. Importing it loads the Celery app so that
``@shared_task`` functions bind to it (Celery's Django integration pattern)."""

from .celery import app as celery_app

__all__ = ("celery_app",)
