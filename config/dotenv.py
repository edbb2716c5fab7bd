"""The local development settings file, ``.env`` at the project root.

``make run`` writes it on first use (``python -m config.dotenv create .env``):
``DEBUG=true``, a generated ``SECRET_KEY`` and a ``REDIS_URL`` on a free
loopback port (this checkout's embedded Redis), git-ignored, readable only by
its owner. The settings read it before anything else, so every
``manage.py`` command works in a new shell exactly as the README prints it.

Rules, as in Docker Compose and django-environ:

- the environment wins: a variable already set is never overridden;
- ``KEY=value`` lines; blank lines and ``#`` comments are skipped; one pair
  of matching quotes around a value is removed; nothing is interpolated;
- ``NEWSDESK_ENV_FILE`` names another file, or none when set empty.

Production keeps refusing a missing ``SECRET_KEY``: it has no ``.env``
unless someone writes one (it is in ``.gitignore`` and ``.dockerignore``).
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import sys
from pathlib import Path

DEFAULT_PATH = Path(__file__).resolve().parent.parent / ".env"
_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def dotenv_path() -> Path | None:
    raw = os.environ.get("NEWSDESK_ENV_FILE")
    if raw is None:
        return DEFAULT_PATH
    return Path(raw) if raw.strip() else None


def dotenv_parse(text: str) -> dict[str, str]:
    """``KEY=value`` pairs of a .env file; a line that is not one is an error naming its number."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise ValueError(f"line {number} is not KEY=value: {line.strip()[:60]!r}")
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def dotenv_load(path: Path | None = None) -> dict[str, str]:
    """Set the file's variables that the environment does not already set; returns those set."""
    path = path if path is not None else dotenv_path()
    if path is None or not path.is_file():
        return {}
    try:
        values = dotenv_parse(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"{path}: {exc}") from None
    applied = {key: value for key, value in values.items() if key not in os.environ}
    os.environ.update(applied)
    return applied


REDIS_PORTS = range(16380, 32000)  # below Linux's ephemeral ports (32768+), so no client socket holds one later


def redis_port_free() -> int:
    """A loopback port in ``REDIS_PORTS`` that nothing listens on now, for this checkout's embedded Redis."""
    for _ in range(200):
        port = secrets.choice(REDIS_PORTS)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError(f"no free loopback port in {REDIS_PORTS.start}-{REDIS_PORTS.stop - 1} for the embedded Redis")


def dotenv_create(path: Path) -> bool:
    """Write a development .env (DEBUG on, a fresh secret, its own Redis) unless one exists; True if written.

    ``REDIS_URL`` names a loopback port of this checkout's own: `make run` starts
    the embedded Redis there, so it never shares queues with a Redis that
    already answers at the default 6379 (a system Redis, another checkout's).
    """
    content = (
        "# Local development settings, written by `make run` on first use. Not for production.\n"
        "# Any variable from the README's Settings table can go here; the environment wins.\n"
        "DEBUG=true\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        "# This checkout's own Redis (make run starts it here); name your Redis to use that instead.\n"
        f"REDIS_URL=redis://127.0.0.1:{redis_port_free()}/0\n"
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    return True


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "create":
        path = Path(argv[1])
        if dotenv_create(path):
            print(
                f"wrote {path}: DEBUG=true, a generated SECRET_KEY and this checkout's own REDIS_URL (local development)"
            )
        return 0
    print("usage: python -m config.dotenv create PATH", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
