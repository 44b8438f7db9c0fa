"""The MCP client's exceptions: a tool call that gave no usable result, and why."""

from __future__ import annotations


class ToolCallFailed(RuntimeError):
    """An MCP tool answered with an error (bad input, unknown host): the message is the server's.

    Nodes record it as data (a host outcome, a line in the run's errors), never as a failed run.
    """


class ToolOutputInvalid(ToolCallFailed):
    """A tool's structured content breaks its declared output schema (or the schema itself is unusable)."""
