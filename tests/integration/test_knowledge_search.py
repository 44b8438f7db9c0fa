"""Runbook search end to end: real chromadb, the real packaged model, the shipped runbooks in a temporary index."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.knowledge_cmd import add_knowledge_parser
from bench.knowledge_eval import evaluate, load_queries
from knowledge import embeddings
from knowledge.documents import KnowledgeError, RunbookError
from knowledge.index import KnowledgeIndex
from knowledge.search import Searcher, search, warm_up
from knowledge.settings import BUILTIN_RUNBOOKS, KnowledgeSettings
from tools_server.context import ToolInputError
from tools_server.tools_knowledge import KnowledgeSearchInput, knowledge_search

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runbooks"
DONE_WHEN = {
    "磁盘满了怎么办": {"disk-full-zh", "disk-full"},
    "php-fpm 502 bad gateway": {"php-fpm-max-children", "php-fpm-max-children-zh"},
}
# CI floor, somewhat below the 0.90 target, so a regression fails while run-to-run noise does not.
RECALL_AT_3_FLOOR = 0.85


@pytest.fixture(scope="module")
def index_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("knowledge") / "index"
    report = KnowledgeIndex(path).ingest(BUILTIN_RUNBOOKS)
    assert len(report.added) >= 44
    return path


@pytest.fixture(scope="module")
def searcher(index_path: Path) -> Searcher:
    return Searcher(KnowledgeIndex(index_path))


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="opswatchdog")
    add_knowledge_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


@pytest.mark.parametrize(("query", "right"), sorted(DONE_WHEN.items()))
def test_done_when_queries_rank_the_right_runbook_first(
    query: str, right: set[str], index_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(["knowledge", "search", query, "--json", "--index", str(index_path)]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["id"] in right, hits[:3]
    assert {"id", "title", "lang", "score", "section", "heading", "components"} <= set(hits[0])
    assert hits[0]["section"].strip()
    assert len(hits) == 5
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_chinese_query_prefers_the_chinese_runbook(searcher: Searcher) -> None:
    assert searcher.search("磁盘满了怎么办", 1)[0].id == "disk-full-zh"
    assert searcher.search("php-fpm 502 bad gateway", 1)[0].lang == "en"


def test_text_output(index_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(["knowledge", "search", "机房温度过高", "-k", "2", "--index", str(index_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1. room-temperature-zh  [zh]  score ")
    assert "\n2. " in out and "\n3. " not in out


def test_model_is_loaded_once_and_offline(searcher: Searcher, index_path: Path) -> None:
    from chromadb.utils.embedding_functions import SentenceTransformerEmbeddingFunction

    first = embeddings.embedding_function()
    Searcher(KnowledgeIndex(index_path)).search("disk full", 1)
    assert embeddings.embedding_function() is first
    assert list(SentenceTransformerEmbeddingFunction.models) == [embeddings.model_path()]
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"


@pytest.mark.parametrize(("query", "k", "problem"), [("", 5, "query is empty"), ("  \n", 5, "query is empty"),
                                                      ("disk", 0, "k must be 1 or more"),
                                                      ("disk", -2, "k must be 1 or more")])  # fmt: skip
def test_bad_input_is_a_clear_error(searcher: Searcher, query: str, k: int, problem: str) -> None:
    with pytest.raises(KnowledgeError, match=problem):
        searcher.search(query, k)


def test_bad_input_through_cli_and_tool(index_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(["knowledge", "search", " ", "--index", str(index_path)]) == 2
    assert "the query is empty" in capsys.readouterr().err
    assert _cli(["knowledge", "search", "disk", "-k", "0", "--index", str(index_path)]) == 2
    assert "k must be 1 or more (got 0)" in capsys.readouterr().err
    for bad in ({"query": ""}, {"query": "x" * 501}, {"query": "disk", "k": 0}, {"query": "disk", "k": 21}):
        with pytest.raises(ValidationError):
            KnowledgeSearchInput.model_validate(bad)


async def test_tool_returns_hits_and_maps_errors(index_path: Path) -> None:
    cfg = KnowledgeSettings(index_path=index_path)
    result = await knowledge_search(KnowledgeSearchInput(query="ERROR 1040 Too many connections", k=3), cfg)
    assert result.hits[0].id in {"mysql-too-many-connections", "mysql-too-many-connections-zh"}
    assert len(result.hits) == 3
    assert result.summary().startswith("3 runbooks for 'ERROR 1040 Too many connections':\n- mysql-too-many-conn")
    with pytest.raises(ToolInputError, match="query is empty"):
        await knowledge_search(KnowledgeSearchInput(query="   "), cfg)


async def test_missing_index_is_built_on_first_use(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = KnowledgeSettings(index_path=tmp_path / "not-yet", runbook_dirs=[FIXTURES / "good"])
    with caplog.at_level(logging.WARNING, logger="knowledge.search"):
        result = await knowledge_search(KnowledgeSearchInput(query="机房太热了", k=2), cfg)
    assert result.hits[0].id == "room-temperature-zh"
    assert any("is empty or missing: building it from" in r.getMessage() for r in caplog.records)
    caplog.clear()
    warm_up(cfg)
    assert search("disk full", settings=cfg)[0].id in {"disk-full", "disk-full-zh"}
    assert not caplog.records  # built once


def test_ingest_is_incremental(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    team = tmp_path / "team"
    shutil.copytree(FIXTURES / "good", team)
    index = tmp_path / "index"
    assert _cli(["knowledge", "ingest", str(team), "--index", str(index)]) == 0
    assert "4 added, 0 updated, 0 removed, 0 unchanged" in capsys.readouterr().out

    ix = KnowledgeIndex(index)
    searcher = Searcher(ix)
    generation, count = ix.generation(), ix.count()
    unchanged = ix.ingest(team)
    assert (unchanged.changed, len(unchanged.unchanged)) == (False, 4)
    assert (ix.generation(), ix.count()) == (generation, count)

    # A second folder shares the index and is left alone by the first folder's ingests.
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(BUILTIN_RUNBOOKS / "time-drift.md", other)
    assert ix.ingest(other).added == ["time-drift"]

    fix = team / "disk-full.md"
    fix.write_text(fix.read_text().replace("Delete or compress old logs", "Purge the quuxcache spool, compress logs"))
    changed = ix.ingest(team)
    assert (changed.updated, changed.added, changed.removed) == (["disk-full"], [], [])
    hit = searcher.search("quuxcache spool", 1)[0]  # an open searcher sees the change
    assert (hit.id, hit.heading) == ("disk-full", "Fix")
    assert "quuxcache" in hit.section

    (team / "php-fpm-max-children.md").unlink()
    removed = ix.ingest(team)
    assert removed.removed == ["php-fpm-max-children"]
    assert all(c.runbook_id != "php-fpm-max-children" for c in ix.chunks())
    assert "php-fpm-max-children" not in {h.id for h in searcher.search("php-fpm 502 bad gateway", 10)}
    assert {c.runbook_id for c in ix.chunks()} == {"disk-full", "disk-full-zh", "room-temperature-zh", "time-drift"}


def test_malformed_runbook_fails_before_anything_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    team = tmp_path / "team"
    shutil.copytree(FIXTURES / "good", team)
    shutil.copy(FIXTURES / "bad" / "bad-lang.md", team)
    ix = KnowledgeIndex(tmp_path / "index")
    with pytest.raises(RunbookError, match=r"bad-lang\.md: invalid front matter: lang"):
        ix.ingest(team)
    assert ix.count() == 0
    assert _cli(["knowledge", "ingest", str(team), "--index", str(tmp_path / "index")]) == 1
    assert "bad-lang.md: invalid front matter: lang: Input should be 'en' or 'zh'" in capsys.readouterr().err


def test_same_id_in_two_folders_is_refused(tmp_path: Path) -> None:
    ix = KnowledgeIndex(tmp_path / "index")
    ix.ingest(FIXTURES / "good")
    twin = tmp_path / "twin"
    twin.mkdir()
    shutil.copy(FIXTURES / "good" / "disk-full.md", twin)
    with pytest.raises(RunbookError, match="runbook id 'disk-full' is already indexed from"):
        ix.ingest(twin)


def test_eval_floor(searcher: Searcher) -> None:
    """The bench's own scoring over the labelled queries: fused recall@3 per language stays above the floor."""
    results = evaluate(searcher, load_queries())["fused"]
    for lang in ("en", "zh"):
        assert results[lang].recall_at_3 >= RECALL_AT_3_FLOOR, (lang, results[lang])
