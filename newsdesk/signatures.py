"""HMAC signatures of bodies: the one way Newsdesk signs what it sends and checks what it receives.

Outgoing deliveries (alerts, our WebSub hub) sign with ``sha256=<hex>``, the form GitHub
(``X-Hub-Signature-256``) and WebSub (``X-Hub-Signature``) use. A receiver's check accepts every
method WebSub allows a hub to use (sha1, sha256, sha384, sha512), in constant time.
"""

from __future__ import annotations

import hashlib
import hmac

METHODS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


def body_sign(*, secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=<hex HMAC-SHA256 of the raw body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(*, secret: str, body: bytes, header: str) -> bool:
    """``method=hex`` against the body, in constant time; False if absent, unknown or without a secret."""
    method, _, given = (header or "").strip().partition("=")
    digest = METHODS.get(method.strip().lower())
    if digest is None or not secret or not given:
        return False
    expected = hmac.new(secret.encode(), body, digest).hexdigest()
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())
