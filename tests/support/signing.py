"""Sign webhook payloads the way GitHub does (`X-Hub-Signature-256: sha256=<hex hmac>`), for App tests.
https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

TEST_SECRET = "datacanary-test-secret"


def signature(body: bytes, secret: str = TEST_SECRET) -> str:
    """The `X-Hub-Signature-256` header value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed_delivery(
    event: str, payload: Any, *, secret: str = TEST_SECRET, delivery: str | None = None
) -> tuple[bytes, dict[str, str]]:
    """A body and the headers GitHub would send with it (event, delivery id, signature, JSON type)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return body, {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature(body, secret),
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/test",
    }
