"""Structured logs (newsdesk/ops/logging.py): one line per event, with the task id."""

from __future__ import annotations

import json
import logging

from celery._state import _task_stack

from config.celery import app
from newsdesk.ops.logging import JsonFormatter, KeyValueFormatter, TaskContextFilter


def _record(message: str, *args) -> logging.LogRecord:
    record = logging.LogRecord("newsdesk.ingest.poll", logging.INFO, __file__, 1, message, args, None)
    TaskContextFilter().filter(record)
    return record


def test_key_value_line_outside_a_task():
    line = KeyValueFormatter().format(_record("event=poll source_id=%s outcome=%s", 12, "ok"))
    assert "\n" not in line
    assert line.startswith("ts=")
    assert "level=INFO logger=newsdesk.ingest.poll event=poll source_id=12 outcome=ok" in line
    assert "task_id=" not in line


def test_free_text_is_quoted_and_multiline_is_one_line():
    line = KeyValueFormatter().format(_record('feed "x" failed\nsecond line'))
    assert "\n" not in line
    assert 'msg="feed \\"x\\" failed\\nsecond line"' in line


def test_task_name_and_id_are_added_inside_a_task():
    task = app.tasks["newsdesk.tasks.poll_source"]
    task.push_request(id="3f1c-task-id")
    _task_stack.push(task)
    try:
        record = _record("event=poll source_id=%s", 7)
    finally:
        _task_stack.pop()
        task.pop_request()
    line = KeyValueFormatter().format(record)
    assert "task=newsdesk.tasks.poll_source task_id=3f1c-task-id event=poll source_id=7" in line
    payload = json.loads(JsonFormatter().format(record))
    assert payload["task_id"] == "3f1c-task-id"
    assert payload["event"] == "poll"
    assert payload["source_id"] == "7"


def test_settings_wire_the_filter_and_formatter(settings):
    handler = settings.LOGGING["handlers"]["console"]
    assert "task" in handler["filters"]
    assert settings.LOGGING["formatters"][handler["formatter"]]["()"].startswith("newsdesk.ops.logging.")


def _failed(level: int) -> logging.LogRecord:
    import sys

    try:
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379.\nConnection refused.")
    except ConnectionError:
        info = sys.exc_info()
    record = logging.LogRecord("newsdesk.changes", level, __file__, 1, "event=feed_version_bump_failed", (), info)
    TaskContextFilter().filter(record)
    return record


def test_a_warning_with_an_exception_is_one_readable_line():
    """The first start once printed 3.5 KB of escaped traceback per warning."""
    line = KeyValueFormatter().format(_failed(logging.WARNING))
    assert "\n" not in line and "\\n" not in line and len(line) < 300
    assert line.endswith(
        'event=feed_version_bump_failed error="ConnectionError: Error 111 connecting to 127.0.0.1:6379. '
        'Connection refused."'
    )
    payload = json.loads(JsonFormatter().format(_failed(logging.WARNING)))
    assert payload["error"].startswith("ConnectionError: Error 111") and "exc" not in payload


def test_an_error_keeps_its_traceback():
    line = KeyValueFormatter().format(_failed(logging.ERROR))
    assert 'exc="Traceback (most recent call last):' in line
    assert "Traceback" in json.loads(JsonFormatter().format(_failed(logging.ERROR)))["exc"]
