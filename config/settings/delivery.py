"""Outgoing deliveries (newsdesk/delivery/), alerts (newsdesk/alerts/) and e-mail.

README "Alerts" and docs/alerts.md explain each setting.
"""

from __future__ import annotations

from config.email import email_url_settings
from config.env import env_bool, env_int, env_str
from config.settings.core import DEBUG

# The desk's public address (https://desk.example.org), for links in alerts.
# Unset, alerts carry paths only (Slack then shows the headline unlinked).
NEWSDESK_BASE_URL = env_str("NEWSDESK_BASE_URL", "").rstrip("/")

# E-mail: EMAIL_URL (config/email.py) or Django's usual EMAIL_* variables;
# with neither, development prints messages to the console.
EMAIL_URL = env_str("EMAIL_URL", "")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", "")
if EMAIL_URL:
    globals().update(email_url_settings(EMAIL_URL))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Newsdesk <newsdesk@localhost>")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# Delivery: attempts per event and destination, exponential backoff between
# them (a 429's or 503's Retry-After is honoured, up to the cap), and a
# destination disabled after this many failed attempts in a row.
NEWSDESK_DELIVERY_MAX_ATTEMPTS = env_int("NEWSDESK_DELIVERY_MAX_ATTEMPTS", 8)
NEWSDESK_DELIVERY_BACKOFF_SECONDS = env_int("NEWSDESK_DELIVERY_BACKOFF_SECONDS", 30)
NEWSDESK_DELIVERY_BACKOFF_MAX = env_int("NEWSDESK_DELIVERY_BACKOFF_MAX", 6 * 3600)
NEWSDESK_DELIVERY_DISABLE_AFTER = env_int("NEWSDESK_DELIVERY_DISABLE_AFTER", 15)
# A claim older than this is a worker that vanished mid-send: sent again.
NEWSDESK_DELIVERY_CLAIM_SECONDS = env_int("NEWSDESK_DELIVERY_CLAIM_SECONDS", 600)
# Retries due sooner than this go out as a Celery countdown; later ones wait for the dispatcher.
NEWSDESK_DELIVERY_COUNTDOWN_MAX = env_int("NEWSDESK_DELIVERY_COUNTDOWN_MAX", 300)
NEWSDESK_DELIVERY_DISPATCH_SECONDS = float(env_int("NEWSDESK_DELIVERY_DISPATCH_SECONDS", 30))
# Finished deliveries (and their attempt logs) are kept this long, then pruned hourly.
NEWSDESK_DELIVERY_HISTORY_DAYS = env_int("NEWSDESK_DELIVERY_HISTORY_DAYS", 30)

# Alerts: how often they are checked, how far back a story may have last
# changed and still fire, and the slack for transactions that commit late.
NEWSDESK_ALERT_SWEEP_SECONDS = float(env_int("NEWSDESK_ALERT_SWEEP_SECONDS", 30))
NEWSDESK_ALERT_WINDOW_HOURS = env_int("NEWSDESK_ALERT_WINDOW_HOURS", 72)
NEWSDESK_ALERT_MARGIN_SECONDS = env_int("NEWSDESK_ALERT_MARGIN_SECONDS", 300)
NEWSDESK_MAX_ALERTS = env_int("NEWSDESK_MAX_ALERTS", 50)

# WebSub hub (newsdesk/websub/): default and longest lease a subscriber gets,
# and how often beat checks whether a subscribed feed changed (a no-op without a change).
NEWSDESK_WEBSUB_LEASE_SECONDS = env_int("NEWSDESK_WEBSUB_LEASE_SECONDS", 10 * 86400)
NEWSDESK_WEBSUB_LEASE_MAX = env_int("NEWSDESK_WEBSUB_LEASE_MAX", 30 * 86400)
# Subscription requests one client address may make per hour (each makes the hub call a URL).
NEWSDESK_WEBSUB_MAX_REQUESTS_PER_IP = env_int("NEWSDESK_WEBSUB_MAX_REQUESTS_PER_IP", 60)
NEWSDESK_WEBSUB_PUBLISH_SECONDS = float(env_int("NEWSDESK_WEBSUB_PUBLISH_SECONDS", 2))
# A committed change also queues a sweep at once (a burst shares one more), so a push does not wait for the tick.
NEWSDESK_WEBSUB_PUBLISH_ON_COMMIT = env_bool("NEWSDESK_WEBSUB_PUBLISH_ON_COMMIT", True)
