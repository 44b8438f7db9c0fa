"""A bounded digest of many hosts' findings for the LLM: grouped, ranked, truncated with counts stated.

A 500-host incident reaches the LLM as at most `max_groups` groups of at most `hosts_per_group` hosts each,
plus counts of everything left out, and stays under a token budget (estimated at 4 characters a token).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

SEVERITY_RANK = {"critical": 2, "warning": 1, "info": 0}
TOKEN_BUDGET = 6000


def estimate_tokens(obj: Any) -> int:
    """A rough token count of a JSON-serialisable object (4 characters a token)."""
    return len(json.dumps(obj, ensure_ascii=False)) // 4 + 1


def dedupe(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Findings without repeats (same id), keeping the worst severity seen."""
    best: dict[str, dict[str, Any]] = {}
    for f in findings:
        seen = best.get(f["id"])
        if seen is None or SEVERITY_RANK[f["severity"]] > SEVERITY_RANK[seen["severity"]]:
            best[f["id"]] = f
    return list(best.values())


def _sort_value(f: dict[str, Any]) -> float:
    value = f.get("value")
    return float(value) if isinstance(value, int | float) else 0.0


def build_digest(
    outcomes: dict[str, dict[str, Any]], max_groups: int = 30, hosts_per_group: int = 8, budget: int = TOKEN_BUDGET
) -> dict[str, Any]:
    """Group findings by (component, metric), worst groups and hosts first, bounded in size."""
    findings = dedupe([f for o in outcomes.values() for f in o["findings"]])
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for f in findings:
        groups[(f["component"], f["metric"])].append(f)
    ranked = sorted(groups.items(), key=lambda kv: (-max(SEVERITY_RANK[f["severity"]] for f in kv[1]), -len(kv[1])))
    counts = {s: sum(f["severity"] == s for f in findings) for s in SEVERITY_RANK}
    digest: dict[str, Any] = {
        "hosts_total": len(outcomes),
        "hosts_with_findings": sum(1 for o in outcomes.values() if o["findings"]),
        "hosts_not_inspected": sorted(h for h, o in outcomes.items() if o["status"] not in ("ok", "partial")),
        "counts": counts,
        "groups": [],
        "groups_left_out": 0,
    }
    for i, ((component, metric), items) in enumerate(ranked):
        items.sort(key=lambda f: (-SEVERITY_RANK[f["severity"]], -_sort_value(f), f["host"]))
        group = {
            "component": component,
            "metric": metric,
            "severity": items[0]["severity"],
            "count": len(items),
            "findings": [
                {
                    "id": f["id"],
                    "host": f["host"],
                    "value": f.get("value"),
                    "summary": f["summary"],
                    "evidence": str(f.get("evidence", ""))[:300],
                }
                for f in items[:hosts_per_group]
            ],
            "hosts_left_out": max(0, len(items) - hosts_per_group),
        }
        if i >= max_groups or estimate_tokens(digest) + estimate_tokens(group) > budget:
            digest["groups_left_out"] = len(ranked) - i
            break
        digest["groups"].append(group)
    digest["hosts_not_inspected"] = digest["hosts_not_inspected"][:50]
    digest["estimated_tokens"] = estimate_tokens(digest)
    return digest


def cited_facts(digest: dict[str, Any]) -> tuple[set[str], set[str], set[str]]:
    """Finding ids, host names and numbers present in the digest: what a report may cite."""
    ids, hosts, numbers = set(), set(), set()
    for group in digest["groups"]:
        numbers.add(str(group["count"]))
        for f in group["findings"]:
            ids.add(f["id"])
            hosts.add(f["host"])
            for text in (str(f.get("value")), f["summary"], f["evidence"]):
                numbers.update(_numbers(text))
    for key in ("hosts_total", "hosts_with_findings"):
        numbers.add(str(digest[key]))
    numbers.update(str(v) for v in digest["counts"].values())
    numbers.add(str(sum(digest["counts"].values())))
    numbers.add(str(len(digest["hosts_not_inspected"])))
    hosts.update(digest["hosts_not_inspected"])
    return ids, hosts, numbers


def _numbers(text: str) -> set[str]:
    import re

    found = set()
    for m in re.finditer(r"\d+(?:\.\d+)?", text):
        raw = m.group(0)
        found.add(raw)
        if "." in raw:
            found.add(raw.rstrip("0").rstrip("."))
            found.add(str(round(float(raw))))
    return found
