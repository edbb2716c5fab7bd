"""HMAC-SHA256 signatures of outgoing bodies, and the secrets they are made with."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_BYTES = 32


def secret_new() -> str:
    """A fresh signing secret (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(SECRET_BYTES)


def body_sign(*, secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=<hex HMAC-SHA256 of the raw body>``.

    The form GitHub (``X-Hub-Signature-256``) and WebSub (``X-Hub-Signature``)
    use, so receivers' existing verifiers work unchanged.
    """
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(*, secret: str, body: bytes, header: str) -> bool:
    """Constant-time check of a signature header against the body (what a receiver does)."""
    return hmac.compare_digest(body_sign(secret=secret, body=body).encode(), (header or "").strip().encode())
