"""SSH client for inspections: verified host keys, key auth, bounded concurrency, retry before the banner.

One connection per host per inspection; the independent read-only catalog commands go in one exec
(see catalog.build_batch). Three separate limits: the wait for a concurrency slot (slot_timeout_s), the
TCP connect + handshake + auth (connect_timeout_s) and one batch exec (command_timeout_s), so a long
queue never looks like a dead host. Handshakes are CPU bound on the client, so a global semaphore
bounds how many are in flight; a per-host semaphore protects each sshd.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncssh

from tools_server.catalog import CatalogCommand, SectionResult, build_batch, new_token, split_batch
from tools_server.inventory import Host
from tools_server.settings import SshSettings

log = logging.getLogger(__name__)


class SshError(Exception):
    """A host could not be reached, authenticated or answered; `status` names which."""

    status = "error"


class HostUnreachable(SshError):
    """No TCP connection, or no SSH banner/handshake within the connect timeout."""

    status = "unreachable"


class AuthFailed(SshError):
    """The host refused our credentials."""

    status = "auth_failed"


class HostKeyRejected(SshError):
    """The host key is not in known_hosts or differs from it: possible man in the middle."""

    status = "host_key_rejected"


class CommandTimeout(SshError):
    """The batch exec did not finish within the command timeout."""

    status = "timeout"


class SlotTimeout(SshError):
    """No concurrency slot became free in time (the client is overloaded, the host may be fine)."""

    status = "queued_too_long"


def _reset_before_banner(exc: BaseException) -> bool:
    """True for the resets sshd's MaxStartups produces when a burst exceeds its limit."""
    if isinstance(exc, ConnectionResetError | BrokenPipeError | asyncssh.ConnectionLost):
        return True
    return isinstance(exc, asyncssh.DisconnectError) and "reset" in str(exc).lower()


class SshClient:
    """Connections and batch execs with the limits, retries and verification of SshSettings."""

    def __init__(self, settings: SshSettings) -> None:
        self.settings = settings
        self._handshakes = asyncio.Semaphore(settings.max_handshakes)
        self._per_host: dict[str, asyncio.Semaphore] = {}
        self._keys: dict[Path, asyncssh.SSHKey] = {}
        self._known_hosts: asyncssh.SSHKnownHosts | None = None
        self._known_hosts_loaded = False
        self.retries_done = 0

    def _known(self) -> asyncssh.SSHKnownHosts | None:
        if not self.settings.verify_host_keys:
            if not self._known_hosts_loaded:
                log.warning("SSH host key verification is OFF (ssh.verify_host_keys=false): any host key is accepted")
                self._known_hosts_loaded = True
            return None
        if not self._known_hosts_loaded:
            path = self.settings.known_hosts.expanduser()
            try:
                self._known_hosts = asyncssh.read_known_hosts(str(path))
            except OSError as exc:
                msg = f"cannot read known_hosts {path}: {exc.strerror}; host keys are verified by default"
                raise HostKeyRejected(msg) from exc
            self._known_hosts_loaded = True
        return self._known_hosts

    def _client_keys(self, host: Host) -> list[asyncssh.SSHKey] | None:
        path = host.identity_file or self.settings.default_identity_file
        if path is None:
            return None  # asyncssh falls back to the user's default keys
        path = path.expanduser()
        if path not in self._keys:
            try:
                self._keys[path] = asyncssh.read_private_key(str(path))
            except (OSError, asyncssh.KeyImportError) as exc:
                msg = f"cannot load identity file {path}: {exc}"
                raise AuthFailed(msg) from exc
        return [self._keys[path]]

    @asynccontextmanager
    async def connection(self, host: Host) -> AsyncIterator[asyncssh.SSHClientConnection]:
        """Yield a connected, authenticated connection to `host`, within the host's concurrency slot."""
        slot = self._per_host.setdefault(host.name, asyncio.Semaphore(self.settings.per_host_limit))
        try:
            async with asyncio.timeout(self.settings.slot_timeout_s):
                await slot.acquire()
        except TimeoutError as exc:
            msg = f"no free connection slot for {host.name} within {self.settings.slot_timeout_s:g} s"
            raise SlotTimeout(msg) from exc
        try:
            conn = await self._connect_with_retry(host)
            try:
                yield conn
            finally:
                conn.close()
                await conn.wait_closed()
        finally:
            slot.release()

    async def _connect_with_retry(self, host: Host) -> asyncssh.SSHClientConnection:
        delay = self.settings.retry_backoff_s
        for attempt in range(self.settings.connect_retries + 1):
            try:
                return await self._connect_once(host)
            except (OSError, asyncssh.Error) as exc:
                if attempt < self.settings.connect_retries and _reset_before_banner(exc):
                    self.retries_done += 1
                    await asyncio.sleep(delay * (1 + random.random()))
                    delay *= 2
                    continue
                raise self._classify(host, exc) from exc
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    async def _connect_once(self, host: Host) -> asyncssh.SSHClientConnection:
        password = self.settings.resolved_password()
        async with self._handshakes:
            try:
                return await asyncssh.connect(
                    host.address,
                    port=host.port,
                    username=host.user,
                    client_keys=self._client_keys(host),
                    known_hosts=self._known(),
                    password=password,
                    password_auth=password is not None,
                    kbdint_auth=False,
                    agent_path=None,
                    config=None,
                    encryption_algs=self.settings.encryption_algs,
                    connect_timeout=self.settings.connect_timeout_s,
                    login_timeout=self.settings.connect_timeout_s,
                )
            except TimeoutError as exc:
                msg = f"no SSH handshake within {self.settings.connect_timeout_s:g} s (TCP open, no banner or no reply)"
                raise HostUnreachable(msg) from exc

    def _classify(self, host: Host, exc: BaseException) -> SshError:
        where = f"{host.name} ({host.address}:{host.port})"
        if isinstance(exc, SshError):
            return exc
        if isinstance(exc, asyncssh.HostKeyNotVerifiable):
            return HostKeyRejected(f"{where}: host key not verifiable against known_hosts: {exc.reason}")
        if isinstance(exc, asyncssh.PermissionDenied):
            return AuthFailed(f"{where}: authentication refused for user {host.user}")
        if isinstance(exc, OSError):
            return HostUnreachable(f"{where}: {exc.strerror or exc}")
        if isinstance(exc, asyncssh.DisconnectError):
            return HostUnreachable(f"{where}: disconnected during handshake: {exc.reason}")
        return SshError(f"{where}: {exc}")

    async def run_batch(
        self, conn: asyncssh.SSHClientConnection, commands: list[CatalogCommand]
    ) -> dict[str, SectionResult]:
        """Run catalog commands as one exec and return each section's output and exit status."""
        token = new_token()
        script = build_batch(commands, token)
        try:
            result = await asyncio.wait_for(conn.run(script, check=False), self.settings.command_timeout_s)
        except TimeoutError as exc:
            msg = f"commands did not finish within {self.settings.command_timeout_s:g} s"
            raise CommandTimeout(msg) from exc
        except (OSError, asyncssh.Error) as exc:
            msg = f"connection lost while running commands: {exc}"
            raise HostUnreachable(msg) from exc
        stdout = result.stdout if isinstance(result.stdout, str) else (result.stdout or b"").decode(errors="replace")
        return split_batch(stdout, token)
