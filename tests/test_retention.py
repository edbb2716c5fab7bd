"""newsdesk/ops/retention.py: old FetchAttempts go, recent ones and drop files stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from newsdesk.models import DropFile, FetchAttempt, Source, SourceKind
from newsdesk.ops.retention import fetch_history_prune
from newsdesk.tasks import prune_fetch_history

pytestmark = pytest.mark.django_db


def _attempts(source: Source, *, days_ago: float, n: int) -> list[FetchAttempt]:
    at = timezone.now() - timedelta(days=days_ago)
    return FetchAttempt.objects.bulk_create(FetchAttempt(source=source, started_at=at) for _ in range(n))


def test_prune_deletes_only_attempts_older_than_the_window(settings):
    settings.NEWSDESK_FETCH_HISTORY_DAYS = 30
    source = Source.objects.create(name="S", url="http://127.0.0.1:9/a.xml")
    _attempts(source, days_ago=45, n=7)
    kept = _attempts(source, days_ago=29, n=3)
    assert fetch_history_prune(now=timezone.now(), batch_size=2) == 7
    assert sorted(FetchAttempt.objects.values_list("id", flat=True)) == sorted(a.id for a in kept)
    assert fetch_history_prune(now=timezone.now()) == 0  # a second run finds nothing


def test_one_run_is_bounded_and_the_next_continues(settings):
    settings.NEWSDESK_FETCH_HISTORY_DAYS = 1
    source = Source.objects.create(name="S", url="http://127.0.0.1:9/a.xml")
    _attempts(source, days_ago=3, n=10)
    assert fetch_history_prune(now=timezone.now(), batch_size=3, max_batches=2) == 6
    assert FetchAttempt.objects.count() == 4
    assert fetch_history_prune(now=timezone.now(), batch_size=3, max_batches=2) == 4
    assert FetchAttempt.objects.count() == 0


def test_zero_keeps_everything(settings):
    settings.NEWSDESK_FETCH_HISTORY_DAYS = 0
    source = Source.objects.create(name="S", url="http://127.0.0.1:9/a.xml")
    _attempts(source, days_ago=400, n=2)
    assert prune_fetch_history() == 0
    assert FetchAttempt.objects.count() == 2


def test_drop_file_records_survive_their_attempt(settings, tmp_path):
    """A DropFile's link to its attempt is cleared, the file's record (dedupe) stays."""
    settings.NEWSDESK_FETCH_HISTORY_DAYS = 30
    drop = Source.objects.create(name="Inbox", kind=SourceKind.DROP, inbox=str(tmp_path))
    (old,) = _attempts(drop, days_ago=60, n=1)
    record = DropFile.objects.create(source=drop, name="a.json", sha256="0" * 64, attempt=old)
    assert prune_fetch_history() == 1
    record.refresh_from_db()
    assert record.attempt_id is None
