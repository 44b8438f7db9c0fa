"""Runbook search eval: recall@1, recall@3 and MRR@10 per method and query language, latency, cold start.

Methods: embeddings only, keywords (BM25) only, and the fused ranking that search returns. Recall@k is the
share of queries with an expected runbook among the first k; MRR uses the first expected runbook's rank
(0 beyond 10). Latency is the full `search()` call (embedding + vector query + BM25 + fusion) after a
warm-up, over every query `--repeat` times. Cold start is a fresh process from `python` to the first answer
of a Chinese query (imports, model, index, jieba), with the in-process part broken down.

    python bench/knowledge_eval.py [--runbooks DIR] [--index DIR] [--queries FILE] [--repeat N] [--misses]

Without --index the runbooks are ingested into a temporary index (the ingest time is printed too).
Targets: fused recall@3 >= 0.90 on en and zh; p50 < 30 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from knowledge.search import Method, Searcher

QUERIES = ROOT / "tests" / "knowledge_eval" / "queries.yaml"
RUNBOOKS = ROOT / "knowledge" / "runbooks"
MRR_DEPTH = 10
LANGS = ("en", "zh")


@dataclass(frozen=True)
class Query:
    """A labelled query."""

    query: str
    lang: str
    expected: tuple[str, ...]
    kind: str
    split: str = "tune"


@dataclass(frozen=True)
class Scores:
    """Retrieval quality of one method on one set of queries."""

    recall_at_1: float
    recall_at_3: float
    mrr: float
    n: int


def load_queries(path: Path = QUERIES, split: str | None = None) -> list[Query]:
    """The labelled queries of the YAML file (only one split's when `split` is given)."""
    import yaml

    rows: list[dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))
    queries = [Query(r["query"], r["lang"], tuple(r["expected"]), r["kind"], r.get("split", "tune")) for r in rows]
    return [q for q in queries if split in (None, q.split)]


def first_rank(searcher: Searcher, q: Query, method: Method) -> int | None:
    """1-based rank of the first expected runbook within MRR_DEPTH, or None."""
    hits = searcher.search(q.query, MRR_DEPTH, method=method)
    return next((i for i, hit in enumerate(hits, start=1) if hit.id in q.expected), None)


def _scores(ranks: list[int | None]) -> Scores:
    n = len(ranks)
    return Scores(
        recall_at_1=sum(1 for r in ranks if r == 1) / n,
        recall_at_3=sum(1 for r in ranks if r is not None and r <= 3) / n,
        mrr=sum(1 / r for r in ranks if r is not None) / n,
        n=n,
    )


def evaluate(searcher: Searcher, queries: list[Query]) -> dict[str, dict[str, Scores]]:
    """Scores per method ('embeddings', 'keywords', 'fused') per language ('en', 'zh', 'all')."""
    from knowledge.search import METHODS

    out: dict[str, dict[str, Scores]] = {}
    for method in METHODS:
        ranks = [(q.lang, first_rank(searcher, q, method)) for q in queries]
        out[method] = {lang: _scores([r for lg, r in ranks if lg == lang]) for lang in LANGS}
        out[method]["all"] = _scores([r for _, r in ranks])
    return out


def breakdown(searcher: Searcher, queries: list[Query]) -> dict[str, Scores]:
    """Fused scores per split and per kind of query."""
    ranks = [(q, first_rank(searcher, q, "fused")) for q in queries]
    groups = sorted({f"split={q.split}" for q in queries} | {f"kind={q.kind}" for q in queries})
    return {g: _scores([r for q, r in ranks if g in (f"split={q.split}", f"kind={q.kind}")]) for g in groups}


def misses(searcher: Searcher, queries: list[Query], depth: int = 3) -> list[tuple[Query, list[str]]]:
    """Fused-search queries without an expected runbook in the top `depth`, with what came first."""
    out = []
    for q in queries:
        hits = searcher.search(q.query, depth)
        if not any(h.id in q.expected for h in hits):
            out.append((q, [h.id for h in hits]))
    return out


