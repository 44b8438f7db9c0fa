"""`opswatchdog serve`: the webhook/approval HTTP service standalone (uvicorn; graphs in a worker child process,
or in this one with OPSWD_SERVICE__RUNS=inline); `opswatchdog worker`: that worker (more can run elsewhere).

Needs Postgres for the inbox (OPSWD_SERVICE__INBOX_URL, or a Postgres OPSWD_CHECKPOINTS__URL) and credentials
(OPSWD_SERVICE__TOKEN(_FILE) or basic auth); refuses to start without them rather than serve unauthenticated.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app
    from service.settings import ServiceConfigError, service_settings_from_env

    settings = service_settings_from_env()
    try:
        settings.require_credentials()
        settings.resolved_inbox_url()
    except (ServiceConfigError, OSError) as exc:
        print(f"opswatchdog serve: {exc}", file=sys.stderr)
        return 2
    host = args.host or settings.host
    port = args.port or settings.port
    print(f"opswatchdog serve: listening on http://{host}:{port}", file=sys.stderr, flush=True)
    uvicorn.run(create_app(in_process=True), host=host, port=port, log_level=args.log_level, access_log=False)
    return 0


def _worker(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import os

    from service.settings import ServiceConfigError, service_settings_from_env

    settings = service_settings_from_env()
    try:
        settings.resolved_inbox_url()
    except (ServiceConfigError, OSError) as exc:
        print(f"opswatchdog worker: {exc}", file=sys.stderr)
        return 2
    os.nice(settings.worker_nice if args.nice is None else args.nice)  # before the graph's imports take the CPU
    from service.worker import run_worker

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(run_worker(settings, parent_pipe=args.parent_pipe))
    return 0


def add_serve_parser(subparsers: Any) -> None:
    """Register `serve` and `worker`."""
    p = subparsers.add_parser("serve", help="the Alertmanager webhook + incidents/approvals HTTP service")
    p.add_argument("--host", help="bind address (default 127.0.0.1, OPSWD_SERVICE__HOST)")
    p.add_argument("--port", type=int, help="port (default 8080, OPSWD_SERVICE__PORT)")
    p.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=_serve)

    w = subparsers.add_parser("worker", help="run incidents from the webhook inbox (no HTTP); serve starts one")
    w.add_argument("--nice", type=int, choices=range(20), metavar="0-19", help="CPU priority offset (default 5)")
    w.add_argument("--parent-pipe", action="store_true", help="stop when stdin reaches end-of-file (used by serve)")
    w.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    w.set_defaults(func=_worker)
