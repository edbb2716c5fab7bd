"""Similar Coverage (newsdesk/coverage/)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_float, env_int, env_str

# How far apart two articles of one story may be published. Running stories
# (a war, an election, a trial) get follow-ups for weeks; the similarity loses
# a little with the gap, and candidate reads are capped per term, so a long
# window costs precision only at the margin and no time. 60 days: events such
# as a trial or a scandal run for weeks with quiet spells in between.
NEWSDESK_COVERAGE_WINDOW_HOURS = env_float("NEWSDESK_COVERAGE_WINDOW_HOURS", 1440.0)
# A late report (the gunman's profile weeks after the shooting, a follow-up a
# year on) may still join its story up to this far apart, but only on the
# story's own rare names and with nothing conflicting (engine.Params,
# late_*). Two years; 0 (or anything not above the window) turns it off.
NEWSDESK_COVERAGE_LATE_WINDOW_HOURS = env_float("NEWSDESK_COVERAGE_LATE_WINDOW_HOURS", 17520.0)
# On PostgreSQL the story assignment's few statements are prepared once per
# connection (planning them cost about as much as running them). Turn off
# behind a pooler that does not keep sessions (PgBouncer in transaction mode).
NEWSDESK_COVERAGE_PREPARED_STATEMENTS = env_bool("NEWSDESK_COVERAGE_PREPARED_STATEMENTS", True)
# On PostgreSQL a story assignment commits without waiting for its WAL flush
# (synchronous_commit off for that transaction only). A database crash can
# then forget the last fraction of a second of assignments; the articles stay
# enriched and without a story, and the retry sweep (every
# NEWSDESK_TRANSLATION_RETRY_SECONDS) assigns them again after 10 minutes.
NEWSDESK_COVERAGE_ASYNC_COMMIT = env_bool("NEWSDESK_COVERAGE_ASYNC_COMMIT", True)
# On PostgreSQL a first assignment reads and scores its candidates without
# locking their stories' rows; it locks them only to write, checks that none
# changed meanwhile, and scores again under the locks when one did (the
# decisions are those of the locked read). Off: the rows are locked by the
# read, and a concurrent assignment waits through this one's scoring.
NEWSDESK_COVERAGE_OPTIMISTIC_READ = env_bool("NEWSDESK_COVERAGE_OPTIMISTIC_READ", True)
# Semantic backend: sentence embeddings of titles and leads mixed into the
# similarity. The default install carries a multilingual model (multilingual
# USE v3), so stories group across languages without translation.
# auto = on when its packages import; on = required (startup fails without
# them); off = lexical only, exactly as without the packages.
NEWSDESK_COVERAGE_SEMANTIC = env_str("NEWSDESK_COVERAGE_SEMANTIC", "auto").strip().lower()
if NEWSDESK_COVERAGE_SEMANTIC not in ("auto", "on", "off"):
    raise ImproperlyConfigured("NEWSDESK_COVERAGE_SEMANTIC must be auto, on or off.")
# Which model: multilingual-use-v3 (default install, about 8 ms a title and
# lead), multilingual-e5-small (requirements-semantic-multilingual.txt, better
# on graded pairs, about 140 ms a title and lead), all-minilm-l6-v2 (English
# text only), or auto: the first installed of e5, USE, MiniLM.
_SEMANTIC_MODELS = ("auto", "multilingual-use-v3", "multilingual-e5-small", "all-minilm-l6-v2")
NEWSDESK_COVERAGE_SEMANTIC_MODEL = env_str("NEWSDESK_COVERAGE_SEMANTIC_MODEL", "auto").strip().lower()
if NEWSDESK_COVERAGE_SEMANTIC_MODEL not in _SEMANTIC_MODELS:
    raise ImproperlyConfigured(f"NEWSDESK_COVERAGE_SEMANTIC_MODEL must be one of {', '.join(_SEMANTIC_MODELS)}.")
# CPU threads of the semantic model in each process (Celery
# runs one process per core already).
NEWSDESK_COVERAGE_SEMANTIC_THREADS = env_int("NEWSDESK_COVERAGE_SEMANTIC_THREADS", 1)
# Refinement behind the stream (newsdesk.coverage.refine): beat re-examines the
# stories of the last NEWSDESK_COVERAGE_REFINE_HOURS every
# NEWSDESK_COVERAGE_REFINE_MINUTES (0 turns the pass off), splitting stories
# whose members do not hold together and merging fragments of one event.
NEWSDESK_COVERAGE_REFINE_MINUTES = env_float("NEWSDESK_COVERAGE_REFINE_MINUTES", 10.0)
NEWSDESK_COVERAGE_REFINE_HOURS = env_float("NEWSDESK_COVERAGE_REFINE_HOURS", 48.0)
# The boilerplate rule's counts (newsdesk.coverage.dbboilerplate): a lead
# sentence's (sentence, title) rows older than this many days are deleted
# hourly, so the table holds about this many days of enrichment; a tagline
# still in use is counted again from its next items. 0 keeps them forever.
NEWSDESK_COVERAGE_BOILERPLATE_DAYS = env_float("NEWSDESK_COVERAGE_BOILERPLATE_DAYS", 14.0)
# Refinement after a burst (newsdesk.coverage.burst): once story assignment has
# been quiet this many seconds (no enrichment batch finished or waiting), a pass
# re-examines the stories assigned to since the last pass and their
# neighbours, on the `refine` queue, instead of waiting for beat's tick.
# 0 turns it off (beat's pass stays).
NEWSDESK_COVERAGE_REFINE_QUIET_SECONDS = env_float("NEWSDESK_COVERAGE_REFINE_QUIET_SECONDS", 10.0)
# During a long burst, such a pass also runs once this many articles were
# assigned since the last one, quiet or not.
NEWSDESK_COVERAGE_REFINE_BURST_ARTICLES = env_int("NEWSDESK_COVERAGE_REFINE_BURST_ARTICLES", 5000)
# Fewer articles assigned since the last pass are no burst: they wait for beat's tick.
NEWSDESK_COVERAGE_REFINE_BURST_MIN_ARTICLES = env_int("NEWSDESK_COVERAGE_REFINE_BURST_MIN_ARTICLES", 50)
if NEWSDESK_COVERAGE_REFINE_BURST_ARTICLES < 1:
    raise ImproperlyConfigured("NEWSDESK_COVERAGE_REFINE_BURST_ARTICLES must be 1 or more.")
