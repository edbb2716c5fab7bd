"""Values built once per process (or per thread), rebuilt in a forked child.

Celery's prefork pool and gunicorn fork worker processes from a parent that
may already hold thread pools, sockets and clients; a child must never use
the parent's (threads do not survive a fork, and a shared socket mixes two
processes' traffic). :class:`PerProcess` builds its value on first use in
each process, under a lock so two threads never build two; the child of a
fork starts empty with a fresh lock, because a lock some other thread held
at the fork stays locked in the child for ever. :class:`PerThread` is the
same for values that must not be shared between threads either.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")

_all: weakref.WeakSet[PerProcess] = weakref.WeakSet()


class PerProcess(Generic[T]):
    """``build(*key)``, built at most once per key in each process."""

    def __init__(self, build: Callable[..., T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._values: dict[tuple, T] = {}
        _all.add(self)

    def get(self, *key: Hashable) -> T:
        value = self._values.get(key)
        if value is not None:
            return value
        with self._lock:
            value = self._values.get(key)
            if value is None:
                value = self._values[key] = self._build(*key)
            return value

    def pop(self, *key: Hashable) -> T | None:
        """Forget this process's value for ``key`` and return it (to shut it down), if built."""
        with self._lock:
            return self._values.pop(key, None)

    def _forget_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._values = {}


class PerThread(Generic[T]):
    """``build(*key)``, built at most once per key in each thread of each process."""

    def __init__(self, build: Callable[..., T]) -> None:
        self._build = build
        self._local = threading.local()

    def get(self, *key: Hashable) -> T:
        local = self._local
        values: dict[tuple, T] | None = getattr(local, "values", None)
        if values is None or local.pid != os.getpid():
            values = local.values = {}
            local.pid = os.getpid()
        value = values.get(key)
        if value is None:
            value = values[key] = self._build(*key)
        return value


def _after_fork_in_child() -> None:
    for holder in list(_all):
        holder._forget_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
