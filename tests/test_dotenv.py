"""The local .env (config/dotenv.py): written once by `make run`, read by the settings, never over the environment."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from config.dotenv import dotenv_create, dotenv_load, dotenv_parse

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
