"""The base class of every Newsdesk task (set as ``task_cls`` in config/celery.py).

It is Celery's ``DjangoTask`` (so ``delay_on_commit`` works) plus the attempt
guard from :mod:`newsdesk.ops.deadletter`. The guard never stops work because
of its own trouble: when the database is away the guard is skipped, the task
runs, hits the same outage, and is retried by ``autoretry_for``.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.contrib.django.task import DjangoTask
from celery.exceptions import Ignore, Reject, Retry
from django.db import DatabaseError

from . import deadletter

log = logging.getLogger("newsdesk.ops")


class GuardedTask(DjangoTask):
    abstract = True
    # What this task's objects need from their stage (claims to release, ...);
    # a task sets its own with ``@shared_task(object_hooks=...)``.
    object_hooks: deadletter.ObjectHooks = deadletter.NO_HOOKS

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.request.is_eager or self.request.called_directly:
            return super().__call__(*args, **kwargs)
        batch = deadletter.batch_keys_for(args=args)
        if batch is not None:
            return self._call_batch(batch, args, kwargs)
        key = deadletter.object_key_for(args=args, kwargs=kwargs)
        if key is None:
            return super().__call__(*args, **kwargs)
        try:
            verdict = deadletter.attempt_begin(
                task_name=self.name, object_key=key, task_id=self.request.id or "", args=args, kwargs=kwargs
            )
        except DatabaseError as exc:
            log.warning("event=guard_unavailable task_name=%s object=%s error=%s", self.name, key, type(exc).__name__)
            return super().__call__(*args, **kwargs)
        if not verdict.run:
            self._dead(key, verdict.reason)
            return None
        if verdict.previous_task_id and verdict.previous_task_id == self.request.id:
            log.warning("event=redelivered task_name=%s released=%s", self.name, key)
            self._quietly(lambda: deadletter.release_previous_claims(hooks=self.object_hooks, object_keys=[key]))
        return self._run_counted(
            [key],
            lambda: super(GuardedTask, self).__call__(*args, **kwargs),
            undo=lambda: deadletter.attempt_undo(task_name=self.name, object_key=key),
        )

    def _call_batch(self, keys: list[str], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A batch (``poll_sources([3, 4, 5])``): drop dead ids; run the batch
        whole, or, when one of its ids has a run that never finished, one id at
        a time so that only the culprit is counted again."""
        ids = list(args[0])
        rest = args[1:]
        try:
            dead = deadletter.batch_dead_keys(task_name=self.name, object_keys=keys)
            for key in dead:
                self._dead(key, "dead letter")
            ids = [i for i, k in zip(ids, keys, strict=True) if k not in dead]
            keys = [k for k in keys if k not in dead]
            if not ids:
                return None
            careful = deadletter.batch_suspects(task_name=self.name, object_keys=keys)
            if careful or self.request.retries:
                self._release_previous(keys)
            if not careful:
                deadletter.batch_begin(task_name=self.name, object_keys=keys, task_id=self.request.id or "")
        except DatabaseError as exc:
            log.warning("event=guard_unavailable task_name=%s error=%s", self.name, type(exc).__name__)
            return super().__call__(ids, *rest, **kwargs)
        if not careful:
            return self._run_counted(
                keys,
                lambda: super(GuardedTask, self).__call__(ids, *rest, **kwargs),
                undo=lambda: deadletter.batch_undo(task_name=self.name, object_keys=keys),
            )
        log.warning("event=batch_one_by_one task_name=%s ids=%s", self.name, ",".join(keys))
        results = []
        first_error: Exception | None = None
        for one_id, key in zip(ids, keys, strict=True):
            verdict = deadletter.attempt_begin(
                task_name=self.name,
                object_key=key,
                task_id=self.request.id or "",
                args=[[one_id], *rest],
                kwargs=kwargs,
            )
            if not verdict.run:
                self._dead(key, verdict.reason)
                continue
            try:
                results.append(
                    self._run_counted(
                        [key],
                        lambda one_id=one_id: super(GuardedTask, self).__call__([one_id], *rest, **kwargs),
                        undo=lambda key=key: deadletter.attempt_undo(task_name=self.name, object_key=key),
                    )
                )
            except (Retry, Ignore, Reject):
                raise
            except Exception as exc:  # counted for this id; its batch-mates still run
                first_error = first_error or exc
        if first_error is not None:
            raise first_error
        if results and all(isinstance(r, int) for r in results):
            return sum(results)
        return None

    def _run_counted(self, keys: list[str], call: Any, *, undo: Any) -> Any:
        try:
            mark = deadletter.run_mark(hooks=self.object_hooks)
        except DatabaseError:
            mark = 0

        def finish() -> None:
            done = deadletter.finished_keys(hooks=self.object_hooks, object_keys=keys, mark=mark)
            deadletter.batch_finish(task_name=self.name, object_keys=done)

        try:
            result = call()
        except Retry:
            self._quietly(undo)
            raise
        except (Ignore, Reject):
            self._quietly(finish)
            raise
        except BaseException as exc:
            # Includes SoftTimeLimitExceeded: a run that hit its time limit counts.
            error = f"{type(exc).__name__}: {exc}"
            self._quietly(
                lambda: deadletter.batch_failed(task_name=self.name, object_keys=keys, error=error),
            )
            raise
        self._quietly(finish)
        return result

    def _release_previous(self, keys: list[str]) -> None:
        task_id = self.request.id or ""
        mine = deadletter.previous_delivery_keys(task_name=self.name, object_keys=keys, task_id=task_id)
        if mine:
            log.warning("event=redelivered task_name=%s released=%s", self.name, ",".join(mine))
            deadletter.release_previous_claims(hooks=self.object_hooks, object_keys=mine)

    def _dead(self, key: str, reason: str) -> None:
        log.error("event=dead_letter task_name=%s object=%s reason=%r", self.name, key, reason)
        self._quietly(
            lambda: deadletter.dead_letter_mark_object(hooks=self.object_hooks, object_key=key, reason=reason)
        )

    @staticmethod
    def _quietly(func: Any) -> None:
        try:
            func()
        except DatabaseError as exc:
            log.warning("event=guard_write_failed error=%s", type(exc).__name__)
