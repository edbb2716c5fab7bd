"""The local .env (config/dotenv.py): written once by `make run`, read by the settings, never over the environment."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from config.dotenv import REDIS_PORTS, dotenv_create, dotenv_load, dotenv_parse, redis_port_free

ROOT = Path(__file__).resolve().parent.parent


def test_parse_skips_comments_and_unquotes():
    text = "# comment\n\nDEBUG=true\nexport A = 'x y'\nB=\"q\"\nC=a=b\n"
    assert dotenv_parse(text) == {"DEBUG": "true", "A": "x y", "B": "q", "C": "a=b"}
    with pytest.raises(ValueError, match="line 2 is not KEY=value"):
        dotenv_parse("A=1\nnot a pair\n")


def test_create_writes_a_private_file_once(tmp_path):
    path = tmp_path / ".env"
    assert dotenv_create(path)
    first = path.read_text()
    assert not dotenv_create(path), "an existing .env is never overwritten"
    assert path.read_text() == first
    values = dotenv_parse(first)
    assert values["DEBUG"] == "true" and len(values["SECRET_KEY"]) >= 50
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    other = tmp_path / "other.env"
    dotenv_create(other)
    assert dotenv_parse(other.read_text())["SECRET_KEY"] != values["SECRET_KEY"], "each install its own secret"


def test_create_names_a_redis_of_this_checkout_on_a_free_loopback_port(tmp_path):
    """Not the default 6379, where a system Redis or another checkout's may answer: make run starts its own."""
    url = urlparse(
        dotenv_parse((tmp_path / ".env").read_text() if dotenv_create(tmp_path / ".env") else "")["REDIS_URL"]
    )
    assert url.scheme == "redis" and url.hostname == "127.0.0.1" and url.path == "/0"
    assert url.port in REDIS_PORTS and url.port != 6379
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", url.port)) != 0, "nothing listens there yet"


def test_redis_port_free_skips_a_port_in_use(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        picks = iter([busy, free])
        monkeypatch.setattr("config.dotenv.secrets.choice", lambda _ports: next(picks))
        assert redis_port_free() == free


def _wait_in_fresh_shell(tmp_path: Path, env_file: Path) -> subprocess.CompletedProcess[str]:
    """``python -m newsdesk.embedded_redis wait`` as make run's processes start it, REDIS_URL unset."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "NEWSDESK_ENV_FILE": str(env_file)}
    return subprocess.run(
        [sys.executable, "-m", "newsdesk.embedded_redis", "wait", "--seconds", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_make_runs_processes_wait_for_the_redis_env_file_names(tmp_path):
    running = os.environ["REDIS_URL"]  # the tests' own Redis (make test starts one)
    path = tmp_path / ".env"
    path.write_text(f"REDIS_URL={running}\n")
    assert _wait_in_fresh_shell(tmp_path, path).returncode == 0
    closed = f"redis://127.0.0.1:{redis_port_free()}/0"
    path.write_text(f"REDIS_URL={closed}\n")
    done = _wait_in_fresh_shell(tmp_path, path)
    assert done.returncode == 1 and f"nothing answers at {closed}" in done.stderr


def test_the_environment_wins(tmp_path, monkeypatch):
    path = tmp_path / ".env"
    path.write_text("NEWSDESK_T1=from-file\nNEWSDESK_T2=from-file\n")
    monkeypatch.setenv("NEWSDESK_T1", "from-env")
    monkeypatch.delenv("NEWSDESK_T2", raising=False)
    assert dotenv_load(path) == {"NEWSDESK_T2": "from-file"}
    assert os.environ["NEWSDESK_T1"] == "from-env"
    monkeypatch.delenv("NEWSDESK_T2")


def _settings_in_fresh_shell(tmp_path: Path, env_file: Path | None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "NEWSDESK_VAR_DIR": str(tmp_path)}
    if env_file is not None:
        env["NEWSDESK_ENV_FILE"] = str(env_file)
    code = "import django; django.setup(); from django.conf import settings as s; print(s.DEBUG, s.SECRET_KEY[:6])"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow  # loads the settings in a fresh Python process
def test_a_new_shell_gets_debug_and_the_secret_from_env_file(tmp_path):
    path = tmp_path / ".env"
    path.write_text("DEBUG=true\nSECRET_KEY=abcdef-generated-for-this-install-xxxxxxxxxxxxxxxxxxxxxxxxxxxx\n")
    done = _settings_in_fresh_shell(tmp_path, path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["True", "abcdef"]


@pytest.mark.slow  # loads the settings in a fresh Python process
def test_production_without_env_file_still_refuses_a_missing_secret(tmp_path):
    done = _settings_in_fresh_shell(tmp_path, tmp_path / "absent.env")
    assert done.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is missing" in done.stderr


def test_serve_on_the_default_url_says_the_redis_is_shared(monkeypatch, capsys):
    """A checkout whose .env predates REDIS_URL: make run says whose Redis it uses and how to get its own."""
    from newsdesk import embedded_redis

    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr(embedded_redis, "redis_answers", lambda url: url == embedded_redis.DEFAULT_URL)
    monkeypatch.setattr(embedded_redis.signal, "sigwait", lambda signals: signal.SIGINT)
    assert embedded_redis.serve() == 0
    out = capsys.readouterr().out
    assert f"using the Redis already answering at {embedded_redis.DEFAULT_URL}" in out
    assert "Name a free loopback port in .env" in out
    monkeypatch.setenv("REDIS_URL", embedded_redis.DEFAULT_URL)  # named on purpose: no advice
    assert embedded_redis.serve() == 0
    assert "Name a free loopback port" not in capsys.readouterr().out
