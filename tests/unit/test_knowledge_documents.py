"""Runbook files, the tokeniser and BM25, and the labelled eval queries: no model, no index."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from knowledge.documents import (
    KnowledgeError,
    RunbookError,
    chunk_runbook,
    load_folder,
    parse_runbook,
    runbook_files,
    split_sections,
)
from knowledge.keywords import BM25, expand_query, fold_en, has_cjk, tokenize
from knowledge.settings import BUILTIN_RUNBOOKS, KnowledgeSettings

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "runbooks"
QUERIES = ROOT / "tests" / "knowledge_eval" / "queries.yaml"


def test_good_runbook_front_matter_and_sections() -> None:
    rb = parse_runbook(FIXTURES / "good" / "php-fpm-max-children.md")
    assert rb.meta.id == "php-fpm-max-children"
    assert rb.meta.lang == "en"
    assert rb.meta.tags == ["php-fpm", "nginx", "502"]  # YAML reads 502 as a number: kept as written
    assert [s.heading for s in rb.sections] == ["", "When this applies", "Fix"]
    assert rb.sections[0].body == "Intro text before the first section."
    assert len(rb.sha256) == 64


def test_hash_changes_with_content(tmp_path: Path) -> None:
    src = FIXTURES / "good" / "disk-full.md"
    copy = tmp_path / "disk-full.md"
    copy.write_bytes(src.read_bytes())
    before = parse_runbook(copy).sha256
    copy.write_text(src.read_text() + "\nMore.\n")
    assert parse_runbook(copy).sha256 != before


def test_heading_inside_code_fence_is_not_a_section() -> None:
    rb = parse_runbook(FIXTURES / "good" / "disk-full.md")
    assert [s.heading for s in rb.sections] == ["When this applies", "Diagnosis", "Fix"]
    assert "## not a heading" in rb.sections[1].body


def test_split_sections_drops_title_and_empty_intro() -> None:
    body = "# Title\n\n## A\none\n\n```\n## inside\n```\n## B\ntwo\n"
    assert [(s.heading, s.body) for s in split_sections(body)] == [("A", "one\n\n```\n## inside\n```"), ("B", "two")]


def test_chunks_fold_runbook_identity_into_indexed_text() -> None:
    rb = parse_runbook(FIXTURES / "good" / "disk-full-zh.md")
    chunks = chunk_runbook(rb)
    assert [c.chunk_id for c in chunks] == ["disk-full-zh#0", "disk-full-zh#1", "disk-full-zh#2"]
    text = chunks[2].embed_text()
    assert text.startswith("磁盘空间已满\n")  # the model truncates: what the runbook is about comes first
    assert "No space left on device" in text and text.endswith(chunks[2].body)
    weights = dict((t, w) for t, w in chunks[2].keyword_fields())
    assert weights["磁盘空间已满"] == 3
    assert chunks[2].section_text() == "处理\n清理旧日志，压缩归档文件。"


BAD = {
    "no-front-matter.md": "no front matter: the file must start with a line '---'",
    "unclosed.md": "front matter is not closed",
    "bad-yaml.md": "front matter is not valid YAML at line 4",
    "bad-lang.md": "lang: Input should be 'en' or 'zh'",
    "id-mismatch.md": "id 'other-name' must equal the file name without .md ('id-mismatch')",
    "not-a-list.md": "components: Input should be a valid list",
    "unknown-key.md": "symptom: Extra inputs are not permitted",
    "missing-title.md": "title: Field required",
    "empty-body.md": "no content after the front matter",
    "list-front.md": "front matter must be a YAML mapping",
}


@pytest.mark.parametrize(("name", "problem"), sorted(BAD.items()))
def test_malformed_runbook_names_file_and_problem(name: str, problem: str) -> None:
    path = FIXTURES / "bad" / name
    with pytest.raises(RunbookError) as err:
        parse_runbook(path)
    assert err.value.path == path
    assert str(err.value).startswith(f"{path}: ")
    assert problem in str(err.value)


def test_every_bad_fixture_is_covered() -> None:
    assert {p.name for p in (FIXTURES / "bad").glob("*.md")} == set(BAD)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.md"
    path.write_bytes("---\nid: latin1\ntitle: caf\xe9\nlang: en\n---\n## A\nx\n".encode("latin-1"))
    with pytest.raises(RunbookError, match="not UTF-8"):
        parse_runbook(path)


def test_folder_walk_skips_readme_and_hidden(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "good", tmp_path / "team")
    (tmp_path / "team" / "README.md").write_text("# About these runbooks\n")
    (tmp_path / "team" / ".drafts").mkdir()
    (tmp_path / "team" / ".drafts" / "draft.md").write_text("not a runbook")
    names = [p.name for p in runbook_files(tmp_path / "team")]
    assert names == ["disk-full-zh.md", "disk-full.md", "php-fpm-max-children.md", "room-temperature-zh.md"]
    assert len(load_folder(tmp_path / "team")) == 4


def test_duplicate_id_names_both_files(tmp_path: Path) -> None:
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        shutil.copy(FIXTURES / "good" / "disk-full.md", tmp_path / sub / "disk-full.md")
    with pytest.raises(RunbookError, match=r"runbook id 'disk-full' is also used by .*a/disk-full\.md") as err:
        load_folder(tmp_path)
    assert err.value.path == tmp_path / "b" / "disk-full.md"


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="does not exist"):
        runbook_files(tmp_path / "nope")


def test_shipped_runbooks_all_parse() -> None:
    runbooks = load_folder(BUILTIN_RUNBOOKS)
    ids = {rb.meta.id for rb in runbooks}
    assert len(ids) >= 44
    assert {rb.meta.lang for rb in runbooks} == {"en", "zh"}


def test_settings_defaults() -> None:
    cfg = KnowledgeSettings()
    assert cfg.index_path == Path("var/opswatchdog/knowledge")
    assert cfg.runbook_dirs == [BUILTIN_RUNBOOKS]
    assert cfg.default_k == 5


def test_tokenize_english_compounds_and_folding() -> None:
    tokens = tokenize("PHP-FPM workers: server reached pm.max_children, disks failing")
    assert {"php-fpm", "php", "fpm", "worker", "pm.max_children", "max", "children", "disk", "fail"} <= set(tokens)
    assert "reached" not in tokens and "reach" in tokens
    assert fold_en("batteries") == "battery" and fold_en("running") == "run" and fold_en("status") == "status"


def test_tokenize_chinese_with_jieba() -> None:
    assert has_cjk("磁盘满了") and not has_cjk("disk full")
    # Indexed text also gets the known parts of longer words; stopwords go as whole words (服务器 with its parts).
    assert tokenize("服务器的文件系统满了怎么办") == ["文件", "系统", "文件系统", "满"]
    assert tokenize("服务器的文件系统满了怎么办", query=True) == ["文件系统", "满"]


def test_expand_query_reads_longest_terms_first() -> None:
    assert expand_query("磁盘满了怎么办") == "disk full"
    assert expand_query("服务挂了") == "service down failed"
    assert "service" not in expand_query("服务器 CPU 突然飙升")  # 服务器 is one (empty) term, not 服务 + 器
    assert expand_query("disk full") == ""


def test_bm25_ranks_and_precomputes() -> None:
    docs = [tokenize(t) for t in ("disk full on root", "memory leak in java", "disk disk inode exhaustion", "cpu")]
    bm25 = BM25(docs)
    ranked = bm25.top(tokenize("disk inode"), 10)
    assert [doc for doc, _ in ranked] == [2, 0]
    assert bm25.top(["nothing"], 3) == []
    assert BM25([]).top(["disk"], 3) == []


def test_jieba_stays_quiet_and_writes_no_cache(tmp_path: Path) -> None:
    """jieba writes a marshal cache of its dictionary: it must land in a private dir that is removed."""
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    (tmp_path / "cwd").mkdir()
    code = "from knowledge.keywords import tokenize; print(tokenize('磁盘满了'))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path / "cwd", env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == b""
    assert list((tmp_path / "tmp").iterdir()) == []
    assert list((tmp_path / "cwd").iterdir()) == []


def _queries() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = yaml.safe_load(QUERIES.read_text(encoding="utf-8"))
    return rows


def test_eval_queries_are_balanced_and_labelled() -> None:
    rows = _queries()
    ids = {p.stem for p in BUILTIN_RUNBOOKS.glob("*.md")}
    assert len(rows) >= 80
    for split in ("tune", "holdout"):
        langs = Counter(r["lang"] for r in rows if r.get("split", "tune") == split)
        assert langs["en"] == langs["zh"], split
    assert sum(1 for r in rows if r["kind"] == "paraphrase") >= 10
    assert {r["kind"] for r in rows} == {"alert", "finding", "question", "paraphrase"}
    assert len({r["query"] for r in rows}) == len(rows)
    for r in rows:
        assert set(r) <= {"query", "lang", "expected", "kind", "split"}
        assert r["lang"] == ("zh" if has_cjk(str(r["query"])) else "en"), r["query"]
        assert isinstance(r["expected"], list) and r["expected"], r["query"]
        unknown = set(r["expected"]) - ids
        assert not unknown, f"{r['query']}: unknown runbook ids {unknown}"


def test_paraphrases_share_no_keyword_with_their_runbooks() -> None:
    runbooks = {rb.meta.id: rb.meta for rb in load_folder(BUILTIN_RUNBOOKS)}
    for r in _queries():
        if r["kind"] != "paraphrase":
            continue
        words = set(tokenize(str(r["query"])))
        for rid in r["expected"]:  # type: ignore[attr-defined]
            meta = runbooks[rid]
            keywords = set(tokenize(" ".join([meta.id, meta.title, *meta.symptoms, *meta.tags, *meta.components])))
            assert not words & keywords, f"{r['query']!r} shares {words & keywords} with {rid}"
