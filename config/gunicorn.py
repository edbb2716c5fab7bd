"""gunicorn settings for production (``gunicorn config.wsgi -c config/gunicorn.py``)."""

import gc
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# gunicorn's rule of thumb, 2 x cores + 1, counts sync workers: one request
# at a time each. These workers are threaded (``threads``, 2 by default), so
# cores + 1 processes already give more request slots (6 on 2 cores) than the
# rule (5), and every process saved is about 30 MB (docs/benchmarks.md,
# "Memory of the production process set": same throughput, 3 against 5).
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 2))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
keepalive = 5
# Import Django once in the master and fork the workers from it: the code
# pages are shared copy-on-write instead of loaded per worker (5 workers:
# 334 MB PSS instead of 372, docs/benchmarks.md). Nothing opens a connection
# at import. A new release needs a restart, not a HUP, to load new code.
preload_app = True


def when_ready(server):
    # In the master, once the app is loaded and before the first fork: build
    # what every worker would otherwise build privately on its first requests
    # (URL resolver, view modules, compiled templates; docs/benchmarks.md,
    # "Memory of the production process set").
    from newsdesk.ops.prefork import web_warm

    if preload_app:
        web_warm()


def pre_fork(server, worker):
    # The preloaded app's objects live for ever: out of the collector's reach,
    # a worker's collections never write to their pages, so they stay shared.
    gc.freeze()


max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
# One line per request with the time taken (%(M)s ms), in the key=value style of the app logs.
access_log_format = 'event=http remote=%(h)s method=%(m)s path="%(U)s" status=%(s)s bytes=%(B)s ms=%(M)s ua="%(a)s"'
# Worker heartbeat files on tmpfs: a slow or overlay /tmp can stall workers into timeouts.
_SHM = "/dev/shm"  # noqa: S108  (gunicorn's own recommendation; only heartbeat files go there)
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None
# Strips private-feed tokens (they are in URL paths) from access-log lines.
logger_class = "newsdesk.accounts.logredact.RedactingGunicornLogger"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
