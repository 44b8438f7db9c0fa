"""Settings of the runbook knowledge index, nested in the main Settings as `knowledge` (OPSWD_KNOWLEDGE__...).

Defaults:
- index_path `var/opswatchdog/knowledge`, relative to the working directory like the metrics store's
  `var/opswatchdog/metrics.db`: one `var/opswatchdog/` folder holds all local state of a checkout or a
  container workdir (and `/var/` is git-ignored).
- runbook_dirs: the runbooks shipped with the package. Teams add their own folders of Markdown here
  (OPSWD_KNOWLEDGE__RUNBOOK_DIRS='["knowledge/runbooks", "/srv/team-runbooks"]').
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

BUILTIN_RUNBOOKS = Path(__file__).resolve().parent / "runbooks"
DEFAULT_INDEX_PATH = Path("var/opswatchdog/knowledge")


class KnowledgeSettings(BaseModel):
    """Where the runbook index lives, which folders feed it, and how many hits a search returns."""

    index_path: Path = Field(DEFAULT_INDEX_PATH, description="Folder of the chromadb index (created on first use)")
    runbook_dirs: list[Path] = Field(
        default_factory=lambda: [BUILTIN_RUNBOOKS],
        min_length=1,
        description="Folders of Markdown runbooks indexed when the index is built or `knowledge ingest` runs",
    )
    default_k: int = Field(5, ge=1, le=20, description="Runbooks a search returns when k is not given")
