"""Memory of one refinement pass in a worker child, before vs after a change, in one run.

    NEWSDESK_COVERAGE_SEMANTIC_MODEL=multilingual-use-v3 .venv/bin/python bench/refine_memory.py \\
        --from-db <db kept by bench/pipeline.py --keep-db> [--compare <git rev>] [--repeat 2] [--trace]

The window comes from a database that ``bench/pipeline.py --keep-db`` left
(realistic multilingual news, its stories and vectors as the workers stored
them). Each measurement copies it into a database of its own (``CREATE
DATABASE ... TEMPLATE``, dropped afterwards), so every pass starts from the
same stories and the source is never written.

Each measurement is a fresh process that does what the Celery master does
before its pool forks (Django, the task modules, every registered preload:
language models, place index, sentence encoder; then collect, trim, freeze),
then forks a child, as the pool does, which runs one pass over the whole
window (beat's pass; ``--touched`` runs the pass after a burst with every
story touched). The master samples the child's ``/proc/<pid>/smaps_rollup``
every 10 ms: PSS, RSS and private (USS) memory before, at the peak during,
and after the pass (after ``gc.collect`` and ``malloc_trim``: what a child
keeps). The pass's moves are hashed: both code versions must decide the same.

``--compare REV`` runs the same measurement on the project's sources at REV
(``git archive`` into a temporary directory), alternating with the working
tree. ``--trace`` adds tracemalloc's peak and top allocation sites (slower;
a separate child, so the other figures stay untraced).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _smaps(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 3 and parts[2] == "kB":
                    out[parts[0].rstrip(":")] = int(parts[1])
    except OSError:
        return {}
    out["Private"] = out.get("Private_Clean", 0) + out.get("Private_Dirty", 0)
    return out


def _child_main(args: argparse.Namespace) -> None:
    """One measurement: a master with the worker's preloads, and a forked child that runs one pass."""
    sys.path.insert(0, args.root)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import gc
    import hashlib

    import django

    django.setup()
    import newsdesk.tasks  # noqa: F401  (the worker imports its tasks, which register the preloads)
    from newsdesk.ops import memory
    from newsdesk.ops.prefork import malloc_trim

    for preload in list(memory._preloads):
        preload()
    from django.db import connections

    connections.close_all()  # the child opens its own, as a pool child does
    gc.collect()
    malloc_trim()
    gc.freeze()
    modules_before = set(sys.modules)
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the pool child
        os.close(rfd)
        code = 0
        try:
            from datetime import datetime

            from django.db.models import Max

            from newsdesk.coverage import dbrefine
            from newsdesk.models import CoverageDoc, Heartbeat

            last = CoverageDoc.objects.aggregate(m=Max("at"))["m"]
            now = datetime.fromtimestamp(last + 1.0, tz=UTC)
            if args.touched:  # every story of the window counts as touched since the last pass
                Heartbeat.objects.update_or_create(
                    name=dbrefine.MARK, defaults={"at": datetime(2000, 1, 1, tzinfo=UTC)}
                )
            if args.trace:
                import tracemalloc

                tracemalloc.start(8)

            def marked(func, mark: bytes):  # the size after reading the window, and after deciding
                def call(*a, **k):
                    out = func(*a, **k)
                    os.write(wfd, mark)
                    time.sleep(0.1)
                    return out

                return call

            dbrefine._window_docs = marked(dbrefine._window_docs, b"L")
            dbrefine.stories_refine = marked(dbrefine.stories_refine, b"D")
            os.write(wfd, b"S")  # about to start
            time.sleep(0.2)
            began = time.process_time()
            stats = dbrefine.stories_refine_recent(now=now, touched_only=args.touched)
            cpu = time.process_time() - began
            traced: dict = {}
            if args.trace:
                current, peak = tracemalloc.get_traced_memory()
                snap = tracemalloc.take_snapshot()
                tracemalloc.stop()
                top = snap.statistics("lineno")[:8]
                traced = {
                    "traced_peak_mb": peak / 2**20,
                    "traced_left_mb": current / 2**20,
                    "top_left": [f"{s.size / 2**20:.1f} MB {s.traceback[0]}" for s in top],
                }
            from newsdesk.models import Article

            moves = hashlib.sha256(
                repr(list(Article.objects.order_by("id").values_list("id", "story_id"))).encode()
            ).hexdigest()[:16]
            connections.close_all()
            os.write(wfd, b"E")  # pass over: the master reads the size it stopped at
            time.sleep(0.3)
            gc.collect()
            malloc_trim()
            os.write(wfd, b"T")  # collected and trimmed
            time.sleep(0.3)
            new_modules = sorted(m for m in set(sys.modules) - modules_before if "." not in m)
            assert dbrefine.__file__.startswith(args.root), dbrefine.__file__
            result = {
                "articles": stats.articles,
                "moved": stats.moved,
                "created": stats.created,
                "emptied": stats.emptied,
                "touched": stats.touched,
                "cpu_s": cpu,
                "partition": moves,
                "new_top_modules": new_modules,
                **traced,
            }
            os.write(wfd, b"R" + json.dumps(result).encode() + b"\n")
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        finally:
            os.close(wfd)
            os._exit(code)
    os.close(wfd)
    import fcntl

    fcntl.fcntl(rfd, fcntl.F_SETFL, os.O_NONBLOCK)
    buf = b""
    phase = "load"
    samples: dict[str, dict[str, int]] = {}
    peak: dict[str, int] = {}
    result = None
    while True:
        try:
            chunk = os.read(rfd, 65536)
            if not chunk:
                break
            buf += chunk
        except BlockingIOError:
            pass
        while buf[:1] in (b"S", b"E", b"T", b"L", b"D"):
            mark, buf = buf[:1], buf[1:]
            now = _smaps(pid)
            if mark == b"S":
                samples["before"] = now
                phase = "pass"
            elif mark == b"L":
                samples["loaded"] = now
            elif mark == b"D":
                samples["decided"] = now
            elif mark == b"E":
                samples["after"] = now
                phase = "done"
            else:
                samples["trimmed"] = now
        if buf.startswith(b"R") and buf.endswith(b"\n"):
            result = json.loads(buf[1:])
            buf = b""
        if phase == "pass":
            now = _smaps(pid)
            for k in ("Pss", "Rss", "Private"):
                peak[k] = max(peak.get(k, 0), now.get(k, 0))
        time.sleep(0.01)
    _, status = os.waitpid(pid, 0)
    if status != 0 or result is None:
        sys.exit("the pass failed")
    report = {"result": result, "peak": peak}
    for name in ("before", "loaded", "decided", "after", "trimmed"):
        report[name] = {k: samples.get(name, {}).get(k, 0) for k in ("Pss", "Rss", "Private")}
    print("REPORT " + json.dumps(report), flush=True)


