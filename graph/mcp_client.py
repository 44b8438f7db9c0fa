"""The graph's only way to the ops tools: one long-lived MCP session, opened through langchain-mcp-adapters.

The graph never imports tools_server: it runs unchanged against a local stdio server or a remote
streamable-http one. A call returns the tool's structured JSON (the MCP structuredContent), checked against the
tool's output schema by a validator compiled once per tool (graph/tool_schemas.py). The request goes out with
the session's public `send_request`, as `ClientSession.call_tool` does, but without its per-call validation,
which rebuilds the jsonschema validator every time.

Error policy: a tool error (`isError`) raises ToolCallFailed with the server's message; content that breaks
the output schema raises ToolOutputInvalid (a ToolCallFailed, so nodes record it like any tool failure);
transport faults (a closed pipe, an MCP protocol error) raise as the session raises them. Closing the session
cuts off the calls still in flight with ToolCallFailed, and the transport's own shutdown errors are logged, not
raised.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
from langchain_mcp_adapters.sessions import Connection, create_session
from mcp import ClientSession, types

from graph.tool_errors import ToolCallFailed, ToolOutputInvalid
from graph.tool_schemas import OutputValidators

__all__ = ["McpTools", "ToolCallFailed", "ToolOutputInvalid", "open_tools"]

log = logging.getLogger(__name__)
# What the stdio transport raises when a session closes under calls in flight: the server answers a request
# after the session stopped reading (mcp's stdout reader meets a closed stream), or a pipe closes mid-write.
SHUTDOWN_ERRORS = (anyio.BrokenResourceError, anyio.ClosedResourceError, BrokenPipeError, ConnectionResetError)


class McpTools:
    """The tools of one MCP session by name, with a call that returns the validated structured result."""

    def __init__(self, session: ClientSession, tools: list[types.Tool]) -> None:
        self.session = session
        self.definitions: dict[str, types.Tool] = {t.name: t for t in tools}
        self.validators = OutputValidators({t.name: t.outputSchema for t in tools})
        self.closed = False
        self._requests: set[asyncio.Task[types.CallToolResult]] = set()
        self._closing: asyncio.Future[None] | None = None  # done once the session closes: wakes calls in flight

    @classmethod
    async def load(cls, session: ClientSession) -> McpTools:
        """List the server's tools (every page) on an initialised session."""
        tools: list[types.Tool] = []
        cursor: str | None = None
        while True:
            params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await session.list_tools(params=params)
            tools += page.tools
            cursor = page.nextCursor
            if not cursor:
                return cls(session, tools)

    def names(self) -> list[str]:
        """Names of the tools the server offers."""
        return sorted(self.definitions)

    async def call(self, name: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """Call tool `name` and return its structured content (raises ToolCallFailed on a tool error)."""
        if name not in self.definitions:
            msg = f"the MCP server offers no tool {name!r} (it has {', '.join(self.names())})"
            raise ToolCallFailed(msg)
        if self.closed:
            msg = f"tool {name} not called: the MCP tools session is closed"
            raise ToolCallFailed(msg)
        params = types.CallToolRequestParams(name=name, arguments=dict(args))
        request = types.ClientRequest(types.CallToolRequest(params=params))
        result = await self._send(name, request)
        if result.isError:
            raise ToolCallFailed(_text(result.content) or f"tool {name} failed without a message")
        self.validators.check(name, result.structuredContent)
        if result.structuredContent is None:
            msg = f"tool {name} returned no structured content: {_text(result.content)[:200]}"
            raise ToolCallFailed(msg)
        return dict(result.structuredContent)

    async def _send(self, name: str, request: types.ClientRequest) -> types.CallToolResult:
        # The request runs in a task of its own so that close() can wake the caller: once the session stops
        # reading, nothing would ever answer it (mcp fails pending requests only when its reader ends normally).
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_future()
        sent = asyncio.create_task(self.session.send_request(request, types.CallToolResult))
        self._requests.add(sent)
        try:
            await asyncio.wait((sent, self._closing), return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._requests.discard(sent)
            if not sent.done():  # the caller was cancelled or the session is closing: drop the request
                sent.cancel()
                sent.add_done_callback(_forget)
        answered = sent.done() and not sent.cancelled()
        if answered and sent.exception() is None:
            return sent.result()
        if self.closed:
            msg = f"tool {name} cut off: the MCP tools session closed while the call was in flight"
            raise ToolCallFailed(msg) from (sent.exception() if answered else None)
        return sent.result()

    def close(self) -> int:
        """Refuse new calls and cut off those in flight (they raise ToolCallFailed); returns how many were."""
        self.closed = True
        if self._closing is not None and not self._closing.done():
            self._closing.set_result(None)
        return len(self._requests)


def _forget(task: asyncio.Task[Any]) -> None:
    # A dropped request's outcome interests nobody; reading it keeps asyncio from logging it as never retrieved.
    if not task.cancelled():
        task.exception()


def _text(content: list[types.ContentBlock]) -> str:
    return " ".join(block.text for block in content if isinstance(block, types.TextContent))


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc


@asynccontextmanager
async def open_tools(connection: Connection) -> AsyncIterator[McpTools]:
    """Open one MCP session for the whole run and yield its tools; closing it cuts off the calls in flight."""
    closing, in_flight = False, 0
    try:
        async with create_session(connection) as session:
            await session.initialize()
            tools = await McpTools.load(session)
            try:
                yield tools
                closing = True
            except asyncio.CancelledError:  # the owner is cancelled, or the transport died under the session
                closing = True
                raise
            finally:
                in_flight = tools.close()
    except (*SHUTDOWN_ERRORS, BaseExceptionGroup) as exc:
        # Only the transport's shutdown noise of a closing session is expected; anything else is a fault.
        noise = list(_leaves(exc))
        if not closing or not all(isinstance(e, SHUTDOWN_ERRORS) for e in noise):
            raise
        names = ", ".join(sorted({type(e).__name__ for e in noise}))
        log.warning("MCP tools session closed while calls were in flight (%d cut off); ignored: %s", in_flight, names)
        task = asyncio.current_task()
        if task is not None and task.cancelling():  # the transport's errors replaced our owner's cancellation
            raise asyncio.CancelledError from None
        return
    if in_flight:
        log.warning("MCP tools session closed while calls were in flight (%d cut off)", in_flight)
