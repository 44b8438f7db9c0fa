"""The persistent runbook index: one chromadb collection of section chunks, kept in step with runbook folders.

Each chunk's metadata carries what search needs without the Markdown files: runbook id, title, lang,
heading, section text, components, its keyword tokens (so the BM25 index is rebuilt from the store in a new
process, without jieba unless a query is Chinese) and the content hash of its file.

Ingest is incremental per folder: an unchanged file (same hash) is left alone, a changed one has its chunks
replaced, and a runbook indexed from this folder whose file is gone is removed. Runbooks of other folders
are untouched, so teams' folders and the built-in runbooks share one index. The hash covers FORMAT, so a
change to chunking or tokenising re-indexes everything on the next ingest.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knowledge.documents import Chunk, KnowledgeError, Runbook, RunbookError, chunk_runbook, load_folder
from knowledge.embeddings import MAX_TOKENS, MODEL_NAME, embedding_function
from knowledge.keywords import tokenize

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

log = logging.getLogger(__name__)

# Bump when chunk text composition or tokenising changes: every stored hash then differs.
FORMAT = "opswatchdog-knowledge-4"
COLLECTION = "runbooks"
_GENERATION = "generation"


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as read back from the index."""

    chunk_id: str
    runbook_id: str
    title: str
    lang: str
    heading: str
    section: str
    components: tuple[str, ...]
    symptoms: tuple[str, ...]
    header_tokens: tuple[str, ...] = field(repr=False)
    section_tokens: tuple[str, ...] = field(repr=False)

    @property
    def tokens(self) -> tuple[str, ...]:
        """Keyword tokens of the chunk: the runbook's (title, symptoms, tags, weighted) and the section's."""
        return self.header_tokens + self.section_tokens


@dataclass
class IngestReport:
    """What one ingest changed, by runbook id."""

    folder: Path
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the index was written."""
        return bool(self.added or self.updated or self.removed)


def content_hash(runbook: Runbook) -> str:
    """Hash deciding whether a runbook must be re-indexed: its bytes, the index format and the model."""
    return hashlib.sha256(f"{FORMAT}\0{MODEL_NAME}\0{MAX_TOKENS}\0{runbook.sha256}".encode()).hexdigest()


def _metadata(chunk: Chunk, runbook: Runbook, folder: Path, digest: str) -> dict[str, str | int]:
    header = [token for text, weight in chunk.keyword_fields() for token in tokenize(text) * weight]
    meta = chunk.runbook
    return {
        "runbook_id": meta.id,
        "title": meta.title,
        "lang": meta.lang,
        "heading": chunk.heading,
        "section": chunk.body,
        "ordinal": chunk.ordinal,
        "components": ",".join(meta.components),
        "symptoms": "\n".join(meta.symptoms),
        "header_tokens": " ".join(header),
        "section_tokens": " ".join(tokenize(chunk.section_text())),
        "source": str(runbook.path),
        "folder": str(folder),
        "content_hash": digest,
    }


class KnowledgeIndex:
    """A chromadb PersistentClient at `path` (telemetry off) with the runbook collection."""

    def __init__(self, path: Path) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
        self._collection: Collection = client.get_or_create_collection(
            COLLECTION,
            embedding_function=embedding_function(),  # type: ignore[arg-type]
            configuration={"hnsw": {"space": "cosine"}},
        )

    def count(self) -> int:
        """Number of chunks stored."""
        return self._collection.count()

    def generation(self) -> int:
        """Changes whenever an ingest wrote the index (the marker file's mtime), 0 before the first."""
        marker = self.path / _GENERATION
        return marker.stat().st_mtime_ns if marker.exists() else 0

    def _stored(self) -> dict[str, dict[str, Any]]:
        """Per runbook id: its folder, source, content hash and chunk ids."""
        got = self._collection.get(include=["metadatas"])
        out: dict[str, dict[str, Any]] = {}
        for chunk_id, meta in zip(got["ids"], got["metadatas"] or [], strict=True):
            entry = out.setdefault(str(meta["runbook_id"]), {"chunk_ids": [], **meta})
            entry["chunk_ids"].append(chunk_id)
        return out

    def ingest(self, folder: Path) -> IngestReport:
        """Bring the index in step with one folder of runbooks; every file is validated before anything is written."""
        folder = folder.expanduser().resolve()
        runbooks = load_folder(folder)
        if not runbooks:
            msg = f"no runbooks (*.md with front matter) found in {folder}"
            raise KnowledgeError(msg)
        stored = self._stored()
        report = IngestReport(folder=folder)
        stale: list[str] = []
        fresh: list[tuple[Chunk, Runbook, str]] = []
        for rb in runbooks:
            digest, old = content_hash(rb), stored.get(rb.meta.id)
            if old is not None and old["folder"] != str(folder) and Path(old["source"]).is_file():
                raise RunbookError(rb.path, f"runbook id {rb.meta.id!r} is already indexed from {old['source']}")
            if old is not None and old["content_hash"] == digest and old["source"] == str(rb.path):
                report.unchanged.append(rb.meta.id)
                continue
            (report.added if old is None else report.updated).append(rb.meta.id)
            stale.extend(old["chunk_ids"] if old else [])
            fresh.extend((chunk, rb, digest) for chunk in chunk_runbook(rb))
        present = {rb.meta.id for rb in runbooks}
        for rid, old in stored.items():
            if old["folder"] == str(folder) and rid not in present:
                report.removed.append(rid)
                stale.extend(old["chunk_ids"])
        if stale:
            self._collection.delete(ids=stale)
        if fresh:
            self._collection.add(
                ids=[c.chunk_id for c, _, _ in fresh],
                documents=[c.embed_text() for c, _, _ in fresh],
                metadatas=[_metadata(c, rb, folder, digest) for c, rb, digest in fresh],
            )
        if report.changed:
            (self.path / _GENERATION).write_text(f"{FORMAT}\n")
            log.info(
                "knowledge index %s: %s added, %s updated, %s removed from %s",
                self.path,
                len(report.added),
                len(report.updated),
                len(report.removed),
                folder,
            )
        return report

    def chunks(self) -> list[StoredChunk]:
        """Every stored chunk, in a stable order (runbook id, then section order)."""
        got = self._collection.get(include=["metadatas"])
        rows: list[tuple[str, Mapping[str, Any]]] = list(zip(got["ids"], got["metadatas"] or [], strict=True))
        rows.sort(key=lambda row: (str(row[1]["runbook_id"]), int(row[1]["ordinal"])))
        return [
            StoredChunk(
                chunk_id=chunk_id,
                runbook_id=str(m["runbook_id"]),
                title=str(m["title"]),
                lang=str(m["lang"]),
                heading=str(m["heading"]),
                section=str(m["section"]),
                components=tuple(c for c in str(m["components"]).split(",") if c),
                symptoms=tuple(s for s in str(m["symptoms"]).split("\n") if s),
                header_tokens=tuple(str(m["header_tokens"]).split()),
                section_tokens=tuple(str(m["section_tokens"]).split()),
            )
            for chunk_id, m in rows
        ]

    def nearest(self, text: str, n: int) -> list[tuple[str, float]]:
        """The n chunks nearest to `text` by embedding, as (chunk id, cosine distance), nearest first."""
        n = min(n, self.count())
        if n <= 0:
            return []
        got = self._collection.query(query_texts=[text], n_results=n, include=["distances"])
        distances = got["distances"][0] if got["distances"] else [0.0] * n
        return list(zip(got["ids"][0], (float(d) for d in distances), strict=True))
