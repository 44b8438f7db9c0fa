"""The checkpointer that langgraph.json's `checkpointer` key points at, for `langgraph dev` and Agent Server.

What the installed langgraph-cli 0.4.40 / langgraph-api 0.16.7 (langgraph-runtime-inmem 0.36.7) do,
read from their source:

- langgraph.json accepts `"checkpointer": {"path": "...", "ttl": {...}, "serde": {...}}`
  (`langgraph_cli.schemas.CheckpointerConfig`). The CLI passes it to the server as the JSON env var
  `LANGGRAPH_CHECKPOINTER`; a config with `path` gets `backend="custom"` and replaces the built-in
  checkpointer (`langgraph_api.config._parse.parse_checkpointer`).
- `path` is either a file path with a colon, `"./checkpoints/server.py:make_checkpointer"`, or a dotted
  path whose last dot separates the attribute, `"checkpoints.server.make_checkpointer"`
  (`langgraph_api._checkpointer._adapter._load_checkpointer`). The form in the schema docstring,
  `"package.module:attr"`, does NOT load: a module path is split at its last dot, not at a colon.
- The object may be a saver, a coroutine, a context manager or a callable returning one of those; the
  server enters it once per event loop (a thread-local AsyncExitStack) and closes it at shutdown, so an
  `@asynccontextmanager` factory owns the pool's lifetime. It warns at start-up about missing optional
  methods (`adelete_for_runs`, `acopy_thread`, `aprune`): AsyncPostgresSaver lacks some, which only
  disables run rollback clean-up and history pruning.
- Checkpoints then go to our store; `langgraph dev`'s own runs/threads metadata still lives in its
  in-memory pickles. Checked with a live `langgraph dev`: a thread ran to an interrupt and resumed through
  langgraph-sdk, its checkpoints in Postgres. `langgraph build` rewrites a `./file.py:attr` path for the image.

So langgraph.json carries `"checkpointer": {"path": "./checkpoints/server.py:make_checkpointer"}` and the
store is chosen by OPSWD_CHECKPOINTS__URL (and OPSWD_CHECKPOINTS__PASSWORD), read when the server starts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from checkpoints import checkpoint_settings_from_env, open_checkpointer


@asynccontextmanager
async def make_checkpointer() -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """Yield the saver configured by OPSWD_CHECKPOINTS__* for the LangGraph server's lifetime."""
    async with open_checkpointer(checkpoint_settings_from_env()) as saver:
        yield saver
