"""Files a running fleet writes for its clients: inventory.yaml, known_hosts, keys/, faults.json."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from simfleet.fleet import GeneratedHost

# `process` is a pgrep -f pattern matching the simulated process. The nominal port is replaced by the port of a
# real listener on the host's address when the fleet starts its services; otherwise nothing listens on it.
_ROLE_SERVICES: dict[str, list[dict[str, Any]]] = {
    "web": [
        {"name": "nginx", "port": 80, "process": "nginx: master"},
        {"name": "php-fpm", "port": 9000, "process": "php-fpm: master"},
    ],
    "db": [{"name": "mysqld", "port": 3306, "process": "mysqld"}],
    "cache": [{"name": "redis-server", "port": 6379, "process": "redis-server"}],
    "app": [{"name": "order-service", "port": 8080, "process": "order-service.jar"}],
    "worker": [{"name": "celery", "process": "celery -A tasks worker"}],
}


def _extra_services(role: str) -> list[dict[str, Any]]:
    return [*_ROLE_SERVICES[role], {"name": "node_exporter", "port": 9100, "process": "node.exporter"}]


def service_names(host: GeneratedHost) -> list[str]:
    """Names of the host's services that have a TCP port (besides sshd)."""
    return [s["name"] for s in _extra_services(host.machine.profile.role) if "port" in s]


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


@dataclass(frozen=True)
class HostFiles:
    """What the output needs to know about one running host."""

    host: GeneratedHost
    address: str
    port: int
    service_ports: dict[str, int]  # real listeners on the host's address (empty when services are off)
    private_key: bytes  # OpenSSH format, the key the inventory tells clients to use
    public_key: bytes
    known_host_key: str  # "ssh-ed25519 AAAA..." written to known_hosts


def write_outputs(out_dir: Path, user: str, hosts: list[HostFiles]) -> None:
    """Write inventory.yaml, known_hosts, keys/<host>(.pub) and faults.json into `out_dir`."""
    keys = out_dir / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    entries, known, faults = [], [], {}
    for h in hosts:
        p = h.host.machine.profile
        key_path = (keys / p.name).resolve()
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(h.private_key)
        os.chmod(key_path, 0o600)
        (keys / f"{p.name}.pub").write_bytes(h.public_key)
        known.append(f"[{h.address}]:{h.port} {h.known_host_key}")
        faults[p.name] = h.host.fault_kinds
        services = [{"name": "sshd", "port": h.port, "process": "sshd"}]
        for spec in _extra_services(p.role):
            services.append(
                {**spec, "port": h.service_ports[spec["name"]]} if spec["name"] in h.service_ports else spec
            )
        entries.append(
            {
                "name": p.name,
                "address": h.address,
                "port": h.port,
                "user": user,
                "identity_file": str(key_path),
                "groups": h.host.plan.groups or [p.role],
                "tags": ["sim", p.board.mem_type.lower(), "rdimm" if p.board.registered else "udimm", p.os.key],
                "rack": h.host.plan.rack,
                "switch": h.host.plan.switch,
                "services": services,
            }
        )
    inventory = {"defaults": {"user": user, "port": 22}, "hosts": entries}
    (out_dir / "inventory.yaml").write_text(
        yaml.dump(inventory, Dumper=_NoAliases, sort_keys=False, default_flow_style=None)
    )
    (out_dir / "known_hosts").write_text("\n".join(known) + "\n")
    (out_dir / "faults.json").write_text(json.dumps(faults, indent=2) + "\n")
