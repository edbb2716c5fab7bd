"""deploy/bootstrap_pip.py: a venv made without pip (Debian without python3-venv) gets pip from PyPI's JSON API.

A loopback server speaks the part of PyPI's JSON API the script reads and
serves the pip wheel that CPython bundles for ensurepip.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.http import LoopbackServer, Response

pytestmark = pytest.mark.slow  # runs pip in a subprocess against a loopback index

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "deploy" / "bootstrap_pip.py"


def _bundled_pip() -> Path:
    try:
        import ensurepip
    except ImportError:
        pytest.skip("this Python has no ensurepip, so no bundled pip wheel to serve")
    wheels = sorted((Path(ensurepip.__file__).parent / "_bundled").glob("pip-*-py3-none-any.whl"))
    if not wheels:
        pytest.skip("this Python bundles no pip wheel")
    return wheels[-1]


def _pypi(server: LoopbackServer, wheel: Path, *, digest: str) -> None:
    body = wheel.read_bytes()
    listing = {
        "urls": [
            {"packagetype": "sdist", "filename": "pip-0.tar.gz", "url": server.url("/nothing"), "digests": {}},
            {
                "packagetype": "bdist_wheel",
                "filename": wheel.name,
                "url": server.url(f"/files/{wheel.name}"),
                "digests": {"sha256": digest},
            },
        ]
    }
    server.static("/pypi/pip/json", json.dumps(listing).encode(), "application/json")
    server.route(f"/files/{wheel.name}", lambda _r: Response(200, body, {"Content-Type": "application/octet-stream"}))


def _bare_venv(tmp_path: Path) -> Path:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    assert subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode != 0
    return python


def test_pip_is_installed_from_the_index_after_its_digest_checks(tmp_path):
    wheel = _bundled_pip()
    python = _bare_venv(tmp_path)
    with LoopbackServer() as server:
        _pypi(server, wheel, digest=hashlib.sha256(wheel.read_bytes()).hexdigest())
        done = subprocess.run([python, SCRIPT, "--index", server.url("/")], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    version = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, text=True, check=True)
    assert wheel.name.split("-")[1] in version.stdout
    assert str(tmp_path / "venv") in version.stdout  # installed into the venv, not elsewhere


def test_a_wheel_that_does_not_match_its_digest_is_not_installed(tmp_path):
    wheel = _bundled_pip()
    python = _bare_venv(tmp_path)
    with LoopbackServer() as server:
        _pypi(server, wheel, digest="0" * 64)
        done = subprocess.run([python, SCRIPT, "--index", server.url("/")], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "does not match PyPI's SHA-256" in done.stderr
    assert subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode != 0


def test_no_index_says_what_to_install_instead(tmp_path):
    python = _bare_venv(tmp_path)
    with LoopbackServer() as server:
        url = server.url("/")
    done = subprocess.run([python, SCRIPT, "--index", url], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "apt-get install python3-venv" in done.stderr
