"""The Celery worker command that tests and benches start (a real worker process, never eager mode)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def celery_worker_command(
    *, name: str, concurrency: int, loglevel: str = "INFO", module: str = "celery", extra: Sequence[str] = ()
) -> list[str]:
    """``celery -A config worker`` with the prefork pool; gossip and mingle only slow a start here.

    ``module`` is what ``python -m`` runs (a bench may wrap Celery's entry point);
    ``extra`` adds options such as ``-Q queue`` or ``--without-heartbeat``.
    """
    return [
        sys.executable,
        *("-m", module, "-A", "config", "worker"),
        f"--loglevel={loglevel}",
        f"--concurrency={concurrency}",
        *("--pool=prefork", "--without-gossip", "--without-mingle"),
        *("-n", name),
        *extra,
    ]
