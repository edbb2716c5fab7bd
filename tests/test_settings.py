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

_PRINT_SERVICES = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'db': s.DATABASES['default']['ENGINE'], 'redis': s.REDIS_URL, "
    "'cache': s.CACHES['default']['LOCATION'], 'broker': s.CELERY_BROKER_URL, "
    "'scan': s.NEWSDESK_DROP_SCAN_SECONDS, "
    "'beat_scan': s.CELERY_BEAT_SCHEDULE['scan-drop-sources']['schedule']}))"
)


def _load_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh interpreter with exactly these variables set."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY") and not k.startswith("NEWSDESK_")
    }
    # NEWSDESK_ENV_FILE empty: a developer's .env must not fill in what the test leaves out.
    clean.update(DJANGO_SETTINGS_MODULE="config.settings", NEWSDESK_VAR_DIR=str(tmp_path), NEWSDESK_ENV_FILE="", **env)
    return subprocess.run(
        [sys.executable, "-c", _PRINT_SERVICES], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


@pytest.mark.slow  # loads the settings in a fresh Python process
def test_production_refuses_the_sqlite_default(tmp_path):
    done = _load_settings(tmp_path, DEBUG="false", SECRET_KEY=PRODUCTION_KEY, REDIS_URL="redis://redis-host:6379/0")
    assert done.returncode != 0
    assert "ImproperlyConfigured: DATABASE_URL is not set" in done.stderr
    assert "sqlite" in done.stderr


@pytest.mark.slow  # loads the settings in a fresh Python process
def test_production_refuses_the_loopback_redis_default(tmp_path):
    done = _load_settings(
        tmp_path, DEBUG="false", SECRET_KEY=PRODUCTION_KEY, DATABASE_URL="postgres://db-host:5432/newsdesk"
    )
    assert done.returncode != 0
    assert "ImproperlyConfigured: REDIS_URL is not set" in done.stderr
    assert "redis://127.0.0.1:6379/0" in done.stderr


@pytest.mark.slow  # loads the settings in a fresh Python process
def test_production_refuses_an_empty_url_as_unset(tmp_path):
    done = _load_settings(tmp_path, DEBUG="false", SECRET_KEY=PRODUCTION_KEY, DATABASE_URL=" ", REDIS_URL="redis://r/0")
    assert "ImproperlyConfigured: DATABASE_URL is not set" in done.stderr


@pytest.mark.slow  # loads the settings in a fresh Python process
def test_production_still_refuses_a_missing_secret(tmp_path):
    done = _load_settings(tmp_path, DEBUG="false", DATABASE_URL="postgres://db/n", REDIS_URL="redis://r/0")
    assert "ImproperlyConfigured: SECRET_KEY is missing" in done.stderr


@pytest.mark.slow  # loads the settings in a fresh Python process
def test_production_honours_sqlite_and_loopback_redis_when_asked_for(tmp_path):
    """An explicit URL is a choice, even when it names what development defaults to."""
    done = _load_settings(
        tmp_path,
        DEBUG="false",
        SECRET_KEY=PRODUCTION_KEY,
        DATABASE_URL=f"sqlite:///{tmp_path / 'chosen.sqlite3'}",
        REDIS_URL="redis://127.0.0.1:6379/3",
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert loaded["db"] == "django.db.backends.sqlite3"
    assert loaded["redis"] == loaded["cache"] == loaded["broker"] == "redis://127.0.0.1:6379/3"


@pytest.mark.slow  # loads the settings in a fresh Python process
def test_development_falls_back_to_sqlite_and_loopback_redis(tmp_path):
    done = _load_settings(tmp_path, DEBUG="true", NEWSDESK_DROP_SCAN_SECONDS="7.5")
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert loaded["db"] == "django.db.backends.sqlite3"
    assert loaded["redis"] == "redis://127.0.0.1:6379/0"
    # One reading of the drop scan interval serves beat and watch_drops.
    assert loaded["scan"] == loaded["beat_scan"] == 7.5


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
