"""Service checks driven by the inventory's platform services: TCP connect, process match, HTTP health.

TCP and HTTP checks run from the tools server to the host; process matches run over SSH as one batch
of guarded `pgrep -f` commands per host. Results use the reference status vocabulary:
正常 (up), 异常 (down), 丢失 (could not be checked: host unreachable, no answer).
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime
from typing import Literal

import httpx
from pydantic import BaseModel

from tools_server.catalog import CatalogCommand, CatalogError, pgrep
from tools_server.inventory import Host, ServiceSpec
from tools_server.ssh import SshClient, SshError

STATUS_UP, STATUS_DOWN, STATUS_LOST = "正常", "异常", "丢失"
_URL_RE = re.compile(r"^https?://[A-Za-z0-9.:\[\]_-]+(/[A-Za-z0-9._~/?=&%-]*)?$")


class ServiceCheck(BaseModel):
    """One check of one service on one host."""

    host: str
    address: str
    service: str
    check: Literal["tcp", "process", "http"]
    status: str
    detail: str
    latency_ms: float | None = None
    checked_at: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _check(
    host: Host,
    spec: ServiceSpec,
    kind: Literal["tcp", "process", "http"],
    status: str,
    detail: str,
    latency_ms: float | None = None,
) -> ServiceCheck:
    return ServiceCheck(
        host=host.name,
        address=host.address,
        service=spec.name,
        check=kind,
        status=status,
        detail=detail,
        latency_ms=latency_ms,
        checked_at=_now(),
    )


async def tcp_check(host: Host, spec: ServiceSpec, timeout_s: float) -> ServiceCheck:
    """Connect to the service port; refused or timed out is down."""
    assert spec.port is not None
    started = time.perf_counter()
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host.address, spec.port), timeout_s)
    except TimeoutError:
        return _check(host, spec, "tcp", STATUS_DOWN, f"port {spec.port}: no answer within {timeout_s:g} s")
    except OSError as exc:
        return _check(host, spec, "tcp", STATUS_DOWN, f"port {spec.port}: {exc.strerror or exc}")
    latency = round((time.perf_counter() - started) * 1000, 1)
    writer.close()
    await writer.wait_closed()
    return _check(host, spec, "tcp", STATUS_UP, f"port {spec.port} accepts connections", latency)


async def http_check(host: Host, spec: ServiceSpec, client: httpx.AsyncClient) -> ServiceCheck:
    """GET the health URL; any 2xx/3xx is up."""
    url = spec.health_url or ""
    if not _URL_RE.fullmatch(url):
        return _check(host, spec, "http", STATUS_LOST, f"health URL refused: {url!r} is not a plain http(s) URL")
    started = time.perf_counter()
    try:
        response = await client.get(url)
    except httpx.HTTPError as exc:
        return _check(host, spec, "http", STATUS_DOWN, f"{url}: {type(exc).__name__}: {exc}")
    latency = round((time.perf_counter() - started) * 1000, 1)
    status = STATUS_UP if response.status_code < 400 else STATUS_DOWN
    return _check(host, spec, "http", status, f"{url}: HTTP {response.status_code}", latency)


async def process_checks(ssh: SshClient, host: Host, specs: list[ServiceSpec]) -> list[ServiceCheck]:
    """Match each service's process pattern with one SSH batch; pgrep exit 1 means no such process."""
    commands: list[tuple[ServiceSpec, CatalogCommand]] = []
    checks: list[ServiceCheck] = []
    for i, spec in enumerate(specs):
        try:
            commands.append((spec, pgrep(spec.process or "", f"svc_{i}")))
        except CatalogError as exc:
            checks.append(_check(host, spec, "process", STATUS_LOST, str(exc)))
    if not commands:
        return checks
    try:
        async with ssh.connection(host) as conn:
            results = await ssh.run_batch(conn, [c for _, c in commands])
    except SshError as exc:
        return checks + [_check(host, s, "process", STATUS_LOST, f"{exc.status}: {exc}") for s, _ in commands]
    for spec, cmd in commands:
        result = results.get(cmd.key)
        if result is not None and result.exit_status == 0:
            pids = " ".join(result.output.split()[:10])
            checks.append(_check(host, spec, "process", STATUS_UP, f"process {spec.process!r} running: pid {pids}"))
        elif result is not None and result.exit_status == 1:
            checks.append(_check(host, spec, "process", STATUS_DOWN, f"no process matches {spec.process!r}"))
        else:
            why = result.output.strip()[:200] if result else "no output"
            checks.append(_check(host, spec, "process", STATUS_LOST, f"pgrep failed: {why}"))
    return checks


async def check_host_services(ssh: SshClient, host: Host, timeout_s: float = 3.0) -> list[ServiceCheck]:
    """Every configured check of every service of one host."""
    tcp = [tcp_check(host, s, timeout_s) for s in host.services if s.port is not None]
    with_process = [s for s in host.services if s.process]
    async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False) as client:
        http = [http_check(host, s, client) for s in host.services if s.health_url]
        singles, processes = await asyncio.gather(asyncio.gather(*tcp, *http), process_checks(ssh, host, with_process))
    return [*singles, *processes]
