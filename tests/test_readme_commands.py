"""Every `manage.py` and `make` line the README prints works as printed, in a new shell.

The README is read, not copied: each command line it shows (in code blocks
and in `inline code`) must be classified below, either with how it is run
here or as exempt with the reason. A new command in the README without a
line here fails ``test_every_readme_command_is_classified``.

The slow test runs them as a new user would, under ``env -i PATH=… HOME=…``
in a throw-away copy of the checkout (deploy/makerun.py): `make run` until
``/`` and ``/healthz`` answer 200, then every one-shot command to
completion in its own fresh shell while it runs (interactive ones in the
``--noinput``/environment form the README describes), then Ctrl-C, after
which nothing `make run` started is left.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deploy.makerun import MakeRun, checkout_copy
from newsdesk.embedded_redis import redis_answers

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

# How each README command runs here: ("argv", [args after `.venv/bin/python manage.py`], {env}),
# ("make run",) or ("exempt", reason).
OPML = """<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>
<outline type="rss" text="Example" xmlUrl="https://feeds.example.org/rss.xml"/></body></opml>"""
FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>Sample</title><link>https://example.org/</link>
<item><title>A sample item</title><guid>s1</guid></item></channel></rss>"""
CORPUS, INGEST, OPML_FILE = "corpus", "ingest-me", "sources.opml"

COMMANDS: dict[str, tuple] = {
    "make run": ("make run",),
    "make run PORT=8001": ("same", "make run"),  # the slow test runs make run on a free PORT
    "make test": ("exempt", "recursive: runs this test suite"),
    'make test PYTEST_ARGS="tests/test_feeds.py -x"': ("exempt", "recursive: runs part of this test suite"),
    "make test-slow": ("exempt", "recursive: runs this test suite's slow tests (this one among them)"),
    'make test-slow SLOW="slow and django_db"': ("exempt", "recursive: runs part of this test suite"),
    'make test PYTEST_ARGS="--cpu-durations=20"': ("exempt", "recursive: runs this test suite"),
    "DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379/15 make test": (
        "exempt",
        "recursive: runs this test suite (against PostgreSQL)",
    ),
    "bash .ci/run": ("exempt", "recursive: CI runs make test, and installs packages"),
    "make semantic": ("exempt", "network: pip installs the optional backend from PyPI"),
    "make semantic-multilingual": ("exempt", "network: pip installs the optional backend from PyPI"),
    ".venv/bin/python manage.py createsuperuser": (
        "argv",
        ["createsuperuser", "--noinput"],
        {
            "DJANGO_SUPERUSER_USERNAME": "admin",
            "DJANGO_SUPERUSER_EMAIL": "admin@example.org",
            "DJANGO_SUPERUSER_PASSWORD": "a-long-password-123",
        },
    ),
    "manage.py createsuperuser": ("same", ".venv/bin/python manage.py createsuperuser"),
    # A folder of feed files stands in for ../shared, which a fresh clone does not have.
    ".venv/bin/python manage.py check_corpus ../shared/corpora/feeds": ("argv", ["check_corpus", CORPUS], {}),
    ".venv/bin/python manage.py poll [--source ID ...] [--all]": ("argv", ["poll", "--all"], {}),
    ".venv/bin/python manage.py import_opml FILE": ("argv", ["import_opml", OPML_FILE], {}),
    ".venv/bin/python manage.py export_opml [-o FILE]": ("argv", ["export_opml", "-o", "exported.opml"], {}),
    ".venv/bin/python manage.py ingest PATH... [--source NAME] [--no-enrich]": ("argv", ["ingest", INGEST], {}),
    "manage.py watch_drops": ("argv", ["watch_drops", "--seconds", "3"], {}),
    "manage.py check": ("argv", ["check"], {}),
    # The admin user created by the createsuperuser line (printed earlier in the README).
    "manage.py unlock_login USERNAME [--ip ADDRESS]": ("argv", ["unlock_login", "admin", "--ip", "192.0.2.1"], {}),
    "manage.py recluster": ("argv", ["recluster"], {}),
    "manage.py refresh_particulars": ("argv", ["refresh_particulars"], {}),
    "manage.py export_api_schema": ("argv", ["export_api_schema"], {}),  # writes the copy's docs/openapi.json
    "manage.py createeditor alice alice@example.org": (
        "argv",
        ["createeditor", "alice", "alice@example.org", "--noinput"],
        {"NEWSDESK_EDITOR_PASSWORD": "another-long-password-456"},
    ),
    # Production lines: `python` is the deployment's (its venv or image) Python.
    "python manage.py collectstatic": ("argv", ["collectstatic", "--noinput"], {}),
    "python manage.py check --deploy": ("argv", ["check", "--deploy"], {}),
    "python manage.py migrate": ("argv", ["migrate", "--noinput"], {}),
    ".venv/bin/python docs/screenshots.py": (
        "exempt",
        "recursive: starts its own make run and a browser (about two minutes) to refresh docs/*.png",
    ),
    "gunicorn config.wsgi -c config/gunicorn.py": ("exempt", "long-running production server (make run serves here)"),
    "celery -A config worker": ("exempt", "long-running production worker (make run starts one)"),
    "celery -A config beat": ("exempt", "long-running production scheduler (make run starts one)"),
}
EXEMPT_PREFIXES = {
    "docker ": "Docker: not installed on test machines, and it pulls images from the network",
    "pip install": "network: installs from PyPI",
    "libretranslate ": "a third-party server that downloads its models from the network",
    "celery ": "a long-running production worker or scheduler, or its options (make run starts both)",
}
_PREFIXES = ("make ", ".venv/bin/python ", "python manage.py ", "bash .ci", "manage.py ", "gunicorn ", "celery ")


