"""The secrets outgoing bodies are signed with; the signing itself is :mod:`newsdesk.signatures`."""

from __future__ import annotations

import secrets

from newsdesk.signatures import body_sign, signature_valid

__all__ = ["SECRET_BYTES", "body_sign", "secret_new", "signature_valid"]

SECRET_BYTES = 32


def secret_new() -> str:
    """A fresh signing secret (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(SECRET_BYTES)
