"""`POST /webhooks`: verify, store, answer 202. Nothing slow happens before the answer: GitHub gives up
after 10 seconds and does not redeliver on its own, so the delivery must be durable first."""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.github.events import PARSERS, parse_event
from app.github.payload import EventError
from app.service.alerting import ALERT_EVENT
from app.service.dispatch import IGNORED
from app.service.inbox import Delivery
from app.service.runtime import Service, service_of
from app.service.signature import verify

log = logging.getLogger("datacanary.service")
router = APIRouter()


class _TooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge  # refuse on the header alone, before reading a byte
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:  # chunked or lying Content-Length: stop reading at the cap
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _form_encoded(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded"


def _answer(service: Service, event: str, code: int, started: float, **body: Any) -> JSONResponse:
    # the header is untrusted (a forged request can say anything): label only names we know, so the
    # metric's cardinality stays bounded
    known = event == "ping" or event in IGNORED or event in service.router.events()
    service.metrics.received.labels(event if known else "other", str(code)).inc()
    service.metrics.ack.observe(time.perf_counter() - started)
    return JSONResponse(body, status_code=code)


@router.post("/webhooks")
async def receive(request: Request) -> JSONResponse:
    """Receive one GitHub webhook delivery."""
    started = time.perf_counter()
    service = service_of(request)
    event = request.headers.get("x-github-event", "")
    try:
        body = await _read_body(request, service.settings.max_body)
    except _TooLarge:
        return _answer(
            service, event, 413, started, error=f"body larger than {service.settings.max_body} bytes"
        )
    secret = service.settings.webhook_secret.get_secret_value().encode()
    if not verify(secret, body, request.headers.get("x-hub-signature-256")):
        log.warning("webhook with a missing or wrong signature (event %r)", event)
        return _answer(service, event, 401, started, error="missing or invalid X-Hub-Signature-256")
    delivery_id = request.headers.get("x-github-delivery", "")
    if not event or not delivery_id:
        return _answer(
            service, event, 400, started, error="missing X-GitHub-Event or X-GitHub-Delivery header"
        )
    if _form_encoded(request.headers.get("content-type", "")):
        # a webhook set to application/x-www-form-urlencoded: GitHub signs the form, the JSON is its
        # `payload` field; that JSON is what is stored, so the workers read every delivery alike
        fields = parse_qs(body.decode("latin-1"), keep_blank_values=True, encoding="utf-8")
        if not fields.get("payload"):
            return _answer(service, event, 400, started, error="form-encoded body has no `payload` field")
        body = fields["payload"][0].encode()
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: arrays nested too deep
        return _answer(service, event, 400, started, error=f"body is not JSON: {exc}")
    if not isinstance(payload, dict):
        return _answer(service, event, 400, started, error="body is not a JSON object")
    if event == "ping":
        return _answer(service, event, 200, started, status="pong", zen=payload.get("zen"))
    if event in IGNORED:
        return _answer(service, event, 200, started, status="ignored", reason=IGNORED[event])
    if event not in service.router.events() or event == ALERT_EVENT:  # `alert`: only POST /alerts stores it
        return _answer(
            service,
            event,
            422,
            started,
            error=f"datacanary does not handle {event!r} events; unsubscribe the app",
        )
    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    if not service.router.lookup(event, action):
        reason = service.router.ignored_reason(event, action) or f"action {action!r} is not handled"
        return _answer(service, event, 200, started, status="ignored", reason=reason)
    try:
        parsed = parse_event(event, payload) if event in PARSERS else payload
    except EventError as exc:
        log.warning("delivery %s (%s.%s) rejected: %s", delivery_id, event, action, exc.message)
        return _answer(service, event, 400, started, error=exc.message)
    key = service.router.work_key(event, action, parsed, service.inbox)
    delivery = Delivery(
        delivery_id=delivery_id,
        event=event,
        action=action,
        body=body,
        work_key=key.key if key else None,
        head_sha=key.head_sha if key else None,
        sets_head=key.sets_head if key else False,
        head_at=key.head_at if key else None,
        received_at=time.time(),
    )
    # Inline, not in a worker thread: one SQLite insert (~0.3 ms, serialized with the workers' short
    # writes by the inbox lock) costs less than waking a thread, which under CPU contention took
    # ~0.7 ms of the event loop's time per delivery in profiles of benchmarks/webhooks.py.
    added = service.inbox.add(delivery) or service.inbox.retry_failed(delivery_id)
    if not added:
        return _answer(service, event, 200, started, status="duplicate", delivery=delivery_id)
    service.wake()
    return _answer(service, event, 202, started, status="queued", delivery=delivery_id)
