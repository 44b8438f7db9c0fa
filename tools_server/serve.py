"""Run the MCP server over stdio or streamable-http (bearer token required, loopback by default)."""

from __future__ import annotations

import hmac
import logging
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from tools_server.server import build_server
from tools_server.settings import Settings

log = logging.getLogger(__name__)


class ServeError(RuntimeError):
    """The server cannot start with these settings."""


class BearerAuth:
    """ASGI middleware: every HTTP request needs `Authorization: Bearer <token>` (constant-time compare)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass lifespan through; answer 401 to HTTP requests without the right token."""
        if scope["type"] == "http":
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
                    }
                )
                await send({"type": "http.response.body", "body": b'{"error": "missing or wrong bearer token"}'})
                return
        await self.app(scope, receive, send)


def http_app(settings: Settings) -> Any:
    """The streamable-http ASGI app wrapped in bearer-token auth; refuses to build without a token."""
    token = settings.resolved_mcp_token()
    if not token:
        msg = "the streamable-http transport needs a bearer token: set OPSWD_MCP_TOKEN or OPSWD_MCP_TOKEN_FILE"
        raise ServeError(msg)
    mcp, _ = build_server(settings)
    return BearerAuth(mcp.streamable_http_app(), token)


async def serve_stdio(settings: Settings) -> None:
    """Serve MCP on stdin/stdout until the client closes it."""
    mcp, _ = build_server(settings)
    await mcp.run_stdio_async()


async def serve_http(settings: Settings) -> None:
    """Serve MCP over streamable-http at http://HOST:PORT/mcp until interrupted."""
    app = http_app(settings)
    if settings.mcp_host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("MCP server listening on %s, beyond loopback: keep the token secret", settings.mcp_host)
    config = uvicorn.Config(app, host=settings.mcp_host, port=settings.mcp_port, log_level="warning")
    await uvicorn.Server(config).serve()
