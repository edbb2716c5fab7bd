"""Fuzz the ingest parsers with Hypothesis for a bounded time.

    .venv/bin/python bench/fuzz.py --seconds 120          # both targets
    .venv/bin/python bench/fuzz.py --target drops --seconds 60

Targets: ``newsdesk.ingest.parse.parse_feed`` (RSS, Atom, RDF and JSON Feed
documents built from hostile text: control characters, entities, CDATA,
markup, odd dates, huge and empty fields, then byte-level mutations) and
``newsdesk.drops.formats.drop_parse`` (dashboard cards, JSON, NDJSON, text
and Markdown, feed files, zip archives). Hypothesis is coverage-guided only
in the sense of shrinking and its example database; each execution checks
the contract, not just "no crash":

* a document is either refused with the module's own error (FeedRejected,
  DropRejected) or parsed into items whose fields have the promised types,
  dedupe keys of at most 255 characters, no C0 control characters in text,
  and no <script> in sanitised content;
* nothing else ever escapes (a TypeError or IndexError is a finding).

The last line prints executions and findings; the exit status is non-zero
when there is a finding. Findings are printed with the smallest input
Hypothesis found.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from newsdesk.testing.fuzz import TARGETS


def fuzz(*, target: str, seconds: float, seed: int | None = None) -> tuple[int, list[str]]:
    """Run one target for ``seconds``; return (executions, findings)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    strategy, check = TARGETS[target]
    executions = 0
    findings: list[str] = []
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
        check(value)

    if seed is not None:
        run = hseed(seed)(run)
    while time.monotonic() < deadline:
        try:
            run()
        except Exception as exc:  # a finding: record it, with the shrunk input Hypothesis printed
            findings.append(f"{target}: {type(exc).__name__}: {str(exc)[:300]}\n{traceback.format_exc()[-1500:]}")
            if len(findings) >= 5:
                break
    return executions, findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", choices=[*TARGETS, "all"], default="all")
    parser.add_argument("--seconds", type=float, default=60.0, help="per target")
    parser.add_argument("--quick", action="store_true", help="20 seconds per target")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "true")
    import django

    django.setup()
    seconds = 20.0 if args.quick else args.seconds
    targets = list(TARGETS) if args.target == "all" else [args.target]
    figures = []
    total_findings = 0
    for target in targets:
        executions, findings = fuzz(target=target, seconds=seconds)
        for finding in findings:
            print(f"FINDING {finding}")
        total_findings += len(findings)
        figures.append(f"{target}_executions={executions} {target}_findings={len(findings)}")
    print(" ".join(figures) + f" findings={total_findings} (target=0)")
    return 1 if total_findings else 0


if __name__ == "__main__":
    sys.exit(main())
