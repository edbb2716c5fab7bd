"""Keep private-feed tokens out of logs.

A token sits in the feed URL's path (feed readers cannot send headers), so
any line that prints a path could leak it: Django's "Not Found: /feeds/…"
warnings, runserver's request lines, gunicorn's access log. ``RedactTokens``
is a logging filter on our console handler (Django and runserver lines), and
``RedactingGunicornLogger`` does the same for gunicorn's access and error logs.
"""

from __future__ import annotations

import logging
import re

# Matches the token segment of /feeds/private/<token>/…, percent-encoded or not.
_TOKEN_PATH = re.compile(r"(/feeds/private/)[^/\s\"'?#]+")
REDACTED = r"\1[redacted]"
_PLAIN = logging.Formatter()


def redact(text: str) -> str:
    return _TOKEN_PATH.sub(REDACTED, text)


class RedactTokens(logging.Filter):
    """Rewrites a record's message so that no feed token survives; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        # django.request attaches the request; its path would be printed by some formatters.
        request = getattr(record, "request", None)
        if request is not None and _TOKEN_PATH.search(getattr(request, "path", "") or ""):
            record.request = None
        # A traceback can quote a path too (an exception's message); formatters
        # format exc_info themselves, so a traceback naming a token is folded
        # into the message, redacted.
        if record.exc_info and record.exc_info[0] is not None:
            trace = _PLAIN.formatException(record.exc_info)
            if _TOKEN_PATH.search(trace):
                record.msg = f"{record.getMessage()}\n{redact(trace)}"
                record.args = None
                record.exc_info = None
                record.exc_text = None
        if record.stack_info and _TOKEN_PATH.search(record.stack_info):
            record.stack_info = redact(record.stack_info)
        return True


try:  # gunicorn is a production dependency; keep this module importable without it.
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover
    _GunicornLogger = None


if _GunicornLogger is not None:

    class RedactingGunicornLogger(_GunicornLogger):
        """gunicorn's logger with feed tokens removed from every access-log field (request line, path, referer)."""

        def setup(self, cfg):
            super().setup(cfg)
            # gunicorn's error log names request URIs too ("Error handling request /feeds/private/…").
            if not any(isinstance(f, RedactTokens) for f in self.error_log.filters):
                self.error_log.addFilter(RedactTokens())

        def atoms(self, resp, req, environ, request_time):
            atoms = super().atoms(resp, req, environ, request_time)
            return {k: redact(v) if isinstance(v, str) else v for k, v in atoms.items()}
