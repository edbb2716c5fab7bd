"""Fuzz the hostile-input surfaces with Hypothesis for a bounded time, timing each input.

    .venv/bin/python -m newsdesk.embedded_redis run -- .venv/bin/python bench/fuzz.py --seconds 60
    .venv/bin/python bench/fuzz.py --target drops --seconds 60
    .venv/bin/python bench/fuzz.py --target timing

Targets:

* ``feeds``: ``newsdesk.ingest.parse.parse_feed`` (RSS, Atom, RDF and JSON
  Feed documents built from hostile text: control characters, entities,
  CDATA, markup, odd dates, huge and empty fields, then byte mutations);
* ``drops``: ``newsdesk.drops.formats.drop_parse`` (cards, JSON, NDJSON, text
  and Markdown, feed files, zip archives);
* ``names``: drop file names (bytes that are not UTF-8, newlines, escapes,
  bidi overrides...) dropped into a real inbox and scanned for real: every
  file ends in done/ or failed/, and no error note carries a forged line;
* ``search``: the search syntax, parsed and run as a database query;
* ``filters``: the dashboard's filter parameters on ``/`` and its three
  feeds: never a 500;
* ``timing``: every text path (newsdesk/testing/linear.py) on adversarial
  repetitions, swept over sizes n..64n: the time must grow linearly.

Each execution checks the contract, not just "no crash": a document is
refused with the module's own error or parsed into items that keep it
(``newsdesk.testing.fuzz.check_item``); anything else that escapes is a
finding. Every input is also timed (CPU time) against its size: per target,
the inputs are grouped by size (powers of two) and a group whose cost per
character is over 3x that of the smaller groups is a super-linear finding.

The targets that use the database get a throwaway SQLite file created for
the run (never the project's database); run under ``newsdesk.embedded_redis``
so the pages' cache is a private Redis too. The last line prints executions
and findings; the exit status is non-zero when there is a finding.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from newsdesk.testing.fuzz import TARGETS
from newsdesk.testing.hostile import HOSTILE_TARGETS, size_of

# name: (strategy, contract, needs the database)
ALL_TARGETS = {name: (strategy, check, False) for name, (strategy, check) in TARGETS.items()} | HOSTILE_TARGETS
ALL_NAMES = [*ALL_TARGETS, "timing"]


def fuzz(*, target: str, seconds: float, seed: int | None = None) -> tuple[int, list[str], list[tuple[int, float]]]:
    """Run one target for ``seconds``; return (executions, findings, (size, CPU seconds) per input)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    strategy, check, _db = ALL_TARGETS[target]
    executions = 0
    findings: list[str] = []
    timings: list[tuple[int, float]] = []
    deadline = time.monotonic() + seconds

    @settings(
        max_examples=200,  # one round; rounds repeat until the time is up
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(strategy)
    def run(value) -> None:
        nonlocal executions
        executions += 1
        start = time.process_time()
        check(value)
        timings.append((size_of(value), time.process_time() - start))

    if seed is not None:
        run = hseed(seed)(run)
    while time.monotonic() < deadline:
        try:
            run()
        except Exception as exc:  # a finding: record it, with the shrunk input Hypothesis printed
            findings.append(f"{target}: {type(exc).__name__}: {str(exc)[:300]}\n{traceback.format_exc()[-1500:]}")
            if len(findings) >= 5:
                break
    return executions, findings, timings


def growth_report(target: str, timings: list[tuple[int, float]]) -> list[str]:
    """Print CPU microseconds per character by input size group; return super-linear findings.

    Per group (sizes within a power of two) the 90th percentile of the cost
    per character: linear code costs no more per character on large inputs
    than on smaller ones (fixed overhead even makes it cheaper), quadratic
    code 4x more for every fourfold size. A group costing over 3x the worst
    of the groups at least four times smaller, when its inputs take over
    0.2 s, is a finding (fixed costs such as charset detection on a small
    undecodable file are not growth). The principled check is ``timing``.
    """
    groups: dict[int, list[float]] = {}
    for size, seconds in timings:
        groups.setdefault(max(size, 1).bit_length(), []).append(seconds / max(size, 1))
    p90: dict[int, float] = {}
    rows, findings = [], []
    for bits in sorted(groups):
        costs = sorted(groups[bits])
        p90[bits] = costs[min(len(costs) - 1, int(len(costs) * 0.9))]
        rows.append(f"<{2**bits}:{p90[bits] * 1e6:.2f}us/ch(n={len(costs)})")
        smaller = [p90[b] for b in p90 if 8 <= b <= bits - 2 and len(groups[b]) >= 5]
        slow = p90[bits] * 2 ** (bits - 1) > 0.2  # inputs of this group take over 0.2 s (not just fixed costs)
        if smaller and len(costs) >= 5 and slow and p90[bits] > 3 * max(smaller):
            findings.append(f"{target}: inputs under {2**bits} characters cost {p90[bits] * 1e6:.2f} us each (p90), "
                            f"over 3x the {max(smaller) * 1e6:.2f} us of inputs four times smaller (super-linear)")  # fmt: skip
    print(f"{target} cost per character by size (p90): " + " ".join(rows))
    return findings


def timing_sweep() -> list[str]:
    """Every text path on every adversarial repetition, n..64n: print the times; return findings."""
    from newsdesk.testing.linear import FACTOR, PATTERNS, best_of, growth_within_limit, text_paths

    findings = []
    for name, path in text_paths().items():
        for pattern, unit in PATTERNS.items():
            measured = growth_within_limit(path, unit)
            sweep = [best_of(path.run, path.prepare(unit * (measured.units * 2**k)), repeat=1) for k in range(7)]
            line = " ".join(f"{s * 1000:.1f}" for s in sweep)
            flag = "" if measured.ratio <= measured.limit else "  SUPER-LINEAR"
            print(f"timing {name:16s} {pattern:20s} n={measured.units:<6d} ms(n..64n)= {line}  "
                  f"x{FACTOR} ratio {measured.ratio:.1f} (limit {measured.limit:.0f}){flag}")  # fmt: skip
            if flag:
                findings.append(f"timing: {name} on {pattern!r} {measured}")
    return findings


def _throwaway_database() -> str:
    """Point Django at a new SQLite file (before setup) and return its folder."""
    folder = tempfile.mkdtemp(prefix="newsdesk-fuzz-")
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/fuzz.sqlite3"
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", choices=[*ALL_NAMES, "all"], default="all")
    parser.add_argument("--seconds", type=float, default=60.0, help="per target")
    parser.add_argument("--quick", action="store_true", help="20 seconds per target")
    args = parser.parse_args(argv)
    targets = ALL_NAMES if args.target == "all" else [args.target]
    folder = ""
    if any(ALL_TARGETS[t][2] for t in targets if t in ALL_TARGETS):
        folder = _throwaway_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("LOG_LEVEL", "CRITICAL")  # refusals are the point here; findings are printed
    import django

    django.setup()
    if folder:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    seconds = 20.0 if args.quick else args.seconds
    figures = []
    total_findings = 0
    try:
        for target in targets:
            if target == "timing":
                started = time.monotonic()
                findings = timing_sweep()
                figures.append(f"timing_seconds={time.monotonic() - started:.0f} timing_findings={len(findings)}")
            else:
                executions, findings, timings = fuzz(target=target, seconds=seconds)
                findings += growth_report(target, timings)
                slowest = max(timings, key=lambda t: t[1], default=(0, 0.0))
                figures.append(
                    f"{target}_executions={executions} {target}_findings={len(findings)} "
                    f"{target}_slowest={slowest[1] * 1000:.0f}ms@{slowest[0]}ch"
                )
            for finding in findings:
                print(f"FINDING {finding}")
            total_findings += len(findings)
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    print(" ".join(figures) + f" findings={total_findings} (target=0)")
    return 1 if total_findings else 0


if __name__ == "__main__":
    sys.exit(main())
