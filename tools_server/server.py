"""The FastMCP server: registers each plain tool function once, with its input model and annotations.

Transports: stdio, and streamable-http bound to 127.0.0.1 by default behind a bearer token. Logs go to
stderr because stdout is the stdio protocol. Only intended error text reaches clients: ToolInputError
messages pass through; anything unexpected is logged here and reported as an internal error.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from enum import StrEnum
from typing import Annotated, Any

from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from tools_server.context import ToolContext, ToolInputError
from tools_server.inspection import HostReport
from tools_server.local_status import LocalStatus, local_server_status
from tools_server.logs import LogsTailInput, LogsTailResult, logs_tail
from tools_server.metrics import tools as metrics_tools
from tools_server.metrics.protocol import MetricsStoreError
from tools_server.settings import Settings
from tools_server.summaries import summarise
from tools_server.tools import (
    HostInput,
    HostsListInput,
    HostsListResult,
    InspectHostInput,
    ParseOutputInput,
    ParseOutputResult,
    hosts_list,
    parse_output,
    ssh_inspect_disk,
    ssh_inspect_host,
    ssh_inspect_memory,
    ssh_inspect_system,
)
from tools_server.tools_fleet import (
    CollectResult,
    FleetSelection,
    PlanUpgradeInput,
    PlanUpgradeResult,
    ServicesCheckResult,
    hardware_plan_upgrade,
    metrics_collect,
    services_check,
)
from tools_server.tools_knowledge import KnowledgeSearchInput, KnowledgeSearchResult, knowledge_search
from tools_server.tools_notify import NotifySendInput, NotifySendResult, notify_send

log = logging.getLogger(__name__)


class ToolName(StrEnum):
    """Every tool the server offers (MCP names: area_verb)."""

    HOSTS_LIST = "hosts_list"
    SSH_INSPECT_MEMORY = "ssh_inspect_memory"
    SSH_INSPECT_DISK = "ssh_inspect_disk"
    SSH_INSPECT_SYSTEM = "ssh_inspect_system"
    SSH_INSPECT_HOST = "ssh_inspect_host"
    PARSE_OUTPUT = "parse_output"
    LOCAL_SERVER_STATUS = "local_server_status"
    LOGS_TAIL = "logs_tail"
    METRICS_ABNORMAL_HOSTS = "metrics_abnormal_hosts"
    METRICS_HOST_HISTORY = "metrics_host_history"
    METRICS_ENVIRONMENT = "metrics_environment"
    METRICS_SERVICE_STATUS = "metrics_service_status"
    METRICS_COLLECT = "metrics_collect"
    SERVICES_CHECK = "services_check"
    HARDWARE_PLAN_UPGRADE = "hardware_plan_upgrade"
    NOTIFY_SEND = "notify_send"
    KNOWLEDGE_SEARCH = "knowledge_search"


# Tools that write rows into the metrics store. They change nothing on any host (destructiveHint false),
# but they are not read-only, and say so in their description.
WRITES_STORE = frozenset({ToolName.METRICS_COLLECT, ToolName.SERVICES_CHECK, ToolName.NOTIFY_SEND})
# Sending twice with one idempotency key sends once; the webhook reaches beyond this machine.
IDEMPOTENT_OPEN_WORLD = frozenset({ToolName.NOTIFY_SEND})


class NoInput(BaseModel):
    """A tool without arguments."""


def _signature_from(model: type[BaseModel], output: type[BaseModel]) -> inspect.Signature:
    """A flat keyword signature from the input model, so MCP clients see plain named arguments."""
    params = []
    for name, field in model.model_fields.items():
        default = inspect.Parameter.empty if field.is_required() else field.get_default(call_default_factory=True)
        annotation = Annotated[field.annotation, Field(description=field.description)]  # type: ignore[name-defined]
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation))
    return inspect.Signature(params, return_annotation=Annotated[CallToolResult, output])


def _register(
    mcp: FastMCP,
    name: ToolName,
    description: str,
    input_model: type[BaseModel],
    output_model: type[BaseModel],
    call: Callable[[BaseModel], Awaitable[BaseModel]],
) -> None:
    async def handler(**kwargs: Any) -> CallToolResult:
        args = input_model.model_validate(kwargs)
        try:
            result = await call(args)
        except (ToolInputError, MetricsStoreError) as exc:
            raise ToolError(str(exc)) from exc
        except Exception as exc:
            log.exception("tool %s failed unexpectedly", name)
            msg = f"internal error in {name}; the tools server log has the details"
            raise ToolError(msg) from exc
        return CallToolResult(
            content=[TextContent(type="text", text=summarise(result))],
            structuredContent=result.model_dump(mode="json"),
        )

    handler.__name__ = name.value
    handler.__doc__ = description
    handler.__signature__ = _signature_from(input_model, output_model)  # type: ignore[attr-defined]
    mcp.add_tool(
        handler,
        name=name.value,
        description=description,
        annotations=ToolAnnotations(
            readOnlyHint=name not in WRITES_STORE,
            destructiveHint=False,
            idempotentHint=name in IDEMPOTENT_OPEN_WORLD,
            openWorldHint=name in IDEMPOTENT_OPEN_WORLD,
        ),
        structured_output=True,
    )


def build_server(settings: Settings, ctx: ToolContext | None = None) -> tuple[FastMCP, ToolContext]:
    """Create the FastMCP server with every tool registered against one shared ToolContext."""
    ctx = ctx or ToolContext.from_settings(settings)

    @asynccontextmanager
    async def lifespan(_: FastMCP) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await ctx.aclose()

    mcp = FastMCP(
        "opswatchdog",
        instructions="Read-only fleet inspection tools of OpsWatchdog.",
        host=settings.mcp_host,
        port=settings.mcp_port,
        log_level="WARNING",
        lifespan=lifespan,
    )
    th = settings.thresholds

    def bind(
        fn: Callable[[ToolContext, Any], Awaitable[BaseModel]],
    ) -> Callable[[BaseModel], Awaitable[BaseModel]]:
        return lambda args: fn(ctx, args)

    async def local(_: BaseModel) -> BaseModel:
        return await asyncio.to_thread(local_server_status, th)

    def store_tool(fn: Callable[..., Awaitable[BaseModel]]) -> Callable[[BaseModel], Awaitable[BaseModel]]:
        return lambda args: fn(ctx.store, args, settings.metrics)

    table: list[tuple[ToolName, str, type[BaseModel], type[BaseModel], Callable[[BaseModel], Awaitable[BaseModel]]]]
    table = [
        (
            ToolName.HOSTS_LIST,
            "List inventory hosts (optionally by group or tag): name, SSH address, and the IP the metrics store "
            "and alert labels know each host by (metrics_ip).",
            HostsListInput,
            HostsListResult,
            bind(hosts_list),
        ),
        (
            ToolName.SSH_INSPECT_MEMORY,
            "Inspect a host's memory over SSH: usage, swap, DIMM slots and modules, "
            "board, top processes by RSS; returns findings.",
            HostInput,
            HostReport,
            bind(ssh_inspect_memory),
        ),
        (
            ToolName.SSH_INSPECT_DISK,
            "Inspect a host's disks over SSH: filesystem space and inodes, block devices, "
            "SMART health of each disk; returns findings.",
            HostInput,
            HostReport,
            bind(ssh_inspect_disk),
        ),
        (
            ToolName.SSH_INSPECT_SYSTEM,
            "Inspect a host's uptime, load and CPU count over SSH.",
            HostInput,
            HostReport,
            bind(ssh_inspect_system),
        ),
        (
            ToolName.SSH_INSPECT_HOST,
            "Inspect memory, disk and system of a host in one SSH connection; an "
            "unreachable host is reported as a finding.",
            InspectHostInput,
            HostReport,
            bind(ssh_inspect_host),
        ),
        (
            ToolName.PARSE_OUTPUT,
            "Parse pasted output of free, meminfo, dmidecode, ps, df, lsblk or smartctl into a typed model.",
            ParseOutputInput,
            ParseOutputResult,
            bind(parse_output),
        ),
        (
            ToolName.LOCAL_SERVER_STATUS,
            "CPU, memory, swap and disk status of the machine running this server.",
            NoInput,
            LocalStatus,
            local,
        ),
        (
            ToolName.LOGS_TAIL,
            "Last N lines of an allowlisted log file on a host, optionally filtered by a keyword.",
            LogsTailInput,
            LogsTailResult,
            bind(logs_tail),
        ),
    ]
    mt = metrics_tools
    table += [
        (
            ToolName.METRICS_ABNORMAL_HOSTS,
            "Hosts whose latest sample in a time window is over the CPU, memory or "
            "disk threshold, or has an 异常/丢失 status, from the metrics store.",
            mt.AbnormalHostsInput,
            mt.AbnormalHostsResult,
            store_tool(mt.metrics_abnormal_hosts),
        ),
        (
            ToolName.METRICS_HOST_HISTORY,
            "One host's CPU, memory and disk usage over a time window, oldest first.",
            mt.HostHistoryInput,
            mt.HostHistoryResult,
            store_tool(mt.metrics_host_history),
        ),
        (
            ToolName.METRICS_ENVIRONMENT,
            "Machine-room temperature, humidity and UPS readings outside the limits in a time window.",
            mt.EnvironmentInput,
            mt.EnvironmentResult,
            store_tool(mt.metrics_environment),
        ),
        (
            ToolName.METRICS_SERVICE_STATUS,
            "Service check history (port and process status) in a time window.",
            mt.ServiceStatusInput,
            mt.ServiceStatusResult,
            store_tool(mt.metrics_service_status),
        ),
        (
            ToolName.METRICS_COLLECT,
            "Sample CPU, memory and disk of inventory hosts over SSH and WRITE one row per "
            "host into the metrics store (changes nothing on the hosts).",
            FleetSelection,
            CollectResult,
            bind(metrics_collect),
        ),
        (
            ToolName.SERVICES_CHECK,
            "Check the platform services of inventory hosts (TCP port, process, HTTP health) "
            "and WRITE the batch into the metrics store (changes nothing on the hosts).",
            FleetSelection,
            ServicesCheckResult,
            bind(services_check),
        ),
        (
            ToolName.HARDWARE_PLAN_UPGRADE,
            "Inspect a host's memory and plan an upgrade checked against its board "
            "(type, speed, ECC/registered, slots, maxima); or re-validate a human-edited plan.",
            PlanUpgradeInput,
            PlanUpgradeResult,
            bind(hardware_plan_upgrade),
        ),
        (
            ToolName.KNOWLEDGE_SEARCH,
            "Search the team's runbooks (zh and en) for an alert, a finding or a question; returns runbook id, "
            "title, language, the matching section and a score.",
            KnowledgeSearchInput,
            KnowledgeSearchResult,
            lambda args: knowledge_search(args, settings.knowledge),  # type: ignore[arg-type]
        ),
        (
            ToolName.NOTIFY_SEND,
            "Send a message to the team (file outbox or JSON webhook) exactly once per idempotency key: a repeated "
            "key answers `duplicate` and sends nothing. WRITES the outbox.",
            NotifySendInput,
            NotifySendResult,
            lambda args: notify_send(settings.notify, args),  # type: ignore[arg-type]
        ),
    ]
    for name, description, input_model, output_model, call in table:
        _register(mcp, name, description, input_model, output_model, call)
    return mcp, ctx
