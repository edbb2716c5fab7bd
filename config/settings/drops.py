"""File drops (newsdesk/drops/, README "File drops")."""

from __future__ import annotations

from pathlib import Path

from config.env import env_float, env_int, env_str
from config.settings.core import VAR_DIR

NEWSDESK_DROP_ROOT = Path(env_str("NEWSDESK_DROP_ROOT", str(VAR_DIR / "drops")))
# Files larger than this are refused to failed/; it also caps each member unpacked from a .zip.
NEWSDESK_DROP_MAX_BYTES = env_int("NEWSDESK_DROP_MAX_BYTES", 10 * 1024 * 1024)
# A file is taken once it has not changed (ctime) for this long, so a writer
# still appending is never read half-way. inotify (watch_drops) skips the wait
# for files it saw moved in or closed.
NEWSDESK_DROP_SETTLE_SECONDS = env_float("NEWSDESK_DROP_SETTLE_SECONDS", 2.0)
# Beat's scan interval, and watch_drops' fallback full scan.
NEWSDESK_DROP_SCAN_SECONDS = env_float("NEWSDESK_DROP_SCAN_SECONDS", 30.0)
# Files claimed and stored per transaction: one commit per batch is what makes
# backfills of thousands of files fast; claims stay locked until their batch commits.
NEWSDESK_DROP_BATCH_FILES = env_int("NEWSDESK_DROP_BATCH_FILES", 500)
# .zip archives are unpacked in memory within these limits (zip bombs, traversal).
NEWSDESK_DROP_ZIP_MAX_MEMBERS = env_int("NEWSDESK_DROP_ZIP_MAX_MEMBERS", 1000)
NEWSDESK_DROP_ZIP_MAX_BYTES = env_int("NEWSDESK_DROP_ZIP_MAX_BYTES", 100 * 1024 * 1024)
# A file whose worker died this many times while processing it (killed by the time limit,
# out of memory, a crash) is moved to failed/ with the reason instead of being tried again.
# A file that was in a dead worker's hands once is processed alone from then on.
NEWSDESK_DROP_MAX_TRIES = env_int("NEWSDESK_DROP_MAX_TRIES", 3)
