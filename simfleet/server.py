"""The fleet on loopback: an asyncssh server (or a silent listener) per host on its own address; start_fleet."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

from simfleet.addresses import host_address
from simfleet.fleet import GeneratedHost, generate_fleet, resolve_scenario
from simfleet.machine import Machine
from simfleet.output import HostFiles, service_names, write_outputs
from simfleet.scenario import Scenario
from simfleet.shell import run_script


@dataclass
class SimHost:
    """One simulated host as clients see it."""

    name: str
    address: str
    port: int
    faults: list[str]
    identity_file: Path
    user: str
    groups: list[str]
    machine: Machine = field(repr=False)


@dataclass
class Fleet:
    """A running fleet and the files it wrote."""

    hosts: list[SimHost]
    out_dir: Path
    inventory_path: Path
    known_hosts_path: Path
    faults_path: Path

    def host(self, name: str) -> SimHost:
        """The host called `name`."""
        found = next((h for h in self.hosts if h.name == name), None)
        if found is None:
            msg = f"no host {name!r} in this fleet"
            raise KeyError(msg)
        return found

    def with_fault(self, kind: str) -> list[SimHost]:
        """The hosts that have a fault of `kind`."""
        return [h for h in self.hosts if kind in h.faults]


class _KeyOnlyServer(asyncssh.SSHServer):
    """Public-key authentication for one user and one key; no passwords."""

    def __init__(self, user: str, key: asyncssh.SSHKey, live: set[asyncssh.SSHServerConnection]) -> None:
        self._user, self._key, self._live = user, key.public_data, live
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._live.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._live.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return username == self._user and key.public_data == self._key


def _exec_handler(machine: Machine, delay: float) -> Callable[[asyncssh.SSHServerProcess[str]], Awaitable[None]]:
    async def handle(process: asyncssh.SSHServerProcess[str]) -> None:
        if delay:
            await asyncio.sleep(delay)
        script = process.command
        if script is None:
            process.stderr.write("simfleet: interactive shells are not supported; run a command\n")
            process.exit(1)
            return
        result = await run_script(machine, script)
        process.stdout.write(result.stdout)
        if result.stderr:
            process.stderr.write(result.stderr)
        process.exit(result.status)

    return handle


class _Silent:
    """A TCP listener that accepts and holds connections without ever sending a banner."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self, address: str) -> int:
        self.server = await asyncio.start_server(self._hold, address, 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        try:
            while await reader.read(4096):
                pass
        except ConnectionError:
            pass
        finally:
            self.writers.discard(writer)
            writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            for w in list(self.writers):
                w.close()
            await self.server.wait_closed()


def _new_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519")


@asynccontextmanager
async def start_fleet(
    scenario: Scenario | str | Path,
    out_dir: str | Path,
    hosts: int | None = None,
    *,
    now: float | None = None,
    quiet: bool = True,
    services: bool = True,
) -> AsyncIterator[Fleet]:
    """Start every host of `scenario` on its own loopback address, write the client files, stop all on exit.

    With `services`, each host's platform services (nginx, mysqld, ...) get a real TCP listener on the host's
    address so TCP service checks find them up; benchmarks turn this off to keep only the SSH servers.
    """
    if quiet:
        logging.getLogger("asyncssh").setLevel(logging.WARNING)
    model = resolve_scenario(scenario)
    generated = generate_fleet(model, hosts, now)
    out = Path(out_dir).resolve()
    live: set[asyncssh.SSHServerConnection] = set()
    acceptors: list[asyncssh.SSHAcceptor] = []
    silent: list[_Silent] = []
    files: list[HostFiles] = []
    try:
        for index, g in enumerate(generated, start=1):
            files.append(await _start_host(g, host_address(index), model.user, live, acceptors, silent, services))
        write_outputs(out, model.user, files)
        sim = [
            SimHost(
                f.host.plan.name,
                f.address,
                f.port,
                f.host.fault_kinds,
                out / "keys" / f.host.plan.name,
                model.user,
                f.host.plan.groups,
                f.host.machine,
            )
            for f in files
        ]
        yield Fleet(sim, out, out / "inventory.yaml", out / "known_hosts", out / "faults.json")
    finally:
        for a in acceptors:
            a.close()
        for conn in list(live):
            conn.close()
        await asyncio.gather(*(a.wait_closed() for a in acceptors), *(s.close() for s in silent))


async def _start_host(
    g: GeneratedHost,
    address: str,
    user: str,
    live: set[asyncssh.SSHServerConnection],
    acceptors: list[asyncssh.SSHAcceptor],
    silent: list[_Silent],
    services: bool,
) -> HostFiles:
    flags = g.machine.profile.flags
    host_key, client_key = _new_key(), _new_key()
    accepted = _new_key() if "wrong_credentials" in flags else client_key
    known = _new_key() if "host_key_changed" in flags else host_key
    if "unreachable" in flags:
        listener = _Silent()
        silent.append(listener)
        port = await listener.start(address)
    else:
        delay = max((f.delay_s for f in g.machine.profile.faults if f.kind == "slow"), default=0.0)
        acceptor = await asyncssh.create_server(
            lambda: _KeyOnlyServer(user, accepted, live),
            address,
            0,
            server_host_keys=[host_key],
            process_factory=_exec_handler(g.machine, delay),
            keepalive_interval=0,
        )
        acceptors.append(acceptor)
        port = acceptor.get_port()
    service_ports: dict[str, int] = {}
    if services and "unreachable" not in flags:
        for name in service_names(g):
            listener = _Silent()
            silent.append(listener)
            service_ports[name] = await listener.start(address)
    return HostFiles(
        g,
        address,
        port,
        service_ports,
        client_key.export_private_key("openssh"),
        client_key.export_public_key("openssh"),
        known.export_public_key("openssh").decode().strip(),
    )
