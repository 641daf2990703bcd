"""Webhook signatures: HMAC-SHA256 of the raw body with the app's webhook secret.

https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def signature(secret: bytes, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body`."""
    return PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether `header` signs `body`; compared in constant time so timing reveals nothing."""
    if not header or not header.startswith(PREFIX):
        return False
    return hmac.compare_digest(signature(secret, body).encode(), header.strip().encode())
