"""Run ``make run`` as a new user would, in a throw-away copy of this checkout.

Used by tests/test_readme_commands.py and docs/screenshots.py. The copy
holds the tracked (and new, not ignored) files, so ``.env``, ``var/`` and
the SQLite database are its own; ``.venv`` is linked to this checkout's
(already installed: the copy's requirement files are dated before its
install stamp, so make does not reinstall). Commands run under
``env -i PATH=… HOME=…`` plus only what isolation needs: a free ``PORT``,
a ``REDIS_URL`` on a free loopback port (so the embedded Redis starts,
never someone else's), the real feeds left out and translation pointed at
a closed loopback port (no machine reaches the internet).

``stop()`` ends exactly the process group it started (make, honcho and
every child), first with Ctrl-C as a user would, then by force.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def checkout_copy(dest: Path) -> Path:
    """Copy the checkout's files (tracked and new, not ignored) to ``dest``, linking its venv."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        rel = raw.decode()
        src = ROOT / rel
        if not src.is_file():
            continue  # deleted in the working tree
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel)
    venv = (ROOT / ".venv").resolve()
    (dest / ".venv").symlink_to(venv)
    stamp = venv / ".installed"
    if stamp.exists():
        before = stamp.stat().st_mtime - 60
        for name in ("requirements.txt", "requirements-test.txt"):
            os.utime(dest / name, (before, before))
    return dest


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """``env -i PATH=… HOME=…`` with the isolation described in the module docstring."""
    env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), "HOME": str(home)}
    env.update(
        NEWSDESK_DEMO_FEEDS="false",
        NEWSDESK_GOOGLE_TRANSLATE_URL=f"http://127.0.0.1:{free_port()}/translate_a/single",
    )
    env.update(extra)
    return env


def http_status(url: str, timeout: float = 5.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback only
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@dataclass
class MakeRun:
    """``make run`` in ``workdir``, on its own port and Redis."""

    workdir: Path
    port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    log: Path | None = None
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, **extra: str) -> dict[str, str]:
        return clean_env(self.workdir, REDIS_URL=f"redis://127.0.0.1:{self.redis_port}/0", **extra)

    def start(self) -> MakeRun:
        self.log = self.log or self.workdir / "make-run.log"
        out = self.log.open("wb")
        self.proc = subprocess.Popen(
            ["make", "run"],
            cwd=self.workdir,
            env=self.env(PORT=str(self.port)),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() ends all of it and nothing else
        )
        return self

    def wait_until(self, check, *, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while not check():
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"make run exited ({self.proc.returncode}) before {what}:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} not within {seconds:g}s:\n{self.tail()}")
            time.sleep(1)

    def wait_healthy(self, seconds: float = 300) -> None:
        """Until / and /healthz answer 200 (healthz: ok or degraded, nothing down)."""
        self.wait_until(
            lambda: http_status(self.url + "/") == 200 and http_status(self.url + "/healthz") == 200,
            seconds=seconds,
            what="/ and /healthz answering 200",
        )

    def manage(self, *args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
        """``.venv/bin/python manage.py ARGS`` in a new shell of the copy, against the running Redis."""
        return subprocess.run(
            [".venv/bin/python", "manage.py", *args],
            cwd=self.workdir,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def tail(self, lines: int = 40) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, grace: float = 30) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        group = os.getpgid(self.proc.pid)
        os.killpg(group, signal.SIGINT)  # Ctrl-C, as the README says
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(group, signal.SIGKILL)
            self.proc.wait(timeout=10)
        # honcho may leave nothing behind; make sure the group is empty.
        deadline = time.monotonic() + grace
        while _group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.5)
        if _group_alive(group):
            os.killpg(group, signal.SIGKILL)

    def __enter__(self) -> MakeRun:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
