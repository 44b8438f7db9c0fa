"""The webhook service in the test's event loop: `create_app(in_process=True)` under uvicorn on 127.0.0.1.

`serving(genv, monkeypatch, ...)` points the service at the run's environment (fleet, metrics, outbox, Postgres
for checkpoints and the inbox), starts it on a free port and yields a ServiceHandle with an authenticated
httpx client; the server is shut down (lifespan: dispatcher stopped, pool closed) at the end.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from service.app import create_app
from tests.support.alertmanager import free_port

from .graph_env import GraphEnv

TOKEN = "test-token-0123456789"


@dataclass
class ServiceHandle:
    """A running service: its URL, token and a client that sends the token."""

    url: str
    token: str
    client: httpx.AsyncClient

    @property
    def webhook_url(self) -> str:
        """Where Alertmanager posts."""
        return f"{self.url}/webhooks/alertmanager"

    async def incidents(self) -> list[dict[str, Any]]:
        """GET /incidents."""
        response = await self.client.get("/incidents")
        response.raise_for_status()
        rows: list[dict[str, Any]] = response.json()["incidents"]
        return rows

    async def incident(self, incident_id: str) -> dict[str, Any]:
        """GET /incidents/{id}."""
        response = await self.client.get(f"/incidents/{incident_id}")
        response.raise_for_status()
        detail: dict[str, Any] = response.json()
        return detail

    async def wait_for(
        self, what: str, probe: Callable[[], Awaitable[Any]], timeout_s: float = 60.0, every_s: float = 0.25
    ) -> Any:
        """Poll `probe` until it returns something truthy; fail naming `what` on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = await probe()
            if value:
                return value
            await asyncio.sleep(every_s)
        pytest.fail(f"timed out after {timeout_s:g} s waiting for {what}")


def service_environment(
    genv: GraphEnv, *, lease_s: float = 5.0, window_s: float = 900.0, settle_s: float = 0.5
) -> dict[str, str]:
    """The OPSWD_SERVICE__* settings of a test service on `genv` (inbox in the checkpoint Postgres)."""
    return {
        "OPSWD_SERVICE__TOKEN": TOKEN,
        "OPSWD_SERVICE__INBOX_URL": genv.checkpoint_url,
        "OPSWD_SERVICE__LEASE_S": str(lease_s),
        "OPSWD_SERVICE__POLL_S": "0.3",
        "OPSWD_SERVICE__SETTLE_S": str(settle_s),
        "OPSWD_SERVICE__FOLD_WINDOW_S": str(window_s),
    }


@asynccontextmanager
async def serving(
    genv: GraphEnv,
    monkeypatch: pytest.MonkeyPatch,
    *,
    after_ingest: Callable[[Any], Awaitable[None]] | None = None,
    lease_s: float = 5.0,
    settle_s: float = 0.5,
) -> AsyncIterator[ServiceHandle]:
    """The service on a free port in this event loop, stopped at the end of the block."""
    for name, value in service_environment(genv, lease_s=lease_s, settle_s=settle_s).items():
        monkeypatch.setenv(name, value)
    port = free_port()
    config = uvicorn.Config(
        create_app(in_process=True, after_ingest=after_ingest),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        access_log=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 30
    while not server.started:
        if task.done():
            task.result()
            pytest.fail("the service stopped during start-up")
        if time.monotonic() > deadline:
            pytest.fail("the service did not start within 30 s")
        await asyncio.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
            yield ServiceHandle(url, TOKEN, client)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