def readme_commands() -> list[str]:
    """Command lines the README prints: code lines and `inline code` that run make, manage.py or tools."""
    text = README.read_text(encoding="utf-8")
    found: list[str] = []
    in_fence = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence or line.startswith("    "):
            found.append(line.strip())
    found += re.findall(r"`([^`\n]+)`", text)
    commands = []
    for raw in found:
        command = re.sub(r"\s+#.*$", "", raw).strip()
        command = " ".join(command.split())
        wanted = (
            command == "make"
            or command.startswith(_PREFIXES + tuple(EXEMPT_PREFIXES))
            or (command.startswith("DATABASE_URL=") and " make " in command)
        )
        if wanted and command not in commands:
            commands.append(command)
    return commands


def classify(command: str) -> tuple:
    if command in COMMANDS:
        how = COMMANDS[command]
        return COMMANDS[how[1]] if how[0] == "same" else how
    for prefix, reason in EXEMPT_PREFIXES.items():
        if command.startswith(prefix):
            return ("exempt", reason)
    raise KeyError(command)


def test_every_readme_command_is_classified():
    commands = readme_commands()
    assert "make run" in commands and ".venv/bin/python manage.py createsuperuser" in commands
    unknown = [c for c in commands if not _classified(c)]
    assert not unknown, f"README commands with no line in COMMANDS (how to run them, or why exempt): {unknown}"


def _classified(command: str) -> bool:
    try:
        classify(command)
    except KeyError:
        return False
    return True


def _fixtures(workdir: Path) -> None:
    (workdir / CORPUS).mkdir()
    (workdir / CORPUS / "sample.xml").write_text(FEED, encoding="utf-8")
    (workdir / INGEST).mkdir()
    (workdir / INGEST / "note.txt").write_text("A dropped note\nIts body.\n", encoding="utf-8")
    (workdir / OPML_FILE).write_text(OPML, encoding="utf-8")


def _around(log: str, needle: str, before: int = 15, after: int = 45) -> str:
    """The lines around the first ``needle`` in ``log``: the traceback itself, not the log's last lines."""
    lines = log.splitlines()
    at = next(i for i, line in enumerate(lines) if needle in line)
    return "\n".join(lines[max(0, at - before) : at + after])


@pytest.mark.slow
def test_readme_commands_work_as_printed_in_a_new_shell(tmp_path):
    workdir = checkout_copy(tmp_path / "clone")
    _fixtures(workdir)
    assert not (workdir / ".env").exists()
    run = MakeRun(workdir=workdir)
    failures: list[str] = []
    with run:
        run.wait_healthy(seconds=420)
        # `make run` wrote the .env a new shell needs.
        env_file = (workdir / ".env").read_text()
        assert "DEBUG=true" in env_file and "SECRET_KEY=" in env_file
        ran: set[tuple[str, ...]] = set()
        for command in readme_commands():
            how = classify(command)
            if how[0] != "argv" or tuple(how[1]) in ran:
                continue  # exempt, or printed twice (createsuperuser is)
            _, args, env = how
            ran.add(tuple(args))
            done = run.manage(*args, **env)
            if done.returncode != 0:
                failures.append(f"{command} -> exit {done.returncode}\n{done.stderr[-1500:]}")
        group = run.proc.pid
    assert not failures, "\n\n".join(failures)
    # Ctrl-C ended make, honcho and every process they started.
    import os

    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)
    log = run.tail(2000)
    # The environment wins over .env under make run too (honcho is not given .env), and the
    # embedded Redis (a session of its own, so it outlives its clients) is gone with the rest.
    assert f"starting embedded redis-server on 127.0.0.1:{run.redis_port}" in log
    assert not redis_answers(f"redis://127.0.0.1:{run.redis_port}/0", timeout=0.5)
    assert "Traceback" not in log, _around(log, "Traceback")
    # Started in the order they need: nothing wrote to Redis before it answered.
    assert "feed_version_bump_failed" not in log
    # The inotify watcher runs in make run (a dropped file is taken at once, not by the 30 s scan).
    assert "watching " in log and "for 'Demo inbox'" in log
