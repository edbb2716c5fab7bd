"""A new user's first run: the README's `make run` in a fresh clone, timed as they wait.

    .venv/bin/python bench/firstrun.py                # two starts: first (new venv) and next morning
    .venv/bin/python bench/firstrun.py --timeout 1500 # hard bound on the whole bench, in seconds

Clones this checkout's HEAD (``git clone``, no ``../shared``) into a fresh
temporary directory and runs ``make run`` there exactly as the README prints
it, in a new shell: ``env -i`` with only PATH, HOME and LANG, plus
``PORT=<free port>`` (the Makefile's knob) and what keeps the bench on
loopback:

- ``NEWSDESK_DEMO_FEEDS=false``: the demo's real outlets' feeds are the
  internet (without them the demo inbox is the whole demo, as on a machine
  without internet);
- ``NEWSDESK_GOOGLE_TRANSLATE_URL``: a loopback server speaking Google's
  protocol (tests/support/translator.py), standing in for Google as a user
  with internet reaches it (deep-translator is called for real);
- nothing for Redis: the ``.env`` that ``make run`` writes names a free
  loopback port of the clone's own (config/dotenv.py), and the bench checks
  that the embedded Redis started there. Should a checkout's ``make run``
  fall back to ``redis://127.0.0.1:6379/0`` while a Redis answers there
  (someone else's), the bench gives it ``REDIS_URL`` on a free port instead
  and fails, naming the collision.

Each start is timed from ``make run``:

(a) until ``/`` answers 200 (first start: venv, pip install from the
    configured index, migrate; the last line says whether pip's cache held
    wheels beforehand);
(b) until every demo card is finished as the read API (``/api/v1/articles/``,
    anonymous on the public desk) shows it: language known, in a story,
    translation ``done`` / ``not_needed`` / ``failed`` (newsdesk/enrich/finished.py);
(c) until a card shows Similar Coverage (its story has more than one outlet);
    then the dashboard ``/`` must agree: no card "Not translated yet", a
    "📡 Similar Coverage" link;
(d) the process set's memory once settled: PSS and RSS summed over
    ``make``'s process tree (bench/pipeline.py's sampling).

Then Ctrl-C (SIGINT to ``make run``'s process group) and a check that every
process it started (honcho, web, worker, beat, drops, redis-server) is gone
within ``--stop-bound`` seconds; anything left is named, killed by pid and
fails the bench. The second start runs in the same clone (venv present: the
"next morning"). No targets exist for these; the last line prints the
figures with "no target" beside them. The temporary directory is removed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pipeline import _pss_rss_kb, _tree  # noqa: E402
from config.dotenv import dotenv_create, dotenv_parse  # noqa: E402
from deploy.makerun import free_port, http_status  # noqa: E402
from newsdesk.embedded_redis import DEFAULT_URL, redis_answers  # noqa: E402
from tests.support.translator import FakeTranslator  # noqa: E402

FINISHED = {"done", "not_needed", "failed"}  # newsdesk/enrich/finished.py's FINISHED
DEMO_CARDS = 10  # the demo inbox's items (newsdesk/management/demo_content.py)


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def check(self, what: str) -> None:
        if self.left() <= 0:
            raise TimeoutError(f"the bench's hard timeout ran out waiting for {what}")


def pip_cache_mb(home: Path) -> float:
    """Size of pip's cache (HTTP responses and built wheels) before the first start: under 5 MB is cold."""
    cache = home / ".cache" / "pip"
    if not cache.is_dir():
        return 0.0
    return sum(p.stat().st_size for p in cache.rglob("*") if p.is_file()) / 2**20


def clone(dest: Path) -> str:
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, check=True, capture_output=True, text=True)
    sha = head.stdout.strip()
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(dest)], check=True)
    subprocess.run(["git", "checkout", "--quiet", "--detach", sha], cwd=dest, check=True)
    return sha


