"""`datacanary serve`: run the GitHub App webhook service under uvicorn (settings from the environment)."""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="log level",
    )
    parser.epilog = (
        "settings come from the environment: GITHUB_APP_ID, GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH, "
        "GITHUB_WEBHOOK_SECRET, DATACANARY_STATE, GITHUB_API_URL, DATACANARY_WORKERS (worker processes)"
        " (see docs/app.md)"
    )


def run(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from app.config import get_settings
    from app.report.env import render
    from app.service.app import create_app

    settings = get_settings()  # a ConfigError here is rendered by the CLI: exit 2, no traceback
    import os

    from app.canary.limits import caps_from_env

    caps_from_env(os.environ)  # the sandbox caps too: a bad one stops the start, not the first gate
    from app.service.processes import LOG_FORMAT

    logging.basicConfig(level=args.log_level.upper(), format=LOG_FORMAT)
    app = create_app(settings)
    sys.stderr.write(
        render(
            "service/serving.txt.j2",
            app_id=settings.app_id,
            host=args.host,
            port=args.port,
            workers=settings.workers,
            mode=settings.worker_mode,
            state=settings.state,
        )
    )
    if settings.worker_mode == "thread":
        # the event loop answering webhooks shares the GIL with busy worker threads; a shorter switch
        # interval (default 5 ms) keeps its wait for the GIL, hence the acknowledgment latency, shorter
        sys.setswitchinterval(0.001)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0
