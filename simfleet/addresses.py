"""Loopback addresses of simulated hosts: host i (1-based) listens on 127.0.1.i, then 127.0.2.1, ...

Each host has an address of its own, as real machines do, so anything keyed by IP (the metrics
store's `ip` column, topology labels) lines up with the inventory. All of 127.0.0.0/8 is loopback.
"""

from __future__ import annotations

MAX_HOSTS = 254 * 254


def host_address(index: int) -> str:
    """The loopback address of the `index`-th host (1-based)."""
    if not 1 <= index <= MAX_HOSTS:
        msg = f"host index {index} out of range 1..{MAX_HOSTS}"
        raise ValueError(msg)
    third, fourth = divmod(index - 1, 254)
    return f"127.0.{third + 1}.{fourth + 1}"
