"""`GET /healthz` (liveness with the queue depth) and `GET /metrics` (Prometheus exposition)."""

from __future__ import annotations

import sqlite3

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.service.metrics import CONTENT_TYPE
from app.service.runtime import service_of

router = APIRouter()


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    """200 while the state database answers; 503 otherwise (a load balancer should stop routing here)."""
    service = service_of(request)
    try:
        depth = await anyio.to_thread.run_sync(service.inbox.depth)
    except sqlite3.Error as exc:
        return JSONResponse({"status": "unhealthy", "error": str(exc)}, status_code=503)
    return JSONResponse({"status": "ok", "queue_depth": depth, "workers": service.alive()})


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    service = service_of(request)
    body = await anyio.to_thread.run_sync(service.metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE)
