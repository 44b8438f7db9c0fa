"""What every tool call shares for the life of the server: settings, the inventory and the SSH client."""

from __future__ import annotations

from dataclasses import dataclass, field

from tools_server.inventory import Host, Inventory, InventoryError, load_inventory
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

    def host(self, name: str) -> Host:
        """Return the inventory host called `name`; an unknown name is a ToolInputError."""
        try:
            return self.inventory.get(name)
        except KeyError as exc:
            raise ToolInputError(str(exc.args[0])) from exc
