"""`POST /alerts`: Alertmanager's webhook (version 4 JSON). Authenticated with a bearer token
(`DATACANARY_ALERTS_TOKEN`; Alertmanager: `http_config.authorization.credentials`), answered 202 at
once. In the GitHub App (create_app) each firing group is stored in the durable inbox as an `alert`
delivery before the answer, for a repository the App is installed on (others are refused with 422), and
a worker handles it (app.service.alerting). An embedding app may instead set a processor on
`app.state.alert_processor` (e.g. app.revert.alerts.local_processor next to a clone), run after the answer."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from app.github.port import GitHubHttpError
from app.revert.alerts import AlertGroup, AlertmanagerPayload, groups
from app.service.alerting import enqueue, refusal
from app.service.runtime import Service, service_of

log = logging.getLogger("datacanary.alerts")
router = APIRouter()


def _token(request: Request) -> str | None:
    configured = getattr(service_of(request).settings, "alerts_token", None)
    if configured is not None:
        return str(configured.get_secret_value())
    fallback = getattr(request.app.state, "alerts_token", None)  # set directly by an embedding app
    return str(fallback) if fallback else None


def _process(processor: Any, group: AlertGroup) -> None:
    try:
        processor(group)
    except Exception:  # noqa: BLE001 - the answer is gone; the log is where a failure can be seen
        log.exception("alert for %s %s could not be handled", group.repository, group.environment)


async def _queue(service: Service, found: list[AlertGroup], problems: list[str]) -> JSONResponse:
    """Store each group of an installed repository as an `alert` delivery; refuse the others."""
    find = service.workers.ctx.alerts.find_installation if service.workers.ctx.alerts else None
    try:  # a repository the table does not know may cost a GitHub request: off the event loop
        reasons = [await run_in_threadpool(refusal, service.db, group, find) for group in found]
    except GitHubHttpError as exc:
        # nothing stored yet: answered 503 so that Alertmanager sends the whole notification again
        return JSONResponse({"error": f"cannot check the installation: {exc.message}"}, status_code=503)
    accepted: list[dict[str, Any]] = []
    refused: list[dict[str, str]] = []
    for group, reason in zip(found, reasons, strict=True):
        if reason is not None:
            log.warning("alert refused: %s", reason)
            refused.append(
                {"repository": group.repository, "environment": group.environment, "error": reason}
            )
            continue
        accepted.append(
            {
                "repository": group.repository,
                "environment": group.environment,
                "datasets": sorted(group.datasets),
                "delivery": enqueue(service.inbox, group),
            }
        )
    if accepted:
        service.wake()
    body = {"accepted": accepted, "refused": refused, "problems": problems}
    if not accepted:
        return JSONResponse({"error": refused[0]["error"], **body}, status_code=422)
    return JSONResponse(body, status_code=202)


@router.post("/alerts")
async def receive_alerts(request: Request, background: BackgroundTasks) -> JSONResponse:
    """Accept an Alertmanager notification; firing alerts become breach handling per environment."""
    expected = _token(request)
    if not expected:
        return JSONResponse(
            {"error": "alerts are not configured: set DATACANARY_ALERTS_TOKEN"}, status_code=503
        )
    given = request.headers.get("authorization", "")
    scheme, _, credentials = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(credentials.encode(), expected.encode()):
        return JSONResponse(
            {"error": "missing or wrong bearer token"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    body = await request.body()
    if len(body) > service_of(request).settings.max_body:
        return JSONResponse({"error": "body too large"}, status_code=413)
    try:
        payload = AlertmanagerPayload.model_validate(json.loads(body))
    except (ValueError, ValidationError, RecursionError) as exc:  # RecursionError: nested too deep
        return JSONResponse(
            {"error": f"not an Alertmanager webhook payload: {str(exc).splitlines()[0]}"}, status_code=422
        )
    found, problems = groups(payload)
    processor = getattr(request.app.state, "alert_processor", None)
    service = service_of(request)
    if found and processor is None and service.workers.ctx.alerts is not None:
        return await _queue(service, found, problems)
    if found and processor is None:
        return JSONResponse(
            {"error": "no alert processor is configured on this service", "problems": problems},
            status_code=503,
        )
    for group in found:
        background.add_task(_process, processor, group)
    return JSONResponse(
        {
            "accepted": [
                {"repository": g.repository, "environment": g.environment, "datasets": sorted(g.datasets)}
                for g in found
            ],
            "problems": problems,
        },
        status_code=202 if found else 200,
    )
