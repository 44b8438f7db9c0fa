"""Scripted ops tools for running the real incident graph in-process, with no MCP server, SSH or database.

    tools = FakeTools.fleet(3)                         # node-01..03 at 10.0.0.1..3, metrics IPs 192.168.0.1..3
    tools.memory_pressure.add("node-02")               # a finding that leads to a purchase request
    tools.failing["node-03"] = "unknown host"          # ssh_inspect_host answers a tool error (ToolCallFailed)
    tools.crash_once.add("node-01")                    # raises RuntimeError once: a run cut off mid-step
    set_tools_provider(tools.provide)

`calls` records every (tool, args); `notify_send` deduplicates by idempotency key like the real outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graph.mcp_client import McpTools, ToolCallFailed


def host_row(i: int, **overrides: Any) -> dict[str, Any]:
    """A hosts_list row for node-0i."""
    row = {
        "name": f"node-{i:02d}",
        "address": f"10.0.0.{i}",
        "metrics_ip": f"192.168.0.{i}",
        "port": 22,
        "user": "root",
        "groups": ["web"] if i % 2 else ["db"],
        "tags": [],
        "rack": None,
        "switch": None,
        "services": [],
    }
    return {**row, **overrides}


def finding(
    host: str, metric: str, value: float, severity: str = "critical", *, index: int | None = None, evidence: str = ""
) -> dict[str, Any]:
    """One finding as ssh_inspect_host reports it (`index` tells apart several of one metric on a host)."""
    return {
        "id": f"F-{host}-{metric}" + ("" if index is None else f"-{index}"),
        "host": host,
        "component": metric.split(".")[0],
        "severity": severity,
        "metric": metric,
        "value": value,
        "summary": f"{metric} {value} on {host}",
        "evidence": evidence or f"{metric}={value}",
        "subject": None,
    }


@dataclass
class FakeTools:
    """names() and call() of McpTools over canned answers."""

    hosts: list[dict[str, Any]]
    memory_pressure: set[str] = field(default_factory=set)
    failing: dict[str, str] = field(default_factory=dict)
    crash_once: set[str] = field(default_factory=set)
    abnormal_ips: list[str] = field(default_factory=list)
    store_error: str | None = None
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def fleet(cls, n: int) -> FakeTools:
        """n hosts node-01..node-0n."""
        return cls([host_row(i) for i in range(1, n + 1)])

    async def provide(self) -> McpTools:
        """The provider for graph.tools_access.set_tools_provider."""
        return self  # type: ignore[return-value]  # duck-typed: names() and call()

    def names(self) -> list[str]:
        """Names of the tools offered."""
        return sorted(name.removeprefix("_tool_") for name in dir(self) if name.startswith("_tool_"))

    def inspected(self) -> list[str]:
        """Hosts ssh_inspect_host was called for, in call order (repeats included)."""
        return [args["host"] for name, args in self.calls if name == "ssh_inspect_host"]

    async def call(self, name: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """Answer like the tools server would."""
        self.calls.append((name, dict(args)))
        handler = getattr(self, f"_tool_{name}", None)
        if handler is None:
            msg = f"the MCP server offers no tool {name!r}"
            raise ToolCallFailed(msg)
        result: dict[str, Any] = handler(dict(args))
        return result

    def _tool_hosts_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = args.get("group")
        hosts = [h for h in self.hosts if group is None or group in h["groups"]]
        return {"count": len(hosts), "hosts": hosts}

    def _tool_metrics_abnormal_hosts(self, _: dict[str, Any]) -> dict[str, Any]:
        if self.store_error:
            raise ToolCallFailed(self.store_error)
        return {"hosts": [{"ip": ip, "memory_usage": 95.0, "breaches": ["memory 95%"]} for ip in self.abnormal_ips]}

    def _tool_metrics_environment(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"count": 0, "readings": []}

    def _tool_ssh_inspect_host(self, args: dict[str, Any]) -> dict[str, Any]:
        host = args["host"]
        if host in self.crash_once:
            self.crash_once.discard(host)
            msg = f"simulated crash while inspecting {host}"
            raise RuntimeError(msg)
        if host in self.failing:
            raise ToolCallFailed(self.failing[host])
        pressured = host in self.memory_pressure
        findings = [finding(host, "memory.used_percent", 96.0)] if pressured else []
        available = 4 if pressured else 60
        meminfo = {"total_bytes": 100, "available_bytes": available}
        return {"host": host, "status": "ok", "reason": None, "findings": findings, "memory": {"meminfo": meminfo}}

    def _tool_knowledge_search(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"hits": []}

    def _tool_hardware_plan_upgrade(self, args: dict[str, Any]) -> dict[str, Any]:
        if "edited_plan" in args:
            return {"problems": []}
        plan = {"action": "add", "summary": f"add 2 x 32 GiB to {args['host']}", "target_used_percent": 70}
        return {"plan": plan, "memory_used_percent": 96.0, "problems": []}

    def _tool_notify_send(self, args: dict[str, Any]) -> dict[str, Any]:
        key = args["idempotency_key"]
        status = "duplicate" if key in self.sent else "sent"
        self.sent.setdefault(key, args)
        return {"idempotency_key": key, "channel": args["channel"], "status": status}
