"""Inventory hosts by any name they go by: host name, SSH address, or the IP the metrics store and alerts use.

The metrics store keys hosts by IP (`metrics_ip`, which may differ from the SSH address); Alertmanager labels
carry a name, an address or `ip:port`. Inventory entries are `hosts_list` rows.
"""

from __future__ import annotations

from typing import Any


def host_keys(host: dict[str, Any]) -> set[str]:
    """Everything a host may be called by: its name, its SSH address and its metrics IP."""
    return {k for k in (host.get("name"), host.get("address"), host.get("metrics_ip")) if k}


def host_index(inventory: list[dict[str, Any]]) -> dict[str, str]:
    """Every key of every host -> its name; when two hosts share a key, the first in the inventory keeps it."""
    index: dict[str, str] = {}
    for host in inventory:
        for key in host_keys(host):
            index.setdefault(key, host["name"])
    return index


def resolve_hosts(keys: list[str], inventory: list[dict[str, Any]]) -> list[str]:
    """Inventory host names matching names, addresses or metrics IPs, in inventory order, without repeats."""
    wanted = set(keys)
    return [h["name"] for h in inventory if host_keys(h) & wanted]
