"""Attempt counting and dead letters (newsdesk/ops/deadletter.py, newsdesk/ops/guard.py)."""

from __future__ import annotations

import os
import signal
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import close_old_connections
from django.utils import timezone

from newsdesk.models import DeadLetter, FetchAttempt, Source, TaskAttempt
from newsdesk.ops import deadletter
from newsdesk.tasks import POLL_HOOKS, poll_source, poll_sources
from tests.support.http import Response, rss
from tests.support.worker import celery_worker, wait_for

POLL = "newsdesk.tasks.poll_source"


@pytest.mark.django_db
def test_runs_that_never_finish_become_a_dead_letter_after_the_limit():
    """Three runs that never reached their end; the fourth delivery is refused and recorded."""
    for n in range(3):
        verdict = deadletter.attempt_begin(task_name="t.x", object_key="7", task_id=f"id{n}", args=[7], limit=3)
        assert verdict.run
    assert TaskAttempt.objects.get(task_name="t.x", object_key="7").count == 3
    verdict = deadletter.attempt_begin(task_name="t.x", object_key="7", task_id="id3", args=[7], limit=3)
    assert not verdict.run
    dead = DeadLetter.objects.get(task_name="t.x", object_key="7")
    assert dead.attempts == 3 and dead.args == [7] and dead.last_task_id == "id3"
    assert not TaskAttempt.objects.filter(task_name="t.x").exists()
    # Later messages for the same object are skipped and counted.
    assert not deadletter.attempt_begin(task_name="t.x", object_key="7", task_id="id4", limit=3).run
    dead.refresh_from_db()
    assert dead.skipped == 1


@pytest.mark.django_db
def test_a_finished_run_clears_the_count_and_a_retry_does_not_count():
    deadletter.attempt_begin(task_name="t.y", object_key="1", task_id="a", limit=3)
    deadletter.attempt_begin(task_name="t.y", object_key="1", task_id="b", limit=3)
    deadletter.attempt_undo(task_name="t.y", object_key="1")
    assert TaskAttempt.objects.get(task_name="t.y", object_key="1").count == 1
    deadletter.attempt_finish(task_name="t.y", object_key="1")
    assert not TaskAttempt.objects.exists()
    for n in range(5):  # each run finishes, so none ever dies
        assert deadletter.attempt_begin(task_name="t.y", object_key="1", task_id=str(n), limit=3).run
        deadletter.attempt_finish(task_name="t.y", object_key="1")
    assert not DeadLetter.objects.exists()


@pytest.mark.django_db
def test_a_poll_skipped_for_a_dead_claim_did_not_finish():
    """A poll skipped because its source is still claimed by a dead run must not
    clear the count; one that polled, or had nothing to do, finished."""
    stuck = Source.objects.create(name="S", url="http://127.0.0.1:9/a.xml", state="polling")
    polled = Source.objects.create(name="T", url="http://127.0.0.1:9/b.xml", state="polling")
    idle = Source.objects.create(name="U", url="http://127.0.0.1:9/c.xml", state="idle")
    FetchAttempt.objects.create(source=stuck)  # an earlier run's attempt does not count
    mark = deadletter.run_mark(hooks=POLL_HOOKS)
    FetchAttempt.objects.create(source=polled, started_at=timezone.now() - timedelta(days=1))  # clock stepped back
    keys = [str(stuck.id), str(polled.id), str(idle.id)]
    assert deadletter.finished_keys(hooks=POLL_HOOKS, object_keys=keys, mark=mark) == keys[1:]
    # Tasks without a probe finish when they return.
    assert deadletter.finished_keys(hooks=deadletter.NO_HOOKS, object_keys=["1", "2"], mark=0) == ["1", "2"]


@pytest.mark.django_db
def test_dead_poll_marks_the_source_and_backs_it_off(settings):
    settings.NEWSDESK_ERROR_BACKOFF_MAX_SECONDS = 86400
    source = Source.objects.create(name="Poison", url="http://127.0.0.1:9/p.xml", state="polling")
    deadletter.dead_letter_mark_object(hooks=POLL_HOOKS, object_key=str(source.id), reason="3 runs did not finish")
    source.refresh_from_db()
    assert source.state == "idle"
    assert source.error_count == 1
    assert source.last_error.startswith("dead letter: 3 runs")
    assert source.next_poll_at > timezone.now() + timedelta(hours=23)


@pytest.mark.django_db
def test_a_redelivered_message_frees_the_claim_its_dead_delivery_held():
    """Late acks redeliver a message with the same task id; the sources its dead
    first delivery left POLLING are released so the work is done now, not after
    the stale-claim window. Claims of other messages are left alone."""
    mine = Source.objects.create(name="Mine", url="http://127.0.0.1:9/m.xml", state="polling")
    other = Source.objects.create(name="Other", url="http://127.0.0.1:9/o.xml", state="polling")
    first = deadletter.attempt_begin(task_name=POLL, object_key=str(mine.id), task_id="T1", limit=3)
    assert first.run and first.previous_task_id == ""
    deadletter.attempt_begin(task_name=POLL, object_key=str(other.id), task_id="T2", limit=3)
    again = deadletter.attempt_begin(task_name=POLL, object_key=str(mine.id), task_id="T1", limit=3)
    assert again.previous_task_id == "T1"
    keys = deadletter.previous_delivery_keys(task_name=POLL, object_keys=[str(mine.id), str(other.id)], task_id="T1")
    assert keys == [str(mine.id)]
    deadletter.release_previous_claims(hooks=POLL_HOOKS, object_keys=keys)
    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.state == "queued"
    assert other.state == "polling"


