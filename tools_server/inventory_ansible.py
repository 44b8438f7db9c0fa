"""Translate an Ansible YAML inventory (all/children/hosts/vars) into the OpsWatchdog host list."""

from __future__ import annotations

from typing import Any

# Ansible connection variables and the inventory fields they feed.
_ANSIBLE_KEYS = {
    "ansible_host": "address",
    "ansible_port": "port",
    "ansible_user": "user",
    "ansible_ssh_private_key_file": "identity_file",
    "ansible_private_key_file": "identity_file",
    "ansible_become": "become",
}
_OWN_KEYS = ("services", "rack", "switch", "tags")


class AnsibleShapeError(ValueError):
    """The Ansible inventory has a wrong shape at `path`."""

    def __init__(self, message: str, path: tuple[Any, ...]) -> None:
        super().__init__(message)
        self.path = path


def is_ansible(data: dict[str, Any]) -> bool:
    """True when the mapping looks like an Ansible inventory rather than an OpsWatchdog one."""
    if "hosts" in data and isinstance(data["hosts"], list):
        return False
    return all(isinstance(v, dict) and ({"hosts", "children", "vars"} & v.keys()) for v in data.values()) and bool(data)


def normalise_ansible(data: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    """Flatten groups into host entries with `groups`, applying group vars then host vars.

    Returns the OpsWatchdog-shaped inventory and, per host, the YAML path where it was first defined
    (so errors can name the line of the Ansible file).
    """
    hosts: dict[str, dict[str, Any]] = {}
    paths: dict[str, tuple[Any, ...]] = {}
    for group, body in data.items():
        _walk(group, body, [], {}, hosts, paths, (group,))
    entries = [{"name": name, "address": name, **fields} for name, fields in hosts.items()]
    return {"hosts": entries}, [paths[name] for name in hosts]


def _walk(
    group: str,
    body: Any,
    parents: list[str],
    inherited: dict[str, Any],
    hosts: dict[str, dict[str, Any]],
    paths: dict[str, tuple[Any, ...]],
    path: tuple[Any, ...],
) -> None:
    if body is None:
        return
    if not isinstance(body, dict):
        msg = f"group {group!r} must be a mapping of hosts/children/vars"
        raise AnsibleShapeError(msg, path)
    unknown = set(body) - {"hosts", "children", "vars"}
    if unknown:
        msg = f"group {group!r} has unknown keys {sorted(unknown)} (expected hosts, children, vars)"
        raise AnsibleShapeError(msg, path)
    group_vars = {**inherited, **(body.get("vars") or {})}
    lineage = [*parents, group] if group != "all" else parents
    for name, host_vars in (body.get("hosts") or {}).items():
        if host_vars is not None and not isinstance(host_vars, dict):
            msg = f"host {name!r} vars must be a mapping"
            raise AnsibleShapeError(msg, (*path, "hosts", name))
        paths.setdefault(str(name), (*path, "hosts", name))
        entry = hosts.setdefault(str(name), {"groups": []})
        entry.update(_translate({**group_vars, **(host_vars or {})}))
        entry["groups"] = sorted(set(entry["groups"]) | set(lineage))
    for child, child_body in (body.get("children") or {}).items():
        _walk(str(child), child_body, lineage, group_vars, hosts, paths, (*path, "children", child))


def _translate(variables: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in variables.items():
        if key in _ANSIBLE_KEYS:
            out[_ANSIBLE_KEYS[key]] = value
        elif key in _OWN_KEYS or key.removeprefix("opswd_") in _OWN_KEYS:
            out[key.removeprefix("opswd_")] = value
    return out
