"""Operations (newsdesk/ops/): metrics, health checks, dead letters."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_float, env_int, env_str
from config.settings.core import DEBUG

# Prometheus metrics at /metrics, off by default.
NEWSDESK_METRICS = env_bool("NEWSDESK_METRICS", False)
# When set, /metrics wants "Authorization: Bearer <token>". Without one,
# /metrics answers loopback clients only, and production refuses to start.
NEWSDESK_METRICS_TOKEN = env_str("NEWSDESK_METRICS_TOKEN", "")
if NEWSDESK_METRICS and not NEWSDESK_METRICS_TOKEN and not DEBUG:
    raise ImproperlyConfigured(
        "NEWSDESK_METRICS=true in production needs NEWSDESK_METRICS_TOKEN (the scraper sends "
        "'Authorization: Bearer <token>'); metrics name sources, queues and error counts."
    )
# /healthz: the worker heartbeat is written every 30 s; the dispatcher runs every minute.
NEWSDESK_HEALTH_MAX_HEARTBEAT_AGE = env_int("NEWSDESK_HEALTH_MAX_HEARTBEAT_AGE", 120)
NEWSDESK_HEALTH_MAX_BEAT_LAG = env_int("NEWSDESK_HEALTH_MAX_BEAT_LAG", 600)
NEWSDESK_HEALTH_TIMEOUT = env_float("NEWSDESK_HEALTH_TIMEOUT", 2.0)
# Runs of one task for one object that may end abnormally (worker killed,
# time limit, crash) before the work becomes a dead letter.
NEWSDESK_DEAD_LETTER_AFTER = env_int("NEWSDESK_DEAD_LETTER_AFTER", 3)
# load_demo (run by `make run`): also add a few real outlets' feeds, which need internet.
NEWSDESK_DEMO_FEEDS = env_bool("NEWSDESK_DEMO_FEEDS", True)
