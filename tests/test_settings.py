"""Settings (config/settings/): production refuses development fallbacks it did
not ask for, every environment variable is read once and documented."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_DIR = ROOT / "config" / "settings"
# A production-looking key that is not the public development one.
PRODUCTION_KEY = "x" * 50

# Runs in one fresh interpreter: executes the settings package anew for each
# case, with exactly that case's variables, and reports what it loaded or why
# it refused.
_LOAD_EACH = """
import importlib, json, os, sys
cases = json.loads(sys.argv[1])
base = dict(os.environ)
out = {}
for name, env in cases.items():
    os.environ.clear()
    os.environ.update(base, **env)
    for module in [m for m in sys.modules if m == "config.settings" or m.startswith("config.settings.")]:
        del sys.modules[module]
    try:
        s = importlib.import_module("config.settings")
    except Exception as exc:
        out[name] = {"error": f"{type(exc).__name__}: {exc}"}
        continue
    out[name] = {
        "db": s.DATABASES["default"]["ENGINE"], "redis": s.REDIS_URL, "cache": s.CACHES["default"]["LOCATION"],
        "broker": s.CELERY_BROKER_URL, "scan": s.NEWSDESK_DROP_SCAN_SECONDS,
        "beat_scan": s.CELERY_BEAT_SCHEDULE["scan-drop-sources"]["schedule"],
    }
print(json.dumps(out))
"""


def _cases(var: Path) -> dict[str, dict[str, str]]:
    prod = {"DEBUG": "false", "SECRET_KEY": PRODUCTION_KEY}
    return {
        "no_database": {**prod, "REDIS_URL": "redis://redis-host:6379/0"},
        "no_redis": {**prod, "DATABASE_URL": "postgres://db-host:5432/newsdesk"},
        "empty_database": {**prod, "DATABASE_URL": " ", "REDIS_URL": "redis://r/0"},
        "no_secret": {"DEBUG": "false", "DATABASE_URL": "postgres://db/n", "REDIS_URL": "redis://r/0"},
        "chosen_defaults": {
            **prod,
            "DATABASE_URL": f"sqlite:///{var / 'chosen.sqlite3'}",
            "REDIS_URL": "redis://127.0.0.1:6379/3",
        },
        "development": {"DEBUG": "true", "NEWSDESK_DROP_SCAN_SECONDS": "7.5"},
    }


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> dict[str, dict]:
    """Each case's settings, loaded in one fresh interpreter without the test run's variables."""
    var = tmp_path_factory.mktemp("var")
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY") and not k.startswith("NEWSDESK_")
    }
    # NEWSDESK_ENV_FILE empty: a developer's .env must not fill in what a case leaves out.
    clean.update(DJANGO_SETTINGS_MODULE="config.settings", NEWSDESK_VAR_DIR=str(var), NEWSDESK_ENV_FILE="")
    done = subprocess.run(
        [sys.executable, "-c", _LOAD_EACH, json.dumps(_cases(var))],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_production_refuses_the_sqlite_default(loaded):
    error = loaded["no_database"]["error"]
    assert error.startswith("ImproperlyConfigured: DATABASE_URL is not set")
    assert "sqlite" in error


def test_production_refuses_the_loopback_redis_default(loaded):
    error = loaded["no_redis"]["error"]
    assert error.startswith("ImproperlyConfigured: REDIS_URL is not set")
    assert "redis://127.0.0.1:6379/0" in error


def test_production_refuses_an_empty_url_as_unset(loaded):
    assert loaded["empty_database"]["error"].startswith("ImproperlyConfigured: DATABASE_URL is not set")


def test_production_still_refuses_a_missing_secret(loaded):
    assert loaded["no_secret"]["error"].startswith("ImproperlyConfigured: SECRET_KEY is missing")


def test_production_honours_sqlite_and_loopback_redis_when_asked_for(loaded):
    """An explicit URL is a choice, even when it names what development defaults to."""
    chosen = loaded["chosen_defaults"]
    assert "error" not in chosen, chosen
    assert chosen["db"] == "django.db.backends.sqlite3"
    assert chosen["redis"] == chosen["cache"] == chosen["broker"] == "redis://127.0.0.1:6379/3"


def test_development_falls_back_to_sqlite_and_loopback_redis(loaded):
    development = loaded["development"]
    assert "error" not in development, development
    assert development["db"] == "django.db.backends.sqlite3"
    assert development["redis"] == "redis://127.0.0.1:6379/0"
    # One reading of the drop scan interval serves beat and watch_drops.
    assert development["scan"] == development["beat_scan"] == 7.5


def _env_reads() -> list[str]:
    names = []
    for path in sorted(SETTINGS_DIR.glob("*.py")):
        names += re.findall(r"""env_\w+\(\s*["']([A-Z0-9_]+)["']""", path.read_text())
    return names


def test_each_environment_variable_is_read_once():
    names = _env_reads()
    assert len(names) > 80
    repeated = sorted({name for name in names if names.count(name) > 1})
    assert repeated == []


@pytest.mark.parametrize("name", sorted(set(_env_reads()) | {"DATABASE_URL", "REDIS_URL"}))
def test_each_environment_variable_is_documented_in_the_readme(name):
    assert f"`{name}`" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_retrying_tasks_wait_at_most_the_configured_backoff(settings):
    from newsdesk import tasks

    assert tasks.RETRY["retry_backoff_max"] == settings.NEWSDESK_RETRY_BACKOFF_MAX


def test_each_setting_has_one_home():
    """config/settings/__init__.py star-imports its parts, so a name assigned in
    two of them would silently take whichever comes last."""
    homes: dict[str, set[str]] = {}
    for path in sorted(SETTINGS_DIR.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            for target in targets:
                if isinstance(target, ast.Name) and target.id.isupper():
                    homes.setdefault(target.id, set()).add(path.stem)
    assert len(homes) > 100
    assert {name: where for name, where in homes.items() if len(where) > 1} == {}
