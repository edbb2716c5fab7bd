"""The dashboard, story pages, stats and feeds (newsdesk/web/)."""

from __future__ import annotations

from config.env import env_bool, env_int

NEWSDESK_DASHBOARD_PUBLIC = env_bool("NEWSDESK_DASHBOARD_PUBLIC", True)
NEWSDESK_PAGE_SIZE = env_int("NEWSDESK_PAGE_SIZE", 30)
NEWSDESK_FEED_SIZE = env_int("NEWSDESK_FEED_SIZE", 50)
# Cache-Control max-age of feeds; readers revalidate with ETag/Last-Modified after it.
NEWSDESK_FEED_MAX_AGE = env_int("NEWSDESK_FEED_MAX_AGE", 300)
# Seconds a feed's validator is memoized for 304s (newsdesk/changes.py). Writes
# invalidate it at once; the expiry only bounds a change missed while the
# cache was unreachable.
NEWSDESK_FEED_VALIDATOR_TTL = env_int("NEWSDESK_FEED_VALIDATOR_TTL", NEWSDESK_FEED_MAX_AGE)
# How long the stats charts and the dashboard's category list are cached.
NEWSDESK_STATS_CACHE_SECONDS = env_int("NEWSDESK_STATS_CACHE_SECONDS", 300)
# English feeds publish a pending translation only after this many seconds since the
# article was stored, with its original text and a marker (newsdesk/web/feeds/finished.py).
NEWSDESK_FEED_HOLD_SECONDS = env_int("NEWSDESK_FEED_HOLD_SECONDS", 600)
# Rendered dashboard cards kept per web process, keyed by everything a card shows (0 = off).
NEWSDESK_CARD_CACHE = env_int("NEWSDESK_CARD_CACHE", 4096)
# Serialised feed items kept per web process, keyed by everything an item shows (0 = off).
NEWSDESK_FEED_ITEM_CACHE = env_int("NEWSDESK_FEED_ITEM_CACHE", 4096)
# How often an open dashboard asks /live/ whether new matching articles arrived (0 = never).
NEWSDESK_LIVE_POLL_SECONDS = env_int("NEWSDESK_LIVE_POLL_SECONDS", 30)
