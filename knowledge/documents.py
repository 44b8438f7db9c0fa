"""Runbook files: YAML front matter validated with pydantic, the Markdown body chunked by `##` heading.

A runbook is `---` + front matter (id = file stem, title, lang en|zh, components, symptoms, tags) + `---`,
then `# Title` and `##` sections. Each section becomes a chunk whose indexed text folds in the runbook's
title, symptoms and tags, so a section matches on what the runbook is about as well as on its own words.
Every problem with a file is a RunbookError naming the file and what is wrong.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_FENCE = re.compile(r"^\s*(```|~~~)")
_H1 = re.compile(r"^#\s+\S")
_H2 = re.compile(r"^##\s+(.+?)\s*#*\s*$")
# Files in a runbook folder that are documentation about the folder, not runbooks.
SKIPPED_NAMES = frozenset({"readme.md", "index.md", "catalog.md"})


def _scalar_text(value: object) -> object:
    """YAML reads `tags: [nginx, 502]` with 502 as a number: keep numbers as the text that was written."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


Text = Annotated[str, BeforeValidator(_scalar_text)]


class KnowledgeError(ValueError):
    """Input the knowledge index refuses; the message says what was wrong and what to do."""


class RunbookError(KnowledgeError):
    """A runbook file that cannot be indexed: names the file and the problem."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class FrontMatter(BaseModel):
    """The runbook's YAML header; unknown keys are refused so a typo (`symptom:`) is not silently lost."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    id: str = Field(pattern=ID_PATTERN, description="Lowercase words joined by '-', equal to the file stem")
    title: Text = Field(min_length=1)
    lang: Literal["en", "zh"]
    components: list[Text] = Field(default_factory=list)
    symptoms: list[Text] = Field(default_factory=list, description="Alert texts, log lines, phrases operators use")
    tags: list[Text] = Field(default_factory=list)


@dataclass(frozen=True)
class Section:
    """One `##` section of a runbook body (heading "" for text before the first `##`)."""

    heading: str
    body: str


@dataclass(frozen=True)
class Runbook:
    """A parsed runbook file."""

    meta: FrontMatter
    path: Path
    sections: tuple[Section, ...]
    sha256: str


@dataclass(frozen=True)
class Chunk:
    """One section of a runbook with the runbook's identity: the unit that is embedded and keyword-indexed."""

    runbook: FrontMatter
    ordinal: int
    heading: str
    body: str

    @property
    def chunk_id(self) -> str:
        """Stable id of the chunk in the index: `<runbook id>#<ordinal>`."""
        return f"{self.runbook.id}#{self.ordinal}"

    def embed_text(self) -> str:
        """Text given to the embedding model: what the runbook is about first, since the model truncates."""
        meta = self.runbook
        head = [meta.title, "; ".join(meta.symptoms), ", ".join(meta.tags + meta.components), self.heading]
        return "\n".join([line for line in head if line] + [self.body])

    def keyword_fields(self) -> list[tuple[str, int]]:
        """The runbook's texts for BM25 with their repeat weights, the same for each of its chunks."""
        meta = self.runbook
        return [
            (meta.title, 3),
            ("\n".join(meta.symptoms), 2),
            (" ".join([*meta.tags, *meta.components, meta.id]), 2),
        ]

    def section_text(self) -> str:
        """The section's own words for BM25: its heading and body."""
        return f"{self.heading}\n{self.body}"


def _split_front_matter(path: Path, text: str) -> tuple[str, str, int]:
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        raise RunbookError(path, "no front matter: the file must start with a line '---', then id, title, lang ...")
    for i, line in enumerate(lines[1:], start=1):
        if line.rstrip() in ("---", "..."):
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1 :]), i + 1
    raise RunbookError(path, "front matter is not closed: add a line '---' after it")


def _parse_meta(path: Path, header: str) -> FrontMatter:
    try:
        data = yaml.safe_load(header)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        # +2: the header starts on the file's second line and YAML counts from 0.
        where = f" at line {mark.line + 2}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        if "mapping values are not allowed" in problem:
            problem += " (put a value containing ': ' in quotes)"
        raise RunbookError(path, f"front matter is not valid YAML{where}: {problem}") from exc
    if not isinstance(data, dict):
        raise RunbookError(path, "front matter must be a YAML mapping (id: ..., title: ..., lang: en|zh, ...)")
    try:
        meta = FrontMatter.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'front matter'}: {err['msg']}" for err in exc.errors()
        )
        raise RunbookError(path, f"invalid front matter: {problems}") from exc
    if meta.id != path.stem:
        raise RunbookError(path, f"id {meta.id!r} must equal the file name without .md ({path.stem!r})")
    return meta


def split_sections(body: str) -> list[Section]:
    """Split a Markdown body at `##` headings outside code fences, dropping the `# Title` line."""
    sections: list[Section] = []
    lines: list[str] = []
    heading, fenced = "", False
    for line in body.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and (m := _H2.match(line)):
            sections.append(Section(heading, "\n".join(lines).strip()))
            heading, lines = m.group(1), []
            continue
        elif not fenced and not sections and not heading and _H1.match(line):
            continue
        lines.append(line)
    sections.append(Section(heading, "\n".join(lines).strip()))
    return [s for s in sections if s.body or s.heading]


def parse_runbook(path: Path, data: bytes | None = None) -> Runbook:
    """Read and validate one runbook file; any problem is a RunbookError naming the file."""
    try:
        raw = path.read_bytes() if data is None else data
    except OSError as exc:
        raise RunbookError(path, f"cannot read: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8").lstrip("\ufeff").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        raise RunbookError(path, f"not UTF-8 text (byte {exc.start})") from exc
    header, body, _ = _split_front_matter(path, text)
    meta = _parse_meta(path, header)
    sections = tuple(s for s in split_sections(body) if s.body)
    if not sections:
        raise RunbookError(path, "no content after the front matter: add '# Title' and '##' sections")
    return Runbook(meta=meta, path=path, sections=sections, sha256=hashlib.sha256(raw).hexdigest())


def chunk_runbook(runbook: Runbook) -> list[Chunk]:
    """The runbook's sections as chunks, in file order."""
    return [Chunk(runbook.meta, i, s.heading, s.body) for i, s in enumerate(runbook.sections)]


def runbook_files(folder: Path) -> list[Path]:
    """Markdown files under `folder` (recursively, hidden folders and README/index files skipped), sorted."""
    if not folder.is_dir():
        msg = f"runbook folder {folder} does not exist or is not a folder"
        raise KnowledgeError(msg)
    files = (
        p
        for p in folder.rglob("*.md")
        if p.is_file()
        and p.name.lower() not in SKIPPED_NAMES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    return sorted(files)


def load_folder(folder: Path) -> list[Runbook]:
    """Parse every runbook of a folder; fails on the first bad file or on an id used twice."""
    runbooks = [parse_runbook(p) for p in runbook_files(folder)]
    check_unique(runbooks)
    return runbooks


def check_unique(runbooks: Iterable[Runbook]) -> None:
    """Refuse two files with the same runbook id, naming both."""
    seen: dict[str, Path] = {}
    for rb in runbooks:
        if rb.meta.id in seen:
            raise RunbookError(rb.path, f"runbook id {rb.meta.id!r} is also used by {seen[rb.meta.id]}")
        seen[rb.meta.id] = rb.path
