"""logs_tail: the last lines of an allowlisted log file on a host, with an optional keyword filter.

The keyword is applied here, on the client, so no pattern from a caller ever reaches a remote shell.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools_server.catalog import MAX_TAIL_LINES, CatalogError, log_tail
from tools_server.context import ToolContext, ToolInputError
from tools_server.ssh import SshError

MAX_LINE_CHARS = 2000


class LogsTailInput(BaseModel):
    """Which log to read and how much of it."""

    host: str = Field(description="Host name as listed by hosts_list")
    path: str = Field(description="Absolute path of a log file under the allowed log roots, e.g. /var/log/syslog")
    lines: int = Field(200, ge=1, le=MAX_TAIL_LINES, description="How many last lines to read")
    keyword: str | None = Field(None, max_length=200, description="Keep only lines containing this (case-insensitive)")


class LogsTailResult(BaseModel):
    """The lines read (after filtering) or why none could be read."""

    host: str
    path: str
    status: str = Field(description="ok, no_data, or the SSH/command failure")
    reason: str | None = None
    lines_read: int = 0
    lines: list[str] = []


async def logs_tail(ctx: ToolContext, args: LogsTailInput) -> LogsTailResult:
    """Read the last lines of a log file on a host through the catalog's `tail`."""
    host = ctx.host(args.host)
    try:
        cmd = log_tail(args.path, args.lines, ctx.settings.log_roots)
    except CatalogError as exc:
        raise ToolInputError(str(exc)) from exc
    try:
        async with ctx.ssh.connection(host) as conn:
            result = (await ctx.ssh.run_batch(conn, [cmd])).get(cmd.key)
    except SshError as exc:
        return LogsTailResult(host=host.name, path=args.path, status=exc.status, reason=str(exc))
    if result is None or result.exit_status != 0:
        why = result.output.strip()[:300] if result else "no output"
        return LogsTailResult(host=host.name, path=args.path, status="error", reason=why)
    raw = result.output.splitlines()
    needle = (args.keyword or "").lower()
    kept = [line[:MAX_LINE_CHARS] for line in raw if needle in line.lower()]
    return LogsTailResult(
        host=host.name, path=args.path, status="ok" if kept else "no_data", lines_read=len(raw), lines=kept
    )
