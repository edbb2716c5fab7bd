"""Operations (newsdesk/ops/): metrics, health checks, dead letters."""

from __future__ import annotations

from config.env import env_bool, env_float, env_int, env_str

# Prometheus metrics at /metrics, off by default.
NEWSDESK_METRICS = env_bool("NEWSDESK_METRICS", False)
# When set, /metrics wants "Authorization: Bearer <token>".
NEWSDESK_METRICS_TOKEN = env_str("NEWSDESK_METRICS_TOKEN", "")
# /healthz: the worker heartbeat is written every 30 s; the dispatcher runs every minute.
NEWSDESK_HEALTH_MAX_HEARTBEAT_AGE = env_int("NEWSDESK_HEALTH_MAX_HEARTBEAT_AGE", 120)
NEWSDESK_HEALTH_MAX_BEAT_LAG = env_int("NEWSDESK_HEALTH_MAX_BEAT_LAG", 600)
NEWSDESK_HEALTH_TIMEOUT = env_float("NEWSDESK_HEALTH_TIMEOUT", 2.0)
# Runs of one task for one object that may end abnormally (worker killed,
# time limit, crash) before the work becomes a dead letter.
NEWSDESK_DEAD_LETTER_AFTER = env_int("NEWSDESK_DEAD_LETTER_AFTER", 3)
# load_demo (run by `make run`): also add a few real outlets' feeds, which need internet.
NEWSDESK_DEMO_FEEDS = env_bool("NEWSDESK_DEMO_FEEDS", True)
