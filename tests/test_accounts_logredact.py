"""Feed tokens never reach a log line: Django's request warnings, runserver lines, gunicorn's access log."""

from __future__ import annotations

import io
import logging
import sys
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.urls import reverse

from newsdesk.accounts import desks, tokens
from newsdesk.accounts.logredact import RedactingGunicornLogger, RedactTokens, redact
from tests.support.accounts import make_editor

pytestmark = pytest.mark.django_db

TOKEN = "Zr3kq0m2V1s8c9Xo4Wb5n6Ty7Ua8Ep9Dq0Fr1Gs2Ht3"


def test_redact_removes_the_token_segment_only():
    line = f'GET /feeds/private/{TOKEN}/rss/?x=1 HTTP/1.1" 200 "https://h/feeds/private/{TOKEN}/atom/"'
    cleaned = redact(line)
    assert TOKEN not in cleaned
    assert cleaned.count("/feeds/private/[redacted]/") == 2
    assert redact("GET /feeds/rss/?country=MX") == "GET /feeds/rss/?country=MX"


def test_the_console_handler_redacts_django_request_warnings(client):
    """A revoked token's 404 is logged by django.request; the configured console handler prints it scrubbed."""
    editor = make_editor()
    view = desks.saved_view_create(owner=editor, name="v", query="")
    _, raw = tokens.feed_token_rotate(owner=editor, pk=view.pk)
    tokens.feed_token_revoke(owner=editor, pk=view.pk)
    console = next(h for h in logging.getLogger().handlers if any(isinstance(f, RedactTokens) for f in h.filters))
    captured = io.StringIO()
    previous = console.setStream(captured)
    try:
        assert client.get(reverse("desk-feed-rss", kwargs={"token": raw})).status_code == 404
    finally:
        console.setStream(previous)
    output = captured.getvalue()
    assert "Not Found" in output, "expected Django to log the 404"
    assert raw not in output
    assert "/feeds/private/[redacted]/rss/" in output


def test_runserver_lines_go_through_the_redacting_handler():
    logger = logging.getLogger("django.server")
    assert not logger.propagate
    assert any(isinstance(f, RedactTokens) for h in logger.handlers for f in h.filters)


def test_gunicorn_access_log_atoms_are_redacted():
    from gunicorn.config import Config

    glog = RedactingGunicornLogger(Config())
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/feeds/private/{TOKEN}/json/",
        "PATH_INFO": f"/feeds/private/{TOKEN}/json/",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": f"https://news.example/feeds/private/{TOKEN}/rss/",
        "REMOTE_ADDR": "127.0.0.1",
    }
    atoms = glog.atoms(
        SimpleNamespace(status="200 OK", sent=10, headers=[]), SimpleNamespace(headers=[]), environ, timedelta(0)
    )
    assert all(TOKEN not in str(v) for v in atoms.values())
    assert "/feeds/private/[redacted]/json/" in atoms["r"]


def test_gunicorn_config_uses_the_redacting_logger():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "config" / "gunicorn.py").read_text()
    assert 'logger_class = "newsdesk.accounts.logredact.RedactingGunicornLogger"' in text


def _every_handler(name: str) -> list[logging.Handler]:
    """The handlers a record logged on ``name`` reaches (its logger and the ancestors it propagates to)."""
    handlers, logger = [], logging.getLogger(name)
    while logger is not None:
        handlers += logger.handlers
        logger = logger.parent if logger.propagate else None
    return handlers


@pytest.mark.parametrize("debug", [True, False])
def test_no_handler_prints_a_token_in_any_mode(client, settings, debug):
    """Issue #16 item 5: with DEBUG=true Django's own console handler printed live tokens."""
    settings.DEBUG = debug
    editor = make_editor()
    view = desks.saved_view_create(owner=editor, name="v", query="")
    _, raw = tokens.feed_token_rotate(owner=editor, pk=view.pk)
    tokens.feed_token_revoke(owner=editor, pk=view.pk)
    streams = [h for h in _every_handler("django.request") if isinstance(h, logging.StreamHandler)]
    assert streams
    captured = io.StringIO()
    previous = [h.setStream(captured) for h in streams]
    try:
        assert client.get(reverse("desk-feed-rss", kwargs={"token": raw})).status_code == 404
        logging.getLogger("django.request").error("Internal Server Error: %s", f"/feeds/private/{raw}/rss/")
    finally:
        for handler, stream in zip(streams, previous, strict=True):
            handler.setStream(stream)
    output = captured.getvalue()
    assert "Not Found" in output and "Internal Server Error" in output
    assert raw not in output
    assert not any(type(h).__module__.startswith("django") and isinstance(h, logging.StreamHandler) for h in streams)


def test_a_traceback_naming_a_token_is_redacted():
    try:
        raise ValueError(f"cannot serve /feeds/private/{TOKEN}/atom/")
    except ValueError:
        record = logging.getLogger("x").makeRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    RedactTokens().filter(record)
    from newsdesk.ops.logging import JsonFormatter, KeyValueFormatter

    for formatter in (KeyValueFormatter(), JsonFormatter()):
        line = formatter.format(record)
        assert TOKEN not in line and "[redacted]" in line


def test_gunicorn_error_log_is_redacted_too():
    from gunicorn.config import Config

    glog = RedactingGunicornLogger(Config())
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    glog.error_log.addHandler(handler)
    try:
        glog.error("Error handling request %s", f"/feeds/private/{TOKEN}/rss/")
    finally:
        glog.error_log.removeHandler(handler)
    assert TOKEN not in captured.getvalue() and "/feeds/private/[redacted]/rss/" in captured.getvalue()
