"""The worker memory guard (newsdesk/ops/memory.py), in a real prefork worker."""

from __future__ import annotations

import os
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from newsdesk.ops.celery_hooks import _client
from newsdesk.ops.memory import RECYCLES_KEY, guard_limit_kb
from tests.support.memtasks import PIDS_KEY, child_pid, memory_grow
from tests.support.worker import ROOT, celery_worker, wait_for

# Far below what a child starts at with the language models preloaded, so a
# guard that compared sizes instead of growth would replace it after every task.
GROWTH_KB = 60_000


def test_the_limit_is_the_started_size_plus_the_growth():
    assert guard_limit_kb(baseline_kb=1_041_564, growth_kb=500_000) == 1_541_564
    assert guard_limit_kb(baseline_kb=1_041_564, growth_kb=0) is None


def _pids(redis) -> list[int]:
    return [int(p) for p in redis.lrange(PIDS_KEY, 0, -1)]


def _run(redis, task, *args, expect: int) -> list[int]:
    task.apply_async(args, queue="default")
    return wait_for(lambda: (p := _pids(redis)) and len(p) >= expect and p, timeout=60, message=f"{expect} runs")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_preloaded_child_is_kept_and_one_that_grew_is_recycled_once_logged_and_counted(client, settings):
    """A child at its preloaded size plus normal growth keeps running task after
    task; one that really grows past the guard is replaced once, which the
    worker log says and /metrics counts; its successor is not replaced again."""
    redis = _client()
    redis.delete(PIDS_KEY, RECYCLES_KEY)
    log_path = ROOT / "var" / f"test-worker-{os.getpid()}.log"
    start = log_path.stat().st_size if log_path.exists() else 0
    env = {"NEWSDESK_WORKER_MAX_GROWTH_KB": str(GROWTH_KB), "NEWSDESK_LANGUAGE_PRELOAD": "true"}
    with celery_worker(env, concurrency=1, include="tests.support.memtasks"):
        for n in range(1, 13):
            pids = _run(redis, child_pid, expect=n)
        assert len(set(pids)) == 1, "a child at its started size was replaced"
        assert redis.get(RECYCLES_KEY) is None

        # A forked child maps the master's file-backed pages (model files) only
        # as it touches them, so it may start below the master's measured size:
        # grow by the whole limit, which passes it whatever the child started at.
        started = log_path.read_bytes()[start:].decode(errors="replace")
        limit_kb = int(re.search(r"event=memory_guard .*?limit_kb=(\d+)", started).group(1))
        pids = _run(redis, memory_grow, limit_kb // 1024 + 1, expect=13)
        for n in range(14, 20):
            pids = _run(redis, child_pid, expect=n)
        assert redis.get(RECYCLES_KEY) == b"1"
    assert pids[11] == pids[12], "the growing task ran in the same child"
    assert len(set(pids[13:])) == 1 and pids[13] != pids[12], "replaced exactly once, after the growing task"

    log = log_path.read_bytes()[start:].decode(errors="replace")
    guard = re.search(r"event=memory_guard baseline_kb=(\d+) growth_kb=(\d+)", log)
    assert guard and int(guard.group(1)) > GROWTH_KB, "the child started above the allowed growth"
    assert log.count("event=worker_recycled") == 1

    settings.NEWSDESK_METRICS = True
    settings.NEWSDESK_METRICS_TOKEN = ""
    body = client.get("/metrics").content.decode()
    values = {s.name: s.value for f in text_string_to_metric_families(body) for s in f.samples}
    assert values["newsdesk_worker_recycles_total"] == 1
    redis.delete(PIDS_KEY, RECYCLES_KEY)
