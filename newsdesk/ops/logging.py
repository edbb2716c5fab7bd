"""Structured logs: one line per event, ``key=value`` (default) or JSON.

Every record gets the Celery task name and id when it is logged inside a
task, so ``grep task_id=...`` follows one message through retries, and
``grep source_id=12`` follows one source (the pipeline logs ``source_id=``
and ``article_id=`` in its messages). Set ``NEWSDESK_LOG_FORMAT=json`` for a
log shipper that wants JSON.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

_KV_RE = re.compile(r"^[a-z_][a-z0-9_.]*=")


def exception_line(record: logging.LogRecord) -> str:
    """'ConnectionError: Error 111 connecting to 127.0.0.1:6379. Connection refused.'

    A warning is one readable line: below ERROR, a record's exception is
    logged as its type and message only. Errors keep the whole traceback.
    """
    exc = record.exc_info[1] if record.exc_info else None
    if exc is None:
        return ""
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]


def _current_task() -> tuple[str, str]:
    try:
        from celery import current_task
    except ImportError:  # pragma: no cover - celery is a runtime dependency
        return "", ""
    task = current_task
    if not task or getattr(task.request, "id", None) is None:
        return "", ""
    return task.name or "", task.request.id or ""


class TaskContextFilter(logging.Filter):
    """Adds ``task`` and ``task_id`` to every record (empty outside a task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "task_id"):
            record.task, record.task_id = _current_task()
        return True


def _quote(value: object) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' "=\n\t'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


class KeyValueFormatter(logging.Formatter):
    """``ts=... level=... logger=... task=... task_id=... <message>``.

    A message already written as ``key=value`` pairs (``event=poll source_id=3``)
    is appended as it is; any other message becomes ``msg="..."``.
    """

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        parts = [
            f"ts={datetime.fromtimestamp(record.created, tz=UTC).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z",
            f"level={record.levelname}",
            f"logger={record.name}",
        ]
        task_id = getattr(record, "task_id", "")
        if task_id:
            parts.append(f"task={_quote(getattr(record, 'task', ''))}")
            parts.append(f"task_id={task_id}")
        parts.append(message.replace("\n", "\\n") if _KV_RE.match(message) else f"msg={_quote(message)}")
        if record.exc_info and record.levelno < logging.ERROR:
            parts.append(f"error={_quote(exception_line(record))}")
        elif record.exc_info:
            parts.append(f"exc={_quote(self.formatException(record.exc_info))}")
        return " ".join(parts)


class JsonFormatter(logging.Formatter):
    """One JSON object per line; ``key=value`` pairs in the message become fields."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
        }
        if getattr(record, "task_id", ""):
            payload["task"] = getattr(record, "task", "")
            payload["task_id"] = record.task_id
        if _KV_RE.match(message):
            for match in re.finditer(r'([a-z_][a-z0-9_.]*)=("(?:[^"\\]|\\.)*"|\'[^\']*\'|\S*)', message):
                value = match.group(2)
                if value[:1] in "\"'" and len(value) >= 2:
                    value = value[1:-1]
                payload.setdefault(match.group(1), value)
        payload["msg"] = message
        if record.exc_info and record.levelno < logging.ERROR:
            payload["error"] = exception_line(record)
        elif record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False, default=str)
