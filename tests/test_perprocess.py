"""newsdesk.perprocess: one value per process (and per thread), never shared with a forked child."""

from __future__ import annotations

import os
import threading
import time

import pytest

from newsdesk.perprocess import PerProcess, PerThread


def test_threads_racing_build_one_value_per_key():
    built: list[int] = []

    def build(n: int) -> object:
        time.sleep(0.01)  # widen the race window
        built.append(n)
        return object()

    holder = PerProcess(build)
    barrier = threading.Barrier(8)
    seen: list[object] = []

    def run() -> None:
        barrier.wait()
        seen.append(holder.get(1))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built == [1] and len({id(value) for value in seen}) == 1
    assert holder.get(2) is not holder.get(1)
    assert holder.pop(1) is seen[0] and holder.get(1) is not seen[0]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_builds_its_own_even_while_a_thread_holds_the_lock():
    holder = PerProcess(object)
    parent_value = holder.get()
    holder._lock.acquire()  # as if another thread were building at the moment of the fork
    try:
        pid = os.fork()
        if pid == 0:  # the child: a fresh value, and no deadlock on the copied lock
            ok = holder.get() is not parent_value and holder.get() is holder.get()
            os._exit(0 if ok else 1)
    finally:
        holder._lock.release()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert holder.get() is parent_value


def test_per_thread_values_are_not_shared_between_threads():
    holder = PerThread(list)
    mine = holder.get()
    assert holder.get() is mine
    other: list[object] = []
    thread = threading.Thread(target=lambda: other.append(holder.get()))
    thread.start()
    thread.join()
    assert other[0] is not mine