def _admin(url: str):
    import psycopg

    base = url.rsplit("/", 1)[0]
    return psycopg.connect(base + "/postgres", autocommit=True)


def _measure(tree: str, source_db: str, url_base: str, name: str, args: argparse.Namespace, trace: bool) -> dict:
    with _admin(url_base + "/postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source_db}"')
    try:
        here = str(Path(__file__).resolve())
        cmd = [sys.executable, here, "--child", "--root", tree, "--database-url", f"{url_base}/{name}"]
        cmd += ["--touched"] if args.touched else []
        cmd += ["--trace"] if trace else []
        # Run from the tree measured: the settings put the working directory's project on sys.path.
        proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(), cwd=tree)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("REPORT ")), None)
        if line is None:
            sys.exit(f"measurement failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return json.loads(line[len("REPORT ") :])
    finally:
        with _admin(url_base + "/postgres") as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _line(label: str, r: dict) -> str:
    b, p, a, t = r["before"], r["peak"], r["after"], r["trimmed"]
    res = r["result"]
    text = (
        f"{label:>8}: {res['articles']} articles, moved {res['moved']}, cpu {res['cpu_s']:.1f} s, "
        f"partition {res['partition']} | PSS MB before {b['Pss'] / 1024:.0f} peak {p['Pss'] / 1024:.0f} "
        f"(+{(p['Pss'] - b['Pss']) / 1024:.0f}; +{(r['loaded']['Pss'] - b['Pss']) / 1024:.0f} window read, "
        f"+{(r['decided']['Pss'] - b['Pss']) / 1024:.0f} decided) after {a['Pss'] / 1024:.0f} trimmed {t['Pss'] / 1024:.0f} | "
        f"private MB +{(p['Private'] - b['Private']) / 1024:.0f} at peak, +{(a['Private'] - b['Private']) / 1024:.0f} after, "
        f"+{(t['Private'] - b['Private']) / 1024:.0f} trimmed | RSS peak +{(p['Rss'] - b['Rss']) / 1024:.0f}"
    )
    if res.get("new_top_modules"):
        text += f" | loaded during the pass: {', '.join(res['new_top_modules'][:12])}"
    if "traced_peak_mb" in res:
        text += (
            f"\n          traced peak {res['traced_peak_mb']:.1f} MB, left {res['traced_left_mb']:.1f} MB; top left:\n"
        )
        text += "\n".join(f"            {x}" for x in res["top_left"])
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from-db", help="a database bench/pipeline.py --keep-db left (read only: copied per run)")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--compare", help="git revision to measure beside the working tree")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--touched", action="store_true", help="the pass after a burst, every story touched")
    parser.add_argument("--trace", action="store_true", help="also one traced run per version (tracemalloc)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--root", default=str(ROOT), help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child_main(args)
        return 0
    if not args.from_db:
        parser.error("--from-db is required")
    versions = [("head", str(ROOT))]
    tmp = None
    if args.compare:
        tmp = tempfile.TemporaryDirectory(prefix="refine-memory-")
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.compare], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tmp.name], input=archive.stdout, check=True)
        versions.insert(0, (args.compare[:10], tmp.name))
    results: dict[str, list[dict]] = {label: [] for label, _ in versions}
    for _ in range(args.repeat):
        for label, tree in versions:
            r = _measure(tree, args.from_db, args.server, f"{args.from_db}_rm", args, trace=False)
            results[label].append(r)
            print(_line(label, r), flush=True)
    if args.trace:
        for label, tree in versions:
            print(
                _line(label + "*", _measure(tree, args.from_db, args.server, f"{args.from_db}_rm", args, trace=True)),
                flush=True,
            )
    partitions = {r["result"]["partition"] for rs in results.values() for r in rs}
    summary = " ".join(
        f"{label}_pss_growth_mb={min((r['peak']['Pss'] - r['before']['Pss']) / 1024 for r in rs):.0f}"
        f" {label}_private_growth_mb={min((r['peak']['Private'] - r['before']['Private']) / 1024 for r in rs):.0f}"
        for label, rs in results.items()
    )
    print(f"refine_memory: {summary} same_partition={'yes' if len(partitions) == 1 else 'NO'}", flush=True)
    if tmp is not None:
        tmp.cleanup()
    return 0 if len(partitions) == 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