def new_shell(home: str, **extra: str) -> dict[str, str]:
    """``env -i PATH=… HOME=… LANG=…`` and the loopback knobs in the module docstring."""
    env = {
        "PATH": ":".join(
            d for d in os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(":") if "venv" not in d
        ),
        "HOME": home,
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }
    env.update(extra)
    return env


def api_cards(base: str) -> list[dict] | None:
    """Every card through the read API (keyset pages), or None while it does not answer."""
    items: list[dict] = []
    url: str | None = f"{base}/api/v1/articles/?limit=200"
    while url:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:  # loopback only
                page = json.loads(response.read())
        except (OSError, ValueError, urllib.error.HTTPError):
            return None
        items += page["items"]
        url = page.get("next")
        if url and url.startswith("/"):
            url = base + url
    return items


def finished(card: dict) -> bool:
    return bool(card["language"]) and card["story_id"] is not None and card["translation_status"] in FINISHED


def tree_memory_mb(pid: int) -> tuple[float, float, int]:
    pids = _tree(pid)
    parts = [_pss_rss_kb(p) for p in pids]
    return sum(p for p, _ in parts) / 1024, sum(r for _, r in parts) / 1024, len(pids)


def processes_under(root: Path) -> dict[int, str]:
    """Live processes whose working directory or command line lies in ``root`` (ours: nobody else's runs there)."""
    found: dict[int, str] = {}
    mark = str(root)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cmd and (cwd.startswith(mark) or mark in cmd):
            found[int(entry.name)] = cmd[:160]
    return found


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Start:
    """One ``make run`` in the clone, timed as the module docstring says."""

    def __init__(self, workdir: Path, env: dict[str, str], label: str, deadline: Deadline, redis_port: int) -> None:
        self.workdir, self.env, self.label, self.deadline = workdir, env, label, deadline
        self.redis_port = redis_port
        self.port = int(env["PORT"])
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir.parent / f"make-run-{label}.log"
        self.figures: dict[str, float | int | str] = {}
        self.proc: subprocess.Popen | None = None

    def redis_port_from(self, env_file: Path) -> None:
        """The embedded Redis's port as the clone's .env names it (written by the first start)."""
        self.env_file = env_file

    def _redis_port(self) -> int:
        if "REDIS_URL" in self.env:
            return self.redis_port
        if self.env_file.exists():
            url = dotenv_parse(self.env_file.read_text()).get("REDIS_URL", DEFAULT_URL)
            return urlparse(url).port or 6379
        return self.redis_port

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _wait(self, check, what: str, poll: float = 0.5) -> float:
        while True:
            if check():
                return time.monotonic() - self.t0
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"[{self.label}] make run exited ({self.proc.returncode}) before {what}:\n{self.tail()}"
                )
            try:
                self.deadline.check(f"{what} ({self.label})")
            except TimeoutError as exc:
                raise TimeoutError(f"{exc}\n{self.tail()}") from None
            time.sleep(poll)

    def run(self) -> dict[str, float | int | str]:
        stamp = self.workdir / ".venv" / ".installed"
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(
            ["make", "run"],
            cwd=self.workdir,
            env=self.env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Ctrl-C reaches all of it and nothing else
        )
        installed_before = stamp.exists()
        self.figures["install_s"] = 0.0 if installed_before else self._wait(stamp.exists, "the venv install", 0.25)
        self.figures["web_s"] = self._wait(lambda: http_status(self.base + "/") == 200, "/ answering 200")
        state: dict[str, list[dict]] = {"cards": []}

        def cards_ok(pred) -> bool:
            cards = api_cards(self.base)
            if cards is None:
                return False
            state["cards"] = cards
            return pred(cards)

        self.figures["finished_s"] = self._wait(
            lambda: cards_ok(lambda c: len(c) >= DEMO_CARDS and all(finished(x) for x in c)),
            "every demo card finished",
            poll=1.0,
        )
        covered = [c for c in state["cards"] if (c["story_outlets"] or 0) > 1]
        self.figures["coverage_s"] = (
            self.figures["finished_s"]
            if covered
            else self._wait(
                lambda: cards_ok(lambda c: any((x["story_outlets"] or 0) > 1 for x in c)),
                "a card with Similar Coverage",
                poll=1.0,
            )
        )
        cards = state["cards"]
        self.figures["dashboard"] = self._dashboard_check()
        self.figures["cards"] = len(cards)
        self.figures["statuses"] = ",".join(
            f"{s}:{sum(1 for c in cards if c['translation_status'] == s)}"
            for s in sorted({c["translation_status"] for c in cards})
        )
        self.figures["covered_cards"] = sum(1 for c in cards if (c["story_outlets"] or 0) > 1)
        self._settle()
        return self.figures

    def _dashboard_check(self) -> str:
        """The same cards on the dashboard a user opens: none 'Not translated yet', a Similar Coverage link."""
        try:
            with urllib.request.urlopen(self.base + "/", timeout=10) as response:  # loopback only
                page = response.read().decode()
        except OSError as exc:
            return f"unreadable: {exc}"
        if "Not translated yet" in page:
            return "a card says Not translated yet"
        return "ok" if "📡 Similar Coverage (" in page else "no Similar Coverage link"

    def _settle(self, quiet: float = 10.0, samples: int = 10) -> None:
        """Memory once settled: ``quiet`` seconds after the last card finished, then the median of samples."""
        time.sleep(quiet)
        pss, rss, count = [], [], 0
        for _ in range(samples):
            p, r, count = tree_memory_mb(self.proc.pid)
            pss.append(p)
            rss.append(r)
            time.sleep(0.5)
        self.figures["pss_mb"] = round(statistics.median(pss))
        self.figures["rss_mb"] = round(statistics.median(rss))
        self.figures["processes"] = count

    def stop(self, bound: float) -> list[str]:
        """Ctrl-C; returns what was left behind (after killing it by pid)."""
        if self.proc is None:
            return []
        tracked = set(_tree(self.proc.pid))
        group = os.getpgid(self.proc.pid)
        t = time.monotonic()
        os.killpg(group, signal.SIGINT)
        end = t + bound
        while time.monotonic() < end:
            alive = [p for p in tracked if Path(f"/proc/{p}").exists() and not _zombie(p)]
            if self.proc.poll() is not None and not alive and not processes_under(self.workdir):
                break
            time.sleep(0.1)
        self.figures["stop_s"] = round(time.monotonic() - t, 1)
        left = {p: _cmdline(p) for p in tracked if Path(f"/proc/{p}").exists() and not _zombie(p)}
        left.update(processes_under(self.workdir))
        left.pop(os.getpid(), None)
        orphans = [f"{pid} {cmd}" for pid, cmd in sorted(left.items())]
        kill_all(left)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        if port_open(self.port):
            orphans.append(f"port {self.port} (web) still answers")
        redis_port = self._redis_port()
        self.figures["redis_port"] = redis_port
        if redis_port != 6379 and port_open(redis_port):
            orphans.append(f"port {redis_port} (embedded Redis) still answers")
        if "using the Redis already answering" in self.tail(10**6):
            orphans.append(f"make run used a Redis it did not start (port {redis_port})")
        return orphans


