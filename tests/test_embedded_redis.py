"""make run's embedded Redis (``python -m newsdesk.embedded_redis serve``) stops last.

On Ctrl-C honcho signals every process at once. A Redis that went first left a
worker in its warm shutdown failing on the broker (a traceback in make run's
log, and the unacknowledged messages it restores had nowhere to go). The serve
process keeps its redis-server up until the clients have gone, within
honcho's 5 s before SIGKILL, and the redis-server never outlives it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from newsdesk.embedded_redis import SHUTDOWN_GRACE, free_port, redis_answers

ROOT = Path(__file__).resolve().parent.parent


def _serve(tmp_path: Path, port: int) -> subprocess.Popen[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "NEWSDESK_VAR_DIR": str(tmp_path / "var"),
        "NEWSDESK_ENV_FILE": str(tmp_path / "absent.env"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsdesk.embedded_redis", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # as honcho starts it: a process group of its own
    )
    _until(lambda: redis_answers(f"redis://127.0.0.1:{port}/0", timeout=0.2), what="redis answering")
    return proc


def _until(check, *, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what} not within {seconds:g}s"
        time.sleep(0.05)


def _client(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"PING\r\n")
    assert sock.recv(64).startswith(b"+PONG")
    return sock


def test_redis_stays_up_until_its_clients_have_gone(tmp_path):
    port = free_port()
    proc = _serve(tmp_path, port)
    client = _client(port)
    try:
        os.killpg(proc.pid, signal.SIGTERM)  # what honcho sends to each process group on Ctrl-C
        time.sleep(1.0)
        # A worker still shutting down can reach its broker.
        assert proc.poll() is None
        client.sendall(b"PING\r\n")
        assert client.recv(64).startswith(b"+PONG")
    finally:
        client.close()
    # The last client gone, Redis stops and the serve process with it.
    assert proc.wait(timeout=SHUTDOWN_GRACE + 10) == 0
    assert not redis_answers(f"redis://127.0.0.1:{port}/0", timeout=0.5)


def test_a_client_that_never_leaves_delays_the_stop_by_the_grace_only(tmp_path):
    port = free_port()
    proc = _serve(tmp_path, port)
    client = _client(port)
    try:
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=SHUTDOWN_GRACE + 10) == 0
        out = proc.stdout.read() if proc.stdout else ""
        assert "stopping with 1 client(s) still connected" in out
        assert not redis_answers(f"redis://127.0.0.1:{port}/0", timeout=0.5)
    finally:
        client.close()


def test_the_redis_server_dies_with_a_killed_serve_process(tmp_path):
    port = free_port()
    proc = _serve(tmp_path, port)
    os.killpg(proc.pid, signal.SIGKILL)  # honcho's last resort; the redis-server is in a session of its own
    proc.wait(timeout=10)
    _until(lambda: not redis_answers(f"redis://127.0.0.1:{port}/0", timeout=0.2), what="redis gone")
