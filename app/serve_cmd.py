"""`opswatchdog serve`: the webhook/approval HTTP service standalone (uvicorn, graphs in this process).

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


def add_serve_parser(subparsers: Any) -> None:
    """Register `serve`."""
    p = subparsers.add_parser("serve", help="the Alertmanager webhook + incidents/approvals HTTP service")
    p.add_argument("--host", help="bind address (default 127.0.0.1, OPSWD_SERVICE__HOST)")
    p.add_argument("--port", type=int, help="port (default 8080, OPSWD_SERVICE__PORT)")
    p.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=_serve)
