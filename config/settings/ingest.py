"""Feed polling (newsdesk/ingest/): fetching, parsing limits, scheduling, dispatch."""

from __future__ import annotations

from config.env import env_float, env_int, env_list, env_str

# Fetching (newsdesk/ingest/fetch.py)
NEWSDESK_FETCH_CONNECT_TIMEOUT = env_float("NEWSDESK_FETCH_CONNECT_TIMEOUT", 5.0)
NEWSDESK_FETCH_READ_TIMEOUT = env_float("NEWSDESK_FETCH_READ_TIMEOUT", 10.0)
NEWSDESK_FETCH_DEADLINE = env_float("NEWSDESK_FETCH_DEADLINE", 30.0)
NEWSDESK_FETCH_MAX_BYTES = env_int("NEWSDESK_FETCH_MAX_BYTES", 10 * 1024 * 1024)
# CIDR networks that the SSRF guard lets through (intranet feeds, tests).
NEWSDESK_FETCH_ALLOWED_NETWORKS = env_list("NEWSDESK_FETCH_ALLOWED_NETWORKS", [])
NEWSDESK_MAX_ITEMS_PER_POLL = env_int("NEWSDESK_MAX_ITEMS_PER_POLL", 200)

# Scheduling (newsdesk/ingest/schedule.py)
NEWSDESK_POLL_MIN_SECONDS = env_int("NEWSDESK_POLL_MIN_SECONDS", 300)
NEWSDESK_POLL_MAX_SECONDS = env_int("NEWSDESK_POLL_MAX_SECONDS", 86400)
NEWSDESK_ERROR_BACKOFF_MAX_SECONDS = env_int("NEWSDESK_ERROR_BACKOFF_MAX_SECONDS", 86400)
NEWSDESK_DISABLE_AFTER_DAYS = env_float("NEWSDESK_DISABLE_AFTER_DAYS", 7.0)
# FetchAttempt rows (one per poll or drop file) older than this are deleted
# hourly, in batches; 0 keeps them forever. The stats page reads 7 days.
NEWSDESK_FETCH_HISTORY_DAYS = env_float("NEWSDESK_FETCH_HISTORY_DAYS", 30.0)

# Dispatch (newsdesk/ingest/dispatch.py): beat's tick claims due sources.
NEWSDESK_DISPATCH_SECONDS = env_float("NEWSDESK_DISPATCH_SECONDS", 60.0)
# Sources per poll message: batching amortises Celery's per-task overhead.
# Batch size x fetch deadline / poll threads must stay under the task soft time limit.
NEWSDESK_POLL_BATCH_SIZE = env_int("NEWSDESK_POLL_BATCH_SIZE", 20)
# Fetches of one batch overlap in this many threads per worker process (I/O bound).
NEWSDESK_POLL_THREADS = env_int("NEWSDESK_POLL_THREADS", 4)
# Most sources one dispatcher tick sends (the rest wait for the next tick).
NEWSDESK_DISPATCH_LIMIT = env_int("NEWSDESK_DISPATCH_LIMIT", 100000)
# Celery queue for poll messages (a separate queue lets polling workers scale apart from enrichment).
NEWSDESK_POLL_QUEUE = env_str("NEWSDESK_POLL_QUEUE", "poll")

# Receiving WebSub pushes (newsdesk/ingest/push.py): on only when NEWSDESK_BASE_URL gives the desk a
# public address a hub can call back. While a source's hub subscription is live, the source is
# polled at most this often (polling stays as the safety net), and as usual once the lease ends.
NEWSDESK_WEBSUB_PUSHED_POLL_SECONDS = env_int("NEWSDESK_WEBSUB_PUSHED_POLL_SECONDS", 86400)
