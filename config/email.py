"""Django's e-mail settings from one ``EMAIL_URL``.

    smtp://user:password@mail.example.org:587      STARTTLS on 587 (the submission port)
    smtps://user:password@mail.example.org:465     implicit TLS
    smtp://mail.example.org:25?tls=false           plain SMTP (a relay on a trusted network)
    console://                                     print messages (the development default)
    locmem://                                      keep them in django.core.mail.outbox (tests)
    file:///var/mail/newsdesk                      one file per message

User and password are percent-decoded. With no EMAIL_URL, Django's usual
EMAIL_* variables apply. A malformed value fails at start-up, naming it.
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "smtps": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
}
_FALSE = {"0", "false", "no", "off"}


def email_url_settings(url: str) -> dict[str, object]:
    """The EMAIL_* settings an EMAIL_URL stands for."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ImproperlyConfigured(f"EMAIL_URL is not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in _BACKENDS:
        raise ImproperlyConfigured(f"EMAIL_URL scheme must be one of {', '.join(sorted(_BACKENDS))}, got {scheme!r}")
    out: dict[str, object] = {"EMAIL_BACKEND": _BACKENDS[scheme]}
    if scheme == "file":
        out["EMAIL_FILE_PATH"] = unquote(parts.path)
        return out
    if scheme not in ("smtp", "smtps"):
        return out
    if not parts.hostname:
        raise ImproperlyConfigured("EMAIL_URL needs a host, e.g. smtp://user:password@mail.example.org:587")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    out["EMAIL_HOST"] = parts.hostname
    out["EMAIL_HOST_USER"] = unquote(parts.username or "")
    out["EMAIL_HOST_PASSWORD"] = unquote(parts.password or "")
    if scheme == "smtps":
        out["EMAIL_USE_SSL"], out["EMAIL_USE_TLS"] = True, False
        out["EMAIL_PORT"] = port or 465
    else:
        out["EMAIL_USE_SSL"] = False
        out["EMAIL_PORT"] = port or 587
        out["EMAIL_USE_TLS"] = query.get("tls", "true").lower() not in _FALSE
    return out
