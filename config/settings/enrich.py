"""Language detection and translation (newsdesk/enrich/)."""

from __future__ import annotations

from config.env import env_bool, env_float, env_int, env_list, env_str

# How often the retry sweep runs: pending translations, lost enrich messages
# and lost story assignments are queued again (newsdesk/tasks.py).
NEWSDESK_TRANSLATION_RETRY_SECONDS = env_float("NEWSDESK_TRANSLATION_RETRY_SECONDS", 300.0)

# Articles per enrichment message (newsdesk/flow.py): a batch shares one task's
# overhead, one read and one encoder call; small enough that the fresh lane
# turns over in a fraction of a second.
NEWSDESK_ENRICH_BATCH_SIZE = env_int("NEWSDESK_ENRICH_BATCH_SIZE", 20)

NEWSDESK_TARGET_LANGUAGE = "en"
NEWSDESK_LANGUAGES = env_list(
    "NEWSDESK_LANGUAGES",
    [
        "ar",
        "bg",
        "ca",
        "cs",
        "da",
        "de",
        "el",
        "en",
        "es",
        "et",
        "fa",
        "fi",
        "fr",
        "he",
        "hi",
        "hr",
        "hu",
        "id",
        "it",
        "ja",
        "ko",
        "lt",
        "lv",
        # "ms" (Malay) is left out: lingua labels most Malay text Indonesian.
        # A source declared "ms" keeps "ms" (see newsdesk/enrich/language.py).
        "nl",
        "nb",
        "pl",
        "pt",
        "ro",
        "ru",
        "sk",
        "sl",
        "sr",
        "sv",
        "th",
        "tl",
        "tr",
        "uk",
        "ur",
        "vi",
        "zh",
    ],
)
# lingua accuracy: "high" (about 950 MB, shared by a worker's pool processes because the
# Celery master preloads it before forking) or "low" (about 100 MB, weaker on short texts).
NEWSDESK_LANGUAGE_ACCURACY = env_str("NEWSDESK_LANGUAGE_ACCURACY", "high")
NEWSDESK_LANGUAGE_PRELOAD = env_bool("NEWSDESK_LANGUAGE_PRELOAD", True)
# Confidence (0..1) above which the detected language overrides the declared one.
NEWSDESK_LANGUAGE_MIN_CONFIDENCE = env_float("NEWSDESK_LANGUAGE_MIN_CONFIDENCE", 0.5)
# Ordered fallback chain: google, deepl, microsoft, libre, mymemory.
NEWSDESK_TRANSLATORS = env_list("NEWSDESK_TRANSLATORS", ["google"])
# Our own deadline (seconds) around every provider call; deep-translator sets none.
NEWSDESK_TRANSLATION_TIMEOUT = env_float("NEWSDESK_TRANSLATION_TIMEOUT", 15.0)
# In-call retries of transient failures (timeouts, 5xx, refused), exponential backoff with full jitter.
NEWSDESK_TRANSLATION_RETRIES = env_int("NEWSDESK_TRANSLATION_RETRIES", 2)
NEWSDESK_TRANSLATION_BACKOFF = env_float("NEWSDESK_TRANSLATION_BACKOFF", 0.5)
# Single-flight lock on a text being translated: held for the holder's longest call
# (timeout x attempts + backoff) plus this margin for writing the row; once the lock
# is past its end and the row is still missing (deleted), it is taken over after the grace.
NEWSDESK_TRANSLATION_LOCK_MARGIN = env_float("NEWSDESK_TRANSLATION_LOCK_MARGIN", 5.0)
NEWSDESK_TRANSLATION_DONE_GRACE = env_float("NEWSDESK_TRANSLATION_DONE_GRACE", 2.0)
# Circuit breaker per provider, shared through Redis: opens after this many failures
# within the window, stays open for the cooldown (doubling up to the max while probes fail).
NEWSDESK_TRANSLATION_BREAKER_FAILURES = env_int("NEWSDESK_TRANSLATION_BREAKER_FAILURES", 5)
NEWSDESK_TRANSLATION_BREAKER_WINDOW = env_float("NEWSDESK_TRANSLATION_BREAKER_WINDOW", 60.0)
NEWSDESK_TRANSLATION_BREAKER_COOLDOWN = env_float("NEWSDESK_TRANSLATION_BREAKER_COOLDOWN", 60.0)
NEWSDESK_TRANSLATION_BREAKER_MAX_COOLDOWN = env_float("NEWSDESK_TRANSLATION_BREAKER_MAX_COOLDOWN", 1800.0)
# Requests per second per provider, shared by all workers ("name=rate,..."; 0 = unlimited).
# The free Google endpoint must stay under 5/s.
NEWSDESK_TRANSLATION_RATES = env_str("NEWSDESK_TRANSLATION_RATES", "google=4,deepl=10,microsoft=10,libre=20,mymemory=2")
# Characters per UTC day per provider ("name=chars,..."; 0 = unlimited). DeepL Free allows
# 500,000 a month, Microsoft F0 2,000,000 a month, MyMemory 50,000 a day with an e-mail.
NEWSDESK_TRANSLATION_DAILY_CHARS = env_str(
    "NEWSDESK_TRANSLATION_DAILY_CHARS", "google=2000000,deepl=16000,microsoft=64000,libre=0,mymemory=45000"
)
# After this many attempts a pending article is marked failed (the admin action retries it).
NEWSDESK_TRANSLATION_MAX_ATTEMPTS = env_int("NEWSDESK_TRANSLATION_MAX_ATTEMPTS", 30)
NEWSDESK_GOOGLE_TRANSLATE_URL = env_str("NEWSDESK_GOOGLE_TRANSLATE_URL", "")
NEWSDESK_LIBRETRANSLATE_URL = env_str("NEWSDESK_LIBRETRANSLATE_URL", "")
NEWSDESK_LIBRETRANSLATE_KEY = env_str("NEWSDESK_LIBRETRANSLATE_KEY", "")
NEWSDESK_DEEPL_KEY = env_str("NEWSDESK_DEEPL_KEY", "")
NEWSDESK_DEEPL_FREE = env_bool("NEWSDESK_DEEPL_FREE", True)
NEWSDESK_MICROSOFT_KEY = env_str("NEWSDESK_MICROSOFT_KEY", "")
NEWSDESK_MICROSOFT_REGION = env_str("NEWSDESK_MICROSOFT_REGION", "")
NEWSDESK_MYMEMORY_EMAIL = env_str("NEWSDESK_MYMEMORY_EMAIL", "")
# Base URL overrides (self-hosted gateways, and loopback providers in tests).
NEWSDESK_DEEPL_URL = env_str("NEWSDESK_DEEPL_URL", "")
NEWSDESK_MICROSOFT_URL = env_str("NEWSDESK_MICROSOFT_URL", "")
NEWSDESK_MYMEMORY_URL = env_str("NEWSDESK_MYMEMORY_URL", "")
# On-demand translation of an article's full text (POST /articles/<id>/translation/, editors only):
# requests per editor per hour, the most characters one request may send, and the share of
# the day's budget it may take, as a fraction of each chain provider's daily budget and as
# an absolute cap; what is left is ingest's, which on-demand requests never touch.
NEWSDESK_ONDEMAND_PER_USER_HOUR = env_int("NEWSDESK_ONDEMAND_PER_USER_HOUR", 20)
NEWSDESK_ONDEMAND_MAX_CHARS = env_int("NEWSDESK_ONDEMAND_MAX_CHARS", 20_000)
NEWSDESK_ONDEMAND_BUDGET_SHARE = env_float("NEWSDESK_ONDEMAND_BUDGET_SHARE", 0.1)
NEWSDESK_ONDEMAND_DAILY_CHARS = env_int("NEWSDESK_ONDEMAND_DAILY_CHARS", 200_000)
