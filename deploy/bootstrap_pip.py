"""Install pip into a virtualenv made with ``--without-pip``.

Debian and Ubuntu ship Python without ``ensurepip`` unless ``python3-venv``
is installed, so ``python3 -m venv`` fails on a fresh machine. The Makefile
then creates the venv without pip and runs this with the venv's Python: it
fetches pip's newest wheel from PyPI (its JSON API), checks the wheel's
SHA-256 against the digest PyPI publishes, and lets pip install itself from
the wheel (a wheel of pip is runnable as a ``sys.path`` entry).

Usage: .venv/bin/python deploy/bootstrap_pip.py [--index https://pypi.org]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path


def _open(url: str, *, timeout: float):
    if not url.startswith(("https://", "http://")):
        raise SystemExit(f"bootstrap_pip: refusing to open {url!r}: only http(s) URLs")
    return urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - scheme checked above


def newest_wheel(index: str) -> tuple[str, str, str]:
    """(filename, url, sha256) of pip's newest py3 wheel on the index."""
    with _open(f"{index.rstrip('/')}/pypi/pip/json", timeout=60) as response:
        data = json.load(response)
    for item in data["urls"]:
        if item["packagetype"] == "bdist_wheel" and item["filename"].endswith("-py3-none-any.whl"):
            return item["filename"], item["url"], item["digests"]["sha256"]
    raise SystemExit("bootstrap_pip: PyPI lists no pip wheel")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", default="https://pypi.org")
    args = parser.parse_args()
    try:
        name, url, digest = newest_wheel(args.index)
        with tempfile.TemporaryDirectory() as tmp:
            wheel = Path(tmp) / name
            with _open(url, timeout=120) as response:
                wheel.write_bytes(response.read())
            if hashlib.sha256(wheel.read_bytes()).hexdigest() != digest:
                raise SystemExit(f"bootstrap_pip: {name} does not match PyPI's SHA-256; not installing it")
            command = [sys.executable, f"{wheel}/pip", "install", "--no-index", "--quiet", str(wheel)]
            return subprocess.call(command)
    except OSError as exc:
        raise SystemExit(
            f"bootstrap_pip: could not fetch pip from {args.index} ({exc}). "
            "Install Debian's venv support instead: sudo apt-get install python3-venv"
        ) from exc


if __name__ == "__main__":
    sys.exit(main())
