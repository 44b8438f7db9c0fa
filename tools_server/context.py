"""What every tool call shares for the life of the server: settings, the inventory and the SSH client."""

from __future__ import annotations

from dataclasses import dataclass, field

from tools_server.inventory import Host, Inventory, InventoryError, load_inventory
from tools_server.metrics.factory import StoreURLError, open_store_from_settings
from tools_server.metrics.protocol import MetricsStore
from tools_server.settings import Settings
from tools_server.ssh import SshClient


class ToolInputError(ValueError):
    """A tool was called with input it refuses; the message is meant for the caller."""


@dataclass
class ToolContext:
    """Long-lived resources of the tools server (one SSH client, so its limits are global)."""

    settings: Settings
    ssh: SshClient
    _inventory: Inventory | None = field(default=None, repr=False)
    _store: MetricsStore | None = field(default=None, repr=False)
    _schema_ready: bool = field(default=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, inventory: Inventory | None = None) -> ToolContext:
        """Build the context; the inventory is read lazily unless given."""
        return cls(settings=settings, ssh=SshClient(settings.ssh), _inventory=inventory)

    @property
    def inventory(self) -> Inventory:
        """The inventory, read on first use; a missing or malformed file is a clear tool error."""
        if self._inventory is None:
            try:
                self._inventory = load_inventory(self.settings.inventory.expanduser())
            except InventoryError as exc:
                raise ToolInputError(f"{exc} (set OPSWD_INVENTORY to the inventory file)") from exc
        return self._inventory

    @property
    def store(self) -> MetricsStore:
        """The metrics store of settings.metrics.url, opened on first use."""
        if self._store is None:
            try:
                self._store = open_store_from_settings(self.settings.metrics)
            except StoreURLError as exc:
                raise ToolInputError(f"{exc} (set OPSWD_METRICS__URL)") from exc
        return self._store

    async def writable_store(self) -> MetricsStore:
        """The store with its reference tables created if missing (CREATE TABLE IF NOT EXISTS), once."""
        store = self.store
        if not self._schema_ready:
            await store.ensure_schema()
            self._schema_ready = True
        return store

    async def aclose(self) -> None:
        """Close what the context opened (the metrics store's connections)."""
        if self._store is not None:
            await self._store.close()
            self._store = None

    def host(self, name: str) -> Host:
        """Return the inventory host called `name`; an unknown name is a ToolInputError."""
        try:
            return self.inventory.get(name)
        except KeyError as exc:
            raise ToolInputError(str(exc.args[0])) from exc