@pytest.mark.django_db
def test_poll_tasks_declare_their_hooks_and_the_batch_one_is_a_batch():
    assert poll_source.object_hooks is POLL_HOOKS and not poll_source.object_hooks.batch
    assert poll_sources.object_hooks.batch and poll_sources.object_hooks.release is POLL_HOOKS.release


@pytest.mark.django_db
def test_object_keys():
    assert deadletter.object_key_for(args=[12], kwargs={}) == "12"
    assert deadletter.object_key_for(args=[], kwargs={"article_id": 5}) == "5"
    assert deadletter.object_key_for(args=[], kwargs={"limit": 500}) is None
    assert deadletter.object_key_for(args=[True], kwargs={}) is None
    assert deadletter.batch_keys_for(args=[[3, 4]]) == ["3", "4"]
    assert deadletter.batch_keys_for(args=[[]]) is None


def _pool_children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_feed_that_kills_its_worker_is_dead_lettered_and_the_worker_lives(feed_server):
    """Each fetch of the poison feed SIGKILLs the pool process polling it. Late
    acks redeliver the message; the attempt counter stops the loop after the
    limit, the source is marked and backed off, and a healthy feed still polls."""
    holder: dict[str, int] = {}
    kills: list[int] = []
    lock = threading.Lock()

    def poison(_request):
        with lock:
            for pid in _pool_children(holder["pid"]):
                os.kill(pid, signal.SIGKILL)
                kills.append(pid)
        return Response(200, rss([{"title": "never stored", "guid": "p1"}]), {"Content-Type": "application/rss+xml"})

    feed_server.route("/poison.xml", poison)
    feed_server.static("/ok.xml", rss([{"title": "Healthy", "guid": "h1", "link": "http://127.0.0.1/h1"}]))
    bad = Source.objects.create(name="Poison", url=feed_server.url("/poison.xml"))
    good = Source.objects.create(name="Good", url=feed_server.url("/ok.xml"))
    from newsdesk.tasks import dispatch_due_sources

    with celery_worker(extra_env={"NEWSDESK_DEAD_LETTER_AFTER": "2"}) as worker:
        holder["pid"] = worker.pid
        wait_for(lambda: _pool_children(worker.pid), message="the worker's pool")
        dispatch_due_sources.delay()  # both sources are due: one batch holds both
        wait_for(
            lambda: close_old_connections() or DeadLetter.objects.filter(object_key=str(bad.id)).exists(),
            timeout=120,
            message="the poison poll to be dead-lettered",
        )
        wait_for(
            lambda: close_old_connections() or FetchAttempt.objects.filter(source=good).exists(),
            message="the healthy batch-mate's poll",
        )
        assert worker.poll() is None, "the worker process must survive"
    assert 1 <= len(kills) <= 2, f"the poison kept killing pool processes: {len(kills)}"
    bad.refresh_from_db()
    assert bad.last_error.startswith("dead letter")
    assert bad.next_poll_at > timezone.now() + timedelta(hours=1)
    assert not bad.articles.exists()
    assert good.articles.count() == 1


@pytest.mark.django_db
def test_retrying_a_dead_letter_resends_only_its_object(django_capture_on_commit_callbacks, settings):
    """A dead letter of a batch task is sent again for its own id, not the batch it died in."""
    import base64
    import json

    from config.celery import app

    def drain() -> list[tuple[str, list]]:
        with app.connection_for_write() as conn:
            client = conn.default_channel.client
            raw = client.lrange(settings.NEWSDESK_POLL_QUEUE, 0, -1)
            client.delete(settings.NEWSDESK_POLL_QUEUE)
        bodies = [json.loads(item) for item in raw]
        return [(m["headers"]["task"], json.loads(base64.b64decode(m["body"]))[0]) for m in bodies]

    drain()
    batch = DeadLetter.objects.create(
        task_name=poll_sources.name, object_key="12", args=[[11, 12, 13]], attempts=3, reason="r"
    )
    single = DeadLetter.objects.create(task_name=poll_source.name, object_key="7", args=[7], attempts=3, reason="r")
    TaskAttempt.objects.create(task_name=poll_sources.name, object_key="12", count=2)
    with django_capture_on_commit_callbacks(execute=True):
        assert deadletter.dead_letter_retry(dead_letter_ids=[batch.id, single.id]) == 2
    assert sorted(drain()) == [(poll_source.name, [7]), (poll_sources.name, [[12]])]
    assert not DeadLetter.objects.exists() and not TaskAttempt.objects.exists()
