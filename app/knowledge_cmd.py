"""The `opswatchdog knowledge` commands: `ingest` runbook folders into the index, `search` it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from knowledge.documents import KnowledgeError
from knowledge.settings import KnowledgeSettings


def _settings(index: Path | None) -> KnowledgeSettings:
    from tools_server.settings import Settings

    cfg = Settings().knowledge
    return cfg.model_copy(update={"index_path": index}) if index else cfg


def _ingest(args: argparse.Namespace) -> int:
    from knowledge.index import KnowledgeIndex

    cfg = _settings(args.index)
    folders: list[Path] = args.dirs or cfg.runbook_dirs
    try:
        index = KnowledgeIndex(cfg.index_path.expanduser())
        for folder in folders:
            report = index.ingest(folder)
            counts = (
                f"{len(report.added)} added, {len(report.updated)} updated, "
                f"{len(report.removed)} removed, {len(report.unchanged)} unchanged"
            )
            print(f"{report.folder}: {counts}")
            for label, ids in (("added", report.added), ("updated", report.updated), ("removed", report.removed)):
                if ids:
                    print(f"  {label}: {', '.join(ids)}")
    except KnowledgeError as exc:
        print(f"opswatchdog knowledge ingest: {exc}", file=sys.stderr)
        return 1
    print(f"index: {index.path} ({index.count()} sections)")
    return 0


def _excerpt(section: str, lines: int = 3, width: int = 110) -> list[str]:
    text = [line.strip() for line in section.splitlines() if line.strip() and not line.strip().startswith("```")]
    return [line if len(line) <= width else line[: width - 1] + "…" for line in text[:lines]]


def _search(args: argparse.Namespace) -> int:
    from knowledge.search import search

    cfg = _settings(args.index)
    try:
        hits = search(args.query, args.k, args.lang, settings=cfg)
    except KnowledgeError as exc:
        print(f"opswatchdog knowledge search: {exc}", file=sys.stderr)
        return 2
    if args.json:
        rows: list[dict[str, Any]] = [hit.model_dump() for hit in hits]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print("no runbook matches")
    for rank, hit in enumerate(hits, start=1):
        print(f"{rank}. {hit.id}  [{hit.lang}]  score {hit.score:.3f}  {hit.title}")
        print(f"   § {hit.heading or '(introduction)'}")
        for line in _excerpt(hit.section):
            print(f"     {line}")
    return 0


def add_knowledge_parser(sub: Any) -> None:
    """Add `knowledge ingest [DIR ...]` and `knowledge search QUERY` to the top-level subparsers."""
    knowledge = sub.add_parser("knowledge", help="the runbook index: ingest Markdown folders, search them")
    cmds = knowledge.add_subparsers(dest="knowledge_command", required=True)
    index_help = "index folder (default var/opswatchdog/knowledge, OPSWD_KNOWLEDGE__INDEX_PATH)"

    ingest = cmds.add_parser("ingest", help="index runbook folders; unchanged files are skipped, deleted ones removed")
    ingest.add_argument(
        "dirs", nargs="*", type=Path, metavar="DIR", help="folders of Markdown runbooks (default: the configured ones)"
    )
    ingest.add_argument("--index", type=Path, help=index_help)
    ingest.set_defaults(func=_ingest)

    find = cmds.add_parser("search", help="runbooks for an alert, a finding or a question (zh or en)")
    find.add_argument("query", help="e.g. '磁盘满了怎么办' or 'php-fpm 502 bad gateway'")
    find.add_argument("-k", type=int, default=None, help="how many runbooks (default 5)")
    find.add_argument("--json", action="store_true", help="print a JSON list (id, title, lang, score, section, ...)")
    find.add_argument("--lang", choices=["en", "zh"], help="preferred runbook language on ties")
    find.add_argument("--index", type=Path, help=index_help)
    find.set_defaults(func=_search)
