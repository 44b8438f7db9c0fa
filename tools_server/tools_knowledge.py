"""The `knowledge_search` tool: runbooks matching an alert, a finding or a question (read-only).

The search is CPU-bound and blocking (embedding + BM25), so it runs in a worker thread. The model and the
index are loaded once per process, on the first call; an empty index is built from the configured folders.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import BaseModel, Field

from knowledge.documents import KnowledgeError
from knowledge.search import SearchHit, search
from knowledge.settings import KnowledgeSettings
from tools_server.context import ToolInputError


class KnowledgeSearchInput(BaseModel):
    """What to look up in the runbooks."""

    query: str = Field(
        min_length=1,
        max_length=500,
        description="Alert summary, finding or question, in Chinese or English (e.g. '磁盘满了怎么办')",
    )
    k: int = Field(5, ge=1, le=20, description="How many runbooks to return, best first")
    lang: Literal["en", "zh"] | None = Field(
        None, description="Preferred runbook language on ties (default: zh if the query has Chinese, else en)"
    )


class KnowledgeSearchResult(BaseModel):
    """Runbooks found, best first, each with its best-matching section."""

    query: str
    hits: list[SearchHit]

    def summary(self) -> str:
        """One line per runbook for the MCP text content: id, score and matching section."""
        if not self.hits:
            return f"no runbook matches {self.query!r}"
        lines = [f"{len(self.hits)} runbooks for {self.query!r}:"]
        lines += [f"- {h.id} ({h.score:.2f}) {h.title} § {h.heading or 'introduction'}" for h in self.hits]
        return "\n".join(lines)


async def knowledge_search(
    args: KnowledgeSearchInput, settings: KnowledgeSettings | None = None
) -> KnowledgeSearchResult:
    """Search the runbook index; bad input (an empty query) or a malformed runbook is a ToolInputError."""
    try:
        hits = await asyncio.to_thread(search, args.query, args.k, args.lang, settings=settings)
    except KnowledgeError as exc:
        raise ToolInputError(str(exc)) from exc
    return KnowledgeSearchResult(query=args.query, hits=hits)
