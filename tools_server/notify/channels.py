"""The two channels for now: a console/file outbox and a generic JSON webhook.

A channel delivers one prepared JSON body and says whether it arrived; it never raises for a delivery
failure. Before each attempt it awaits `on_attempt` so the outbox counts the attempt first. Logs and the
console line go to stderr: stdout is the MCP stdio protocol.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from tools_server.notify.settings import NotifySettings

log = logging.getLogger(__name__)

OnAttempt = Callable[[], Awaitable[None]]
USER_AGENT = "OpsWatchdog-notify/0.1"
# 408 and 429 mean "try again later" although they are 4xx; every other 4xx is final.
RETRY_STATUSES = frozenset({408, 429})
MAX_DETAIL_CHARS = 300


@dataclass(frozen=True)
class Delivery:
    """The outcome of one channel send (all its attempts)."""

    ok: bool
    detail: str
    retryable: bool = False


def _json_line(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _append(path: Path, data: bytes) -> None:
    """Append with one O_APPEND write and fsync, so concurrent writers never interleave within a line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


async def send_to_file(path: Path, body: dict[str, Any], on_attempt: OnAttempt) -> Delivery:
    """Append the body as one JSON line to `path` and print a short line to stderr."""
    await on_attempt()
    try:
        await asyncio.to_thread(_append, path.expanduser(), _json_line(body) + b"\n")
    except OSError as exc:
        return Delivery(ok=False, detail=f"cannot append to {path}: {exc.strerror or exc}")
    title = str(body["title"])
    title = title if len(title) <= 120 else title[:119] + "…"
    print(f"[notify] {body['severity']} {body['idempotency_key']}: {title}", file=sys.stderr, flush=True)
    return Delivery(ok=True, detail=f"appended to {path}")


def _where(url: str) -> str:
    """The URL without path and query, which may carry a secret (robot tokens)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _jittered(delay: float) -> float:
    """Equal jitter: between half and all of the delay, so retrying callers spread out."""
    return delay * (0.5 + random.random() / 2)


@asynccontextmanager
async def _http(client: httpx.AsyncClient | None, timeout_s: float) -> AsyncIterator[httpx.AsyncClient]:
    if client is not None:
        yield client
        return
    async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False) as own:
        yield own


async def _post_once(
    http: httpx.AsyncClient, url: str, content: bytes, headers: dict[str, str], timeout_s: float
) -> Delivery:
    """One POST bounded end to end by timeout_s (httpx's own timeouts are per phase)."""
    try:
        async with asyncio.timeout(timeout_s):
            response = await http.post(url, content=content, headers=headers, timeout=timeout_s)
    except (TimeoutError, httpx.TimeoutException):
        return Delivery(ok=False, detail=f"no answer within {timeout_s:g} s", retryable=True)
    except httpx.TransportError as exc:
        return Delivery(ok=False, detail=f"{type(exc).__name__}: {exc}"[:MAX_DETAIL_CHARS], retryable=True)
    if response.is_success:
        return Delivery(ok=True, detail=f"HTTP {response.status_code}")
    retryable = response.status_code >= 500 or response.status_code in RETRY_STATUSES
    text = " ".join(response.text.split())[:MAX_DETAIL_CHARS]
    return Delivery(ok=False, detail=f"HTTP {response.status_code}: {text}".rstrip(": "), retryable=retryable)


async def send_to_webhook(
    settings: NotifySettings,
    body: dict[str, Any],
    on_attempt: OnAttempt,
    *,
    token: str | None = None,
    client: httpx.AsyncClient | None = None,
) -> Delivery:
    """POST the body to settings.webhook_url, retrying 5xx/408/429/timeouts/connection errors with backoff."""
    if settings.webhook_url is None:
        msg = "the webhook channel needs OPSWD_NOTIFY__WEBHOOK_URL"
        raise ValueError(msg)
    url, where = settings.webhook_url, _where(settings.webhook_url)
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": str(body["idempotency_key"]),
        "User-Agent": USER_AGENT,
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    content = _json_line(body)
    attempts = settings.retries + 1
    outcome = Delivery(ok=False, detail="not attempted")
    async with _http(client, settings.timeout_s) as http:
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                await asyncio.sleep(_jittered(settings.backoff_delay(attempt - 2)))
            await on_attempt()
            outcome = await _post_once(http, url, content, headers, settings.timeout_s)
            if outcome.ok:
                return Delivery(ok=True, detail=f"delivered to {where} ({outcome.detail}, attempt {attempt})")
            key = headers["Idempotency-Key"]
            log.warning("webhook %s attempt %d/%d for %s failed: %s", where, attempt, attempts, key, outcome.detail)
            if not outcome.retryable:
                return Delivery(ok=False, detail=f"{where} refused the message: {outcome.detail}")
    return Delivery(ok=False, detail=f"{where} failed {attempts} attempt(s); last: {outcome.detail}", retryable=True)
