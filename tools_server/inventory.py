"""The fleet inventory: OpsWatchdog YAML or an Ansible YAML inventory, validated with line numbers.

A malformed inventory raises InventoryError naming the file, the line and what is wrong. Credentials
are never stored here beyond the path of an identity file.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tools_server.inventory_ansible import AnsibleShapeError, is_ansible, normalise_ansible

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")
_ADDRESS_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[?[0-9A-Fa-f:]+\]?)$")
_USER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}$")
_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")
_PATTERN_RE = re.compile(r"^[A-Za-z0-9 ._/:=@+-]{1,128}$")


class InventoryError(ValueError):
    """The inventory file cannot be used; the message names the file, the line and the problem."""


def _label(value: str) -> str:
    if not _LABEL_RE.fullmatch(value):
        msg = f"invalid label {value!r}: letters, digits and ._:/- only, at most 64 characters"
        raise ValueError(msg)
    return value


class ServiceSpec(BaseModel):
    """A platform service on a host: how to check that it is up."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Service name, e.g. nginx")
    port: int | None = Field(None, ge=1, le=65535, description="TCP port to connect to")
    process: str | None = Field(None, description="pgrep -f pattern of its process")
    health_url: str | None = Field(None, description="Optional HTTP health URL")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _label(v)

    @field_validator("process")
    @classmethod
    def _process(cls, v: str | None) -> str | None:
        if v is not None and (v.startswith("-") or not _PATTERN_RE.fullmatch(v)):
            msg = f"invalid process pattern {v!r}: letters, digits, space and ._/:=@+- only, not starting with -"
            raise ValueError(msg)
        return v


