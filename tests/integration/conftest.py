"""Integration fixtures: the demo fleet (every fault kind) started in-process on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest_asyncio

from simfleet.server import start_fleet
from tools_server.inventory import load_inventory
from tools_server.settings import Settings, SshSettings


@dataclass
class FleetInfo:
    """Where a running simulated fleet's files are, and which faults each host carries."""

    out: Path
    inventory: Path
    known_hosts: Path
    faults: dict[str, list[str]]

    def settings(self, **ssh: object) -> Settings:
        """Tools-server settings pointing at this fleet (short timeouts for tests)."""
        ssh_settings = SshSettings(
            known_hosts=self.known_hosts,
            connect_timeout_s=3,
            command_timeout_s=15,
            **ssh,  # type: ignore[arg-type]
        )
        return Settings(inventory=self.inventory, ssh=ssh_settings)

    def host_with(self, fault: str) -> str:
        """The first host carrying `fault`."""
        return next(h for h, kinds in sorted(self.faults.items()) if fault in kinds)

    def healthy_host(self) -> str:
        """A host with no fault."""
        return next(h for h, kinds in sorted(self.faults.items()) if not kinds)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo_fleet(tmp_path_factory) -> AsyncIterator[FleetInfo]:  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("fleet")
    async with start_fleet("demo", out, hosts=20):
        faults: dict[str, list[str]] = json.loads((out / "faults.json").read_text())
        for host in load_inventory(out / "inventory.yaml").hosts:
            faults.setdefault(host.name, [])
        yield FleetInfo(out, out / "inventory.yaml", out / "known_hosts", faults)
