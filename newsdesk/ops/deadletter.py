"""Attempt counting and dead letters for tasks that work on one object.

Late acks and ``task_reject_on_worker_lost`` make Celery redeliver a message
whose worker died mid-task. That is what we want when a machine loses power,
and exactly wrong when the task itself kills the worker (a feed that blows up
the parser's memory, a C extension that segfaults): the message would loop
forever and take a worker down each time. So every run of a task for an
object (``poll_source(12)``) is counted in the database before it starts and
forgotten when it ends normally. Runs that never end normally pile up; past
``NEWSDESK_DEAD_LETTER_AFTER`` the work becomes a :class:`DeadLetter`, later
messages for that object are skipped, and an admin decides (retry or leave).

Retries for infrastructure errors (database or Redis briefly away) do not
count: those are the outage's fault, not the object's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

log = logging.getLogger("newsdesk.ops")


def object_key_for(*, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str | None:
    """The object a task works on: its first positional argument, or a ``*_id``
    keyword. ``None`` for tasks without one (periodic sweeps), which are not
    counted: a sweep that fails is simply run again by beat."""
    if args and _is_key(args[0]):
        return str(args[0])[:200]
    for name in sorted(kwargs):
        if name.endswith("_id") and _is_key(kwargs[name]):
            return str(kwargs[name])[:200]
    return None


def batch_keys_for(*, args: Sequence[Any]) -> list[str] | None:
    """For a batch task (first argument a list of ids, e.g. ``poll_sources``),
    the key of each object; counted one by one so one poison object cannot
    take its healthy batch-mates into the dead letters."""
    if args and isinstance(args[0], list | tuple) and args[0] and all(_is_key(x) for x in args[0]):
        return [str(x)[:200] for x in args[0]]
    return None


def _is_key(value: object) -> bool:
    return isinstance(value, int | str) and not isinstance(value, bool)


@dataclass(frozen=True)
class Verdict:
    run: bool
    attempts: int = 0
    reason: str = ""
    # The task id that last started this object: equal to the current one
    # when this message is a redelivery or retry of a run that did not finish.
    previous_task_id: str = ""


def attempt_begin(
    *,
    task_name: str,
    object_key: str,
    task_id: str,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    limit: int | None = None,
) -> Verdict:
    """Count a run that is about to start; say whether it may run."""
    from newsdesk.models import DeadLetter, TaskAttempt

    limit = settings.NEWSDESK_DEAD_LETTER_AFTER if limit is None else limit
    with transaction.atomic():
        if DeadLetter.objects.filter(task_name=task_name, object_key=object_key).update(skipped=F("skipped") + 1):
            return Verdict(run=False, reason="dead letter")
        try:
            with transaction.atomic():
                row, _ = TaskAttempt.objects.select_for_update().get_or_create(
                    task_name=task_name, object_key=object_key
                )
        except IntegrityError:  # created concurrently by a duplicate message
            row = TaskAttempt.objects.select_for_update().get(task_name=task_name, object_key=object_key)
        unfinished = row.count
        previous = row.last_task_id
        if unfinished >= limit:
            reason = f"{unfinished} runs did not finish (worker lost, time limit or error)"
            if row.last_error:
                reason += f"; last error: {row.last_error}"
            DeadLetter.objects.get_or_create(
                task_name=task_name,
                object_key=object_key,
                defaults={
                    "args": list(args),
                    "kwargs": dict(kwargs or {}),
                    "attempts": unfinished,
                    "reason": reason[:4000],
                    "last_task_id": task_id or "",
                },
            )
            row.delete()
            return Verdict(run=False, attempts=unfinished, reason=reason)
        row.count = unfinished + 1
        row.last_task_id = task_id or ""
        row.save(update_fields=["count", "last_task_id", "updated_at"])
        return Verdict(run=True, attempts=row.count, previous_task_id=previous)


def attempt_finish(*, task_name: str, object_key: str) -> None:
    """The run ended normally: forget its unfinished runs."""
    from newsdesk.models import TaskAttempt

    TaskAttempt.objects.filter(task_name=task_name, object_key=object_key).delete()


def batch_dead_keys(*, task_name: str, object_keys: Sequence[str]) -> set[str]:
    """Keys of the batch that are dead letters (and count the skip)."""
    from newsdesk.models import DeadLetter

    dead = set(
        DeadLetter.objects.filter(task_name=task_name, object_key__in=list(object_keys)).values_list(
            "object_key", flat=True
        )
    )
    if dead:
        DeadLetter.objects.filter(task_name=task_name, object_key__in=dead).update(skipped=F("skipped") + 1)
    return dead


def batch_suspects(*, task_name: str, object_keys: Sequence[str]) -> bool:
    """True when some object of the batch has a run that never finished: the
    batch is then run one object at a time, so the culprit is found."""
    from newsdesk.models import TaskAttempt

    return TaskAttempt.objects.filter(task_name=task_name, object_key__in=list(object_keys), count__gt=0).exists()


def batch_begin(*, task_name: str, object_keys: Sequence[str], task_id: str) -> None:
    """Count one run for every object of a batch (two queries, any batch size)."""
    from newsdesk.models import TaskAttempt

    keys = list(object_keys)
    TaskAttempt.objects.bulk_create(
        [TaskAttempt(task_name=task_name, object_key=key) for key in keys], ignore_conflicts=True
    )
    TaskAttempt.objects.filter(task_name=task_name, object_key__in=keys).update(
        count=F("count") + 1, last_task_id=task_id or ""
    )


def previous_delivery_keys(*, task_name: str, object_keys: Sequence[str], task_id: str) -> list[str]:
    """Objects that an earlier delivery of this very message started and never
    finished. That delivery is over: Redis redelivers a message only after its
    worker was lost (``task_reject_on_worker_lost``), after the visibility
    timeout (longer than any run), or as a retry the task itself sent."""
    from newsdesk.models import TaskAttempt

    if not task_id:
        return []
    return list(
        TaskAttempt.objects.filter(
            task_name=task_name, object_key__in=list(object_keys), last_task_id=task_id
        ).values_list("object_key", flat=True)
    )


def release_previous_claims(*, hooks: ObjectHooks, object_keys: Sequence[str]) -> None:
    """Free what a dead earlier delivery of this message still holds, so the
    redelivered message can do the work now instead of after a stale window."""
    if hooks.release is not None and object_keys:
        hooks.release(list(object_keys))


def batch_finish(*, task_name: str, object_keys: Sequence[str]) -> None:
    from newsdesk.models import TaskAttempt

    TaskAttempt.objects.filter(task_name=task_name, object_key__in=list(object_keys)).delete()


def batch_undo(*, task_name: str, object_keys: Sequence[str]) -> None:
    from newsdesk.models import TaskAttempt

    TaskAttempt.objects.filter(task_name=task_name, object_key__in=list(object_keys), count__gt=0).update(
        count=F("count") - 1
    )


def batch_failed(*, task_name: str, object_keys: Sequence[str], error: str) -> None:
    from newsdesk.models import TaskAttempt

    TaskAttempt.objects.filter(task_name=task_name, object_key__in=list(object_keys)).update(last_error=error[:2000])


def attempt_undo(*, task_name: str, object_key: str) -> None:
    """The run is being retried for an infrastructure error: it does not count."""
    from newsdesk.models import TaskAttempt

    TaskAttempt.objects.filter(task_name=task_name, object_key=object_key, count__gt=0).update(count=F("count") - 1)


# --- What the guard asks of a task's stage -----------------------------------


@dataclass(frozen=True)
class SuccessProbe:
    """How to tell that a run's objects were really handled (default: the task returned).

    ``mark()`` is taken before the run; ``done(keys, mark)`` names the keys
    handled since.
    """

    mark: Callable[[], int]
    done: Callable[[Sequence[str], int], set[str]]


@dataclass(frozen=True)
class ObjectHooks:
    """What the objects of one task need from their stage when the guard acts.

    A task declares its hooks (``@shared_task(object_hooks=...)``, see
    newsdesk/tasks.py), so this module knows no stage and no task name.
    """

    # Free what a dead earlier delivery still holds (keys), so a redelivery can work now.
    release: Callable[[Sequence[str]], None] | None = None
    # Mark an object whose work became a dead letter (key, reason).
    dead_letter: Callable[[str, str], None] | None = None
    probe: SuccessProbe | None = None
    # The task's first argument is a list of ids; a retry resends one id.
    batch: bool = False


NO_HOOKS = ObjectHooks()


def run_mark(*, hooks: ObjectHooks) -> int:
    return hooks.probe.mark() if hooks.probe else 0


def finished_keys(*, hooks: ObjectHooks, object_keys: Sequence[str], mark: int) -> list[str]:
    if hooks.probe is None:
        return list(object_keys)
    done = hooks.probe.done(object_keys, mark)
    return [k for k in object_keys if k in done]


def dead_letter_mark_object(*, hooks: ObjectHooks, object_key: str, reason: str) -> None:
    if hooks.dead_letter is None:
        return
    try:
        hooks.dead_letter(object_key, reason)
    except (ValueError, TypeError):
        log.warning("event=dead_letter_hook_failed object=%s", object_key)


def dead_letter_retry(*, dead_letter_ids: Sequence[int]) -> int:
    """Forget the dead letters and send their tasks once more (after commit)."""
    from config.celery import app
    from newsdesk.models import DeadLetter, TaskAttempt

    sent = 0
    with transaction.atomic():
        for dead in DeadLetter.objects.select_for_update().filter(id__in=list(dead_letter_ids)):
            TaskAttempt.objects.filter(task_name=dead.task_name, object_key=dead.object_key).delete()
            name, args, kwargs = dead.task_name, list(dead.args), dict(dead.kwargs)
            task = app.tasks.get(name)
            if getattr(task, "object_hooks", NO_HOOKS).batch:  # resend just this object, not the batch it died in
                args = [[int(dead.object_key) if dead.object_key.isdigit() else dead.object_key]]
            dead.delete()
            transaction.on_commit(lambda n=name, a=args, k=kwargs: app.send_task(n, args=a, kwargs=k))
            sent += 1
    return sent
