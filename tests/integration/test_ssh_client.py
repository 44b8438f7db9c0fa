"""The SSH client's limits and retries against the simulated fleet: resets before the banner, slots, timeouts."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncssh
import pytest

from tools_server.inspection import Section, inspect_host
from tools_server.inventory import Host, load_inventory
from tools_server.settings import SshSettings, Thresholds
from tools_server.ssh import SshClient

from .conftest import FleetInfo

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


@asynccontextmanager
async def _resetting_proxy(target: tuple[str, int], resets: int) -> AsyncIterator[tuple[int, list[int]]]:
    """A TCP proxy that resets its first `resets` connections before any byte (like sshd's MaxStartups)."""
    seen = [0]

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen[0] += 1
        if seen[0] <= resets:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(*target)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], seen
    finally:
        server.close()


def _host(fleet: FleetInfo, name: str) -> Host:
    return load_inventory(fleet.inventory).get(name)


def _known_hosts_for_proxy(fleet: FleetInfo, host: Host, proxy_port: int, tmp: Path) -> Path:
    prefix = f"[{host.address}]:{host.port} "
    line = next(x for x in fleet.known_hosts.read_text().splitlines() if x.startswith(prefix))
    path = tmp / "known_hosts_proxy"
    path.write_text(line.replace(prefix, f"[127.0.0.1]:{proxy_port} ", 1) + "\n")
    return path


async def test_reset_before_banner_is_retried_not_reported_down(demo_fleet: FleetInfo, tmp_path: Path) -> None:
    host = _host(demo_fleet, demo_fleet.healthy_host())
    async with _resetting_proxy((host.address, host.port), resets=2) as (port, seen):
        settings = SshSettings(
            known_hosts=_known_hosts_for_proxy(demo_fleet, host, port, tmp_path),
            connect_retries=3,
            retry_backoff_s=0.05,
            connect_timeout_s=5,
        )
        client = SshClient(settings)
        report = await inspect_host(
            client, host.model_copy(update={"address": "127.0.0.1", "port": port}), {Section.SYSTEM}, Thresholds()
        )
    assert report.status == "ok", report.reason
    assert client.retries_done == 2 and seen[0] == 3


async def test_resets_beyond_the_retry_budget_are_unreachable(demo_fleet: FleetInfo, tmp_path: Path) -> None:
    host = _host(demo_fleet, demo_fleet.healthy_host())
    async with _resetting_proxy((host.address, host.port), resets=10) as (port, _):
        settings = SshSettings(
            known_hosts=_known_hosts_for_proxy(demo_fleet, host, port, tmp_path),
            connect_retries=1,
            retry_backoff_s=0.01,
        )
        report = await inspect_host(
            SshClient(settings),
            host.model_copy(update={"address": "127.0.0.1", "port": port}),
            {Section.SYSTEM},
            Thresholds(),
        )
    assert report.status == "unreachable"
    assert report.findings[0].metric == "host.reachable"


async def test_slot_wait_is_not_counted_in_the_connect_timeout(demo_fleet: FleetInfo) -> None:
    """Two inspections of a slow host with one slot: the second waits longer than connect_timeout, and succeeds."""
    host = _host(demo_fleet, demo_fleet.host_with("slow"))
    client = SshClient(
        SshSettings(known_hosts=demo_fleet.known_hosts, per_host_limit=1, connect_timeout_s=1, command_timeout_s=15)
    )
    first, second = await asyncio.gather(
        *(inspect_host(client, host, {Section.SYSTEM}, Thresholds()) for _ in range(2))
    )
    assert first.status == second.status == "ok"
    assert any(f.metric == "host.slow_response" for f in first.findings)


async def test_slot_timeout_and_command_timeout_are_their_own_statuses(demo_fleet: FleetInfo) -> None:
    host = _host(demo_fleet, demo_fleet.host_with("slow"))
    client = SshClient(
        SshSettings(known_hosts=demo_fleet.known_hosts, per_host_limit=1, slot_timeout_s=0.5, command_timeout_s=1)
    )
    reports = await asyncio.gather(*(inspect_host(client, host, {Section.SYSTEM}, Thresholds()) for _ in range(2)))
    assert sorted(r.status for r in reports) == ["queued_too_long", "timeout"]


async def test_handshakes_in_flight_are_bounded(demo_fleet: FleetInfo, monkeypatch: pytest.MonkeyPatch) -> None:
    inventory = load_inventory(demo_fleet.inventory)
    healthy = [inventory.get(h) for h, kinds in demo_fleet.faults.items() if not kinds or kinds == ["slow"]]
    in_flight, peak = 0, 0
    real_connect = asyncssh.connect

    async def counting_connect(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            return await real_connect(*args, **kwargs)
        finally:
            in_flight -= 1

    monkeypatch.setattr(asyncssh, "connect", counting_connect)
    client = SshClient(SshSettings(known_hosts=demo_fleet.known_hosts, max_handshakes=2))
    reports = await asyncio.gather(*(inspect_host(client, h, {Section.SYSTEM}, Thresholds()) for h in healthy))
    assert all(r.status == "ok" for r in reports)
    assert len(healthy) > 2 and peak == 2


async def test_missing_known_hosts_refuses_instead_of_trusting(demo_fleet: FleetInfo, tmp_path: Path) -> None:
    host = _host(demo_fleet, demo_fleet.healthy_host())
    client = SshClient(SshSettings(known_hosts=tmp_path / "absent"))
    report = await inspect_host(client, host, {Section.SYSTEM}, Thresholds())
    assert report.status == "host_key_rejected" and "known_hosts" in (report.reason or "")
