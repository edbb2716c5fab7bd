"""The read API under /api/v1/ (newsdesk/api/)."""

from __future__ import annotations

from config.env import env_int, env_str

# Requests per token (or per client address when anonymous, on a public
# desk) in NinjaAPI's throttle notation: "<n>/<s|m|h|d>".
NEWSDESK_API_RATE_TOKEN = env_str("NEWSDESK_API_RATE_TOKEN", "600/m")
NEWSDESK_API_RATE_ANONYMOUS = env_str("NEWSDESK_API_RATE_ANONYMOUS", "120/m")
NEWSDESK_API_PAGE_SIZE = env_int("NEWSDESK_API_PAGE_SIZE", 50)
NEWSDESK_API_MAX_PAGE_SIZE = env_int("NEWSDESK_API_MAX_PAGE_SIZE", 200)
NEWSDESK_MAX_API_TOKENS = env_int("NEWSDESK_MAX_API_TOKENS", 20)