def latency_ms(searcher: Searcher, queries: list[Query], repeat: int = 3, warmup: int = 10) -> tuple[float, float]:
    """p50 and p95 of one fused search call in milliseconds, after `warmup` calls."""
    for q in queries[:warmup]:
        searcher.search(q.query, 5)
    times = []
    for _ in range(repeat):
        for q in queries:
            start = time.perf_counter()
            searcher.search(q.query, 5)
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))]


def build(runbooks: Path, index: Path) -> tuple[Searcher, float]:
    """Ingest a folder into the index at `index` and open a searcher on it; returns it and the ingest seconds."""
    from knowledge.index import KnowledgeIndex
    from knowledge.search import Searcher

    start = time.perf_counter()
    ix = KnowledgeIndex(index)
    ix.ingest(runbooks)
    return Searcher(ix), time.perf_counter() - start


def _probe(index: Path) -> None:
    """Child process of the cold-start measurement: time each step to the first answer, print JSON."""
    t0 = time.perf_counter()
    from knowledge.index import KnowledgeIndex
    from knowledge.search import Searcher

    t1 = time.perf_counter()
    searcher = Searcher(KnowledgeIndex(index))
    t2 = time.perf_counter()
    hits = searcher.search("磁盘满了怎么办", 3)
    t3 = time.perf_counter()
    print(json.dumps({"imports": t1 - t0, "model_and_index": t2 - t1, "first_query": t3 - t2}))
    assert hits, "the probe query found nothing"


def cold_start(index: Path) -> dict[str, float]:
    """Seconds from starting a new Python process to its first answer, and the in-process breakdown."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--probe", "--index", str(index)], capture_output=True, text=True, check=True
    )
    total = time.perf_counter() - start
    data: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return {"process_to_first_answer": total, **data}


def _print_table(results: dict[str, dict[str, Scores]]) -> None:
    print(f"{'method':<11} {'lang':<4} {'n':>3} {'recall@1':>9} {'recall@3':>9} {'MRR':>6}")
    for method, per_lang in results.items():
        for lang, s in per_lang.items():
            print(f"{method:<11} {lang:<4} {s.n:>3} {s.recall_at_1:>9.3f} {s.recall_at_3:>9.3f} {s.mrr:>6.3f}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--runbooks", type=Path, default=RUNBOOKS)
    p.add_argument("--index", type=Path, help="existing or new index folder (default: a temporary one)")
    p.add_argument("--queries", type=Path, default=QUERIES)
    p.add_argument("--split", choices=["tune", "holdout"], help="only these queries (default: all)")
    p.add_argument("--repeat", type=int, default=3, help="latency passes over all queries")
    p.add_argument("--misses", action="store_true", help="list fused-search queries missing from the top 3")
    p.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.probe:
        _probe(args.index)
        return 0
    with tempfile.TemporaryDirectory(prefix="knowledge-eval-") as tmp:
        index = args.index or Path(tmp) / "index"
        searcher, ingest_s = build(args.runbooks, index)
        queries = load_queries(args.queries, args.split)
        n_runbooks = len({c.runbook_id for c in searcher.index.chunks()})
        sections = searcher.index.count()
        print(f"{len(queries)} queries, {n_runbooks} runbooks, {sections} sections; ingest {ingest_s:.1f} s")
        print(
            f"host: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (latency is sensitive to other load)"
        )
        _print_table(evaluate(searcher, queries))
        for group, s in breakdown(searcher, queries).items():
            scores = f"recall@1 {s.recall_at_1:.3f} recall@3 {s.recall_at_3:.3f} MRR {s.mrr:.3f}"
            print(f"fused {group:<17} n={s.n:>3} {scores}")
        p50, p95 = latency_ms(searcher, queries, repeat=args.repeat)
        print(f"fused search latency after warm-up: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
        cold = cold_start(index)
        parts = ", ".join(f"{k} {v:.2f} s" for k, v in cold.items() if k != "process_to_first_answer")
        print(f"cold start (new process to first answer): {cold['process_to_first_answer']:.2f} s ({parts})")
        if args.misses:
            for q, got in misses(searcher, queries):
                print(f"MISS [{q.lang} {q.kind}] {q.query!r}: expected {list(q.expected)}, got {got}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
