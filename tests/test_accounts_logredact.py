"""Feed tokens never reach a log line: Django's request warnings, runserver lines, gunicorn's access log."""

from __future__ import annotations

import io
import logging
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