class Host(BaseModel):
    """One inventory host: where it is, how to log in, and what it belongs to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    address: str
    ip: str | None = Field(None, description="IP the metrics store knows the host by (default: address, if an IP)")
    port: int = Field(22, ge=1, le=65535)
    user: str = "root"
    identity_file: Path | None = None
    become: bool = Field(False, description="Run privileged catalog commands through sudo -n")
    groups: list[str] = []
    tags: list[str] = []
    rack: str | None = None
    switch: str | None = None
    services: list[ServiceSpec] = []

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME_RE.fullmatch(v):
            msg = f"invalid host name {v!r}: letters, digits and ._- only"
            raise ValueError(msg)
        return v

    @field_validator("address")
    @classmethod
    def _address(cls, v: str) -> str:
        if v.startswith("-") or not _ADDRESS_RE.fullmatch(v):
            msg = f"invalid address {v!r}: a host name or an IP address"
            raise ValueError(msg)
        return v

    @field_validator("ip")
    @classmethod
    def _ip(cls, v: str | None) -> str | None:
        if v is not None:
            ipaddress.ip_address(v)
        return v

    @property
    def metrics_ip(self) -> str | None:
        """The IP to look the host up by in the metrics store, or None when only a host name is known."""
        if self.ip:
            return self.ip
        try:
            return str(ipaddress.ip_address(self.address.strip("[]")))
        except ValueError:
            return None

    @field_validator("user")
    @classmethod
    def _user(cls, v: str) -> str:
        if not _USER_RE.fullmatch(v):
            msg = f"invalid user {v!r}"
            raise ValueError(msg)
        return v

    @field_validator("groups", "tags")
    @classmethod
    def _labels(cls, v: list[str]) -> list[str]:
        return [_label(x) for x in v]

    @field_validator("rack", "switch")
    @classmethod
    def _optional_label(cls, v: str | None) -> str | None:
        return None if v is None else _label(v)


class Inventory(BaseModel):
    """All hosts of the fleet, by name."""

    model_config = ConfigDict(frozen=True)

    source: str
    hosts: list[Host]

    def get(self, name: str) -> Host:
        """Return the host called `name` or raise KeyError with the known names."""
        for h in self.hosts:
            if h.name == name:
                return h
        msg = f"unknown host {name!r}; the inventory {self.source} has {len(self.hosts)} hosts"
        raise KeyError(msg)

    def select(self, names: list[str] | None = None, group: str | None = None, tag: str | None = None) -> list[Host]:
        """Return hosts by explicit names, group and/or tag (all hosts when nothing is given)."""
        chosen = [self.get(n) for n in names] if names else list(self.hosts)
        if group:
            chosen = [h for h in chosen if group in h.groups]
        if tag:
            chosen = [h for h in chosen if tag in h.tags]
        return chosen


class _RawInventory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    defaults: dict[str, Any] = {}
    hosts: list[dict[str, Any]]


def load_inventory(path: Path) -> Inventory:
    """Read and validate an inventory file (OpsWatchdog YAML or Ansible YAML)."""
    try:
        text = path.read_text()
    except OSError as exc:
        msg = f"{path}: cannot read inventory: {exc.strerror}"
        raise InventoryError(msg) from exc
    return parse_inventory(text, str(path))


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: a 500-host file loads 10x faster


def parse_inventory(text: str, source: str = "<inventory>") -> Inventory:
    """Validate inventory text; errors name `source`, the line and what is wrong.

    The YAML node tree (for line numbers) is only built when something is wrong.
    """
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark is not None else "unknown line"
        msg = f"{source}: {line}: not valid YAML: {getattr(exc, 'problem', exc)}"
        raise InventoryError(msg) from exc

    def locate(loc: tuple[Any, ...]) -> str:
        return _line_of(yaml.compose(text, Loader=_Loader), loc)

    if not isinstance(data, dict):
        msg = f"{source}: line 1: expected a mapping with a 'hosts' list (or an Ansible inventory)"
        raise InventoryError(msg)
    if not is_ansible(data):
        return _validate(data, locate, source)
    try:
        flat, host_paths = normalise_ansible(data)
    except AnsibleShapeError as exc:
        msg = f"{source}: line {locate(exc.path)}: {exc}"
        raise InventoryError(msg) from exc

    def locate_ansible(loc: tuple[Any, ...]) -> str:
        # ("hosts", i, field) in the flattened shape -> the host's own entry in the Ansible file
        if len(loc) >= 2 and loc[0] == "hosts" and isinstance(loc[1], int):
            return locate(host_paths[loc[1]])
        return locate(())

    return _validate(flat, locate_ansible, source)


def _validate(data: dict[str, Any], locate: Callable[[tuple[Any, ...]], str], source: str) -> Inventory:
    try:
        raw = _RawInventory.model_validate(data)
    except ValidationError as exc:
        raise _error(exc, (), locate, source) from exc
    hosts: list[Host] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(raw.hosts):
        merged = {**raw.defaults, **entry} if isinstance(entry, dict) else entry
        try:
            host = Host.model_validate(merged)
        except ValidationError as exc:
            raise _error(exc, ("hosts", i), locate, source) from exc
        if host.name in seen:
            line = locate(("hosts", i))
            msg = f"{source}: line {line}: duplicate host name {host.name!r} (first at entry {seen[host.name] + 1})"
            raise InventoryError(msg)
        seen[host.name] = i
        hosts.append(host)
    return Inventory(source=source, hosts=hosts)


def _error(
    exc: ValidationError, prefix: tuple[Any, ...], locate: Callable[[tuple[Any, ...]], str], source: str
) -> InventoryError:
    first = exc.errors()[0]
    loc = prefix + tuple(first["loc"])
    where = ".".join(str(p) for p in loc)
    return InventoryError(f"{source}: line {locate(loc)}: {where}: {first['msg']}")


def _line_of(node: yaml.Node | None, path: tuple[Any, ...]) -> str:
    """Walk the composed YAML tree along `path` and return the 1-based line of the deepest node found."""
    if node is None:
        return "?"
    line = node.start_mark.line + 1
    for part in path:
        nxt: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    nxt = value
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
        if nxt is None:
            break
        node, line = nxt, nxt.start_mark.line + 1
    return str(line)
