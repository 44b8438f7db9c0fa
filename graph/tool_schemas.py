"""Output-schema checks of MCP tool results: one compiled validator per tool, built on first use.

mcp 1.x's `ClientSession.call_tool` validates every result with `jsonschema.validate`, which checks the schema
against its metaschema and builds a new validator on each call: ~75 ms for one `ssh_inspect_host` report, ~98 %
of the client's CPU in a 500-host incident. Here each tool's schema is compiled once, with jsonschema-rs (it
comes with langgraph-api; ~0.1 ms a report) or, without it, with jsonschema (~7.5 ms a report). Only `$ref`s
inside the schema document resolve, as in mcp: validation never reaches the network.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from jsonschema import Draft202012Validator, SchemaError
from jsonschema.exceptions import relevance
from jsonschema.validators import validator_for
from referencing import Registry
from referencing.exceptions import Unresolvable

from graph.tool_errors import ToolOutputInvalid

try:
    import jsonschema_rs

    HAVE_RUST = True
except ImportError:  # pragma: no cover - langgraph-api requires it; the pure-Python validator still works
    HAVE_RUST = False

Backend = Literal["rust", "python"]
Problems = Callable[[Any], list[tuple[str, str]]]  # instance -> [(JSON path, message)], empty when valid
_MAX_MESSAGE = 300


class SchemaUnusable(ValueError):
    """A declared output schema that cannot be compiled or whose `$ref` does not resolve in the document."""


def _refuse_remote(uri: str) -> Any:
    msg = f"remote $ref {uri} refused: output schemas must be self-contained"
    raise ValueError(msg)


def _json_path(parts: list[str | int]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def compile_rust(schema: dict[str, Any]) -> Problems:
    """Compile with jsonschema-rs (draft from `$schema`, 2020-12 by default)."""
    if not HAVE_RUST:  # pragma: no cover
        msg = "jsonschema-rs is not installed"
        raise SchemaUnusable(msg)
    try:
        validator = jsonschema_rs.validator_for(schema, retriever=_refuse_remote)
    except ValueError as exc:
        raise SchemaUnusable(str(exc).split("\n", 1)[0]) from exc

    def problems(instance: Any) -> list[tuple[str, str]]:
        if validator.is_valid(instance):
            return []
        return [(_json_path(e.instance_path), e.message) for e in validator.iter_errors(instance)]

    return problems


def compile_python(schema: dict[str, Any]) -> Problems:
    """Compile with jsonschema (the metaschema check runs once, here)."""
    cls = validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise SchemaUnusable(exc.message) from exc
    validator = cls(schema, registry=Registry())

    def problems(instance: Any) -> list[tuple[str, str]]:
        try:
            errors = sorted(validator.iter_errors(instance), key=relevance)
        except Unresolvable as exc:
            msg = f"a $ref does not resolve: {exc}"
            raise SchemaUnusable(msg) from exc
        return [(e.json_path, e.message) for e in errors]

    return problems


COMPILERS: dict[Backend, Callable[[dict[str, Any]], Problems]] = {"python": compile_python}
if HAVE_RUST:
    COMPILERS["rust"] = compile_rust


class OutputValidators:
    """The output schemas of a server's tools by name, each compiled once, on the tool's first result."""

    def __init__(self, schemas: Mapping[str, dict[str, Any] | None], backend: Backend | None = None) -> None:
        self._schemas = dict(schemas)
        self._compile = COMPILERS[backend or ("rust" if "rust" in COMPILERS else "python")]
        self._compiled: dict[str, Problems] = {}

    def has_schema(self, tool: str) -> bool:
        """True when the tool declares an output schema."""
        return self._schemas.get(tool) is not None

    def compiled(self, tool: str) -> Problems | None:
        """The tool's compiled check (None without a schema); raises ToolOutputInvalid for an unusable schema."""
        compiled = self._compiled.get(tool)
        schema = self._schemas.get(tool)
        if compiled is None and schema is not None:
            try:
                compiled = self._compiled[tool] = self._compile(schema)
            except SchemaUnusable as exc:
                msg = f"tool {tool} declares an unusable output schema: {_short(str(exc))}"
                raise ToolOutputInvalid(msg) from exc
        return compiled

    def check(self, tool: str, structured: dict[str, Any] | None) -> None:
        """Raise ToolOutputInvalid when `structured` does not match the tool's output schema."""
        compiled = self.compiled(tool)
        if compiled is None:
            return
        if structured is None:
            msg = f"tool {tool} declares an output schema but returned no structured content"
            raise ToolOutputInvalid(msg)
        try:
            problems = compiled(structured)
        except SchemaUnusable as exc:
            msg = f"tool {tool} declares an unusable output schema: {_short(str(exc))}"
            raise ToolOutputInvalid(msg) from exc
        if problems:
            (path, message), more = problems[0], len(problems) - 1
            msg = f"tool {tool} returned content that breaks its output schema at {path}: {_short(message)}"
            raise ToolOutputInvalid(msg + (f" (and {more} more)" if more else ""))


def _short(text: str) -> str:
    # Validation messages quote the offending value, which can be a whole report.
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + "…"