def kill_all(pids) -> None:
    """SIGKILL each of ``pids`` (ours: found in our tree or under our temp dir)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:160]
    except OSError:
        return "?"


def _probe_env(tmp: Path) -> str:
    """The .env this checkout's ``make run`` writes on first use (config/dotenv.py), written to a probe file."""
    probe = tmp / "probe.env"
    dotenv_create(probe)
    return probe.read_text()


def log_problems(log: Path) -> list[str]:
    """Tracebacks and ERROR lines in ``make run``'s output (a first start should have none)."""
    bad = []
    for line in log.read_text(errors="replace").splitlines():
        if "Traceback" in line or " ERROR " in line or "level=ERROR" in line or "CRITICAL" in line:
            bad.append(line.strip()[:200])
    return bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timeout", type=float, default=1800, help="hard bound on the whole bench (seconds)")
    parser.add_argument("--stop-bound", type=float, default=30, help="seconds Ctrl-C may take to end everything")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (to read the logs)")
    args = parser.parse_args()
    deadline = Deadline(args.timeout)
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("hard timeout")))
    signal.alarm(int(args.timeout) + 120)  # the last resort, should a wait block past the deadline

    home = os.environ.get("HOME", "/root")
    cache_mb = pip_cache_mb(Path(home))
    tmp = Path(tempfile.mkdtemp(prefix="newsdesk-firstrun-"))
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; cores {os.cpu_count()}; temp {tmp}", flush=True)
    failures: list[str] = []
    results: dict[str, dict] = {}
    collision, redis_port = redis_answers(DEFAULT_URL), "6379"
    try:
        workdir = tmp / "newsdesk"
        sha = clone(workdir)
        print(f"cloned HEAD {sha[:12]}; pip cache before: {cache_mb:.1f} MB", flush=True)
        extra: dict[str, str] = {"NEWSDESK_DEMO_FEEDS": "false"}
        own_port = "REDIS_URL" in dotenv_parse(_probe_env(tmp))
        if collision and not own_port:
            redis_port = str(free_port())
            extra["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
            failures.append(f"`make run` as printed would use the Redis already answering at {DEFAULT_URL}")
            print(f"NOTE: this bench gives make run REDIS_URL on port {redis_port} instead", flush=True)
        collision = collision and not own_port
        with FakeTranslator() as translator:
            extra["NEWSDESK_GOOGLE_TRANSLATE_URL"] = translator.url("/m")
            for label in ("first", "next"):
                env = new_shell(home, PORT=str(free_port()), **extra)
                start = Start(workdir, env, label, deadline, int(redis_port))
                start.redis_port_from(workdir / ".env")
                try:
                    start.run()
                finally:
                    orphans = start.stop(args.stop_bound)
                    if orphans:
                        failures.append(f"[{label}] left after Ctrl-C (killed): " + "; ".join(orphans))
                    elif start.figures.get("stop_s", 0) > args.stop_bound:
                        failures.append(f"[{label}] Ctrl-C took {start.figures['stop_s']}s")
                problems = log_problems(start.log)
                start.figures["log_errors"] = len(problems)
                for line in problems[:10]:
                    print(f"[{label}] log: {line}", flush=True)
                if start.figures.get("dashboard", "ok") != "ok":
                    failures.append(f"[{label}] dashboard: {start.figures['dashboard']}")
                results[label] = start.figures
                print(f"[{label}] {json.dumps(start.figures)}", flush=True)
    except (RuntimeError, TimeoutError, subprocess.CalledProcessError) as exc:
        failures.append(str(exc))
    finally:
        signal.alarm(0)
        leftovers = processes_under(tmp)
        kill_all(leftovers)
        if leftovers:
            failures.append("left under the temp dir (killed): " + "; ".join(f"{p} {c}" for p, c in leftovers.items()))
        if args.keep:
            print(f"kept {tmp}", flush=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr, flush=True)
    load = os.getloadavg()
    parts = [
        f"load={load[0]:.1f} cores={os.cpu_count()} pip_cache={'warm' if cache_mb >= 5 else 'cold'} ({cache_mb:.1f} MB)"
    ]
    parts.append(f"redis={'given a private port (6379 taken)' if collision else 'make run its own'}")
    for label, fig in results.items():
        parts.append(
            f"{label}: install_s={fig['install_s']:.0f} web_s={fig['web_s']:.0f} finished_s={fig['finished_s']:.0f} "
            f"coverage_s={fig['coverage_s']:.0f} (no targets) pss_mb={fig['pss_mb']} rss_mb={fig['rss_mb']} "
            f"(no target) stop_s={fig.get('stop_s')} (bound {args.stop_bound:g}) cards={fig['cards']} [{fig['statuses']}] "
            f"log_errors={fig['log_errors']} dashboard={fig['dashboard']}"
        )
    parts.append("OK" if not failures else f"FAILED ({len(failures)})")
    print("firstrun: " + " | ".join(parts), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
