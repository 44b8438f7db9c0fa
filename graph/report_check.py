"""Check a report against the facts: every host, finding id and number must come from the digest.

Unknown finding ids are dropped, hypotheses left with no citation and actions on unknown hosts are flagged,
and numbers in the prose that the digest does not contain are listed as unverified.
"""

from __future__ import annotations

import re

from graph.digest import cited_facts
from graph.report_model import ReportModel

_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")
# Numbers any prose may use without them being facts: counts of list items, percent 100, etc.
_HARMLESS = {"0", "1", "2", "3", "100"}
_HOST_LIKE = re.compile(r"\b[a-z][a-z0-9-]*-\d+\b")


def check_report(report: ReportModel, digest: dict, plans_text: str = "") -> tuple[ReportModel, list[str]]:  # type: ignore[type-arg]
    """The report with uncited ids removed, and the list of problems found (empty: every fact checks out)."""
    ids, hosts, numbers = cited_facts(digest)
    numbers |= set(_NUMBER.findall(plans_text))
    problems: list[str] = []
    hypotheses = []
    for h in report.hypotheses:
        kept = [i for i in h.finding_ids if i in ids]
        dropped = sorted(set(h.finding_ids) - set(kept))
        if dropped:
            problems.append(f"hypothesis {h.title!r} cited unknown finding ids {dropped}: dropped")
        if not kept:
            problems.append(f"hypothesis {h.title!r} cites no known finding: flagged")
        hypotheses.append(h.model_copy(update={"finding_ids": kept}))
    for a in report.actions:
        unknown = [x for x in a.hosts if x not in hosts]
        if unknown:
            problems.append(f"action {a.action!r} names hosts not in the findings: {unknown}")
    prose = " ".join(
        [
            report.summary,
            report.risk,
            *(h.title + " " + h.explanation for h in report.hypotheses),
            *(a.action for a in report.actions),
        ]
    )
    # The digits of a host name ("node-02") are no number: host names are checked apart.
    for number in sorted(set(_NUMBER.findall(_HOST_LIKE.sub(" ", prose))) - numbers - _HARMLESS):
        problems.append(f"number {number} does not appear in the findings: unverified")
    for name in sorted(set(_HOST_LIKE.findall(prose)) - hosts):
        problems.append(f"host-like name {name!r} is not in the findings: unverified")
    return report.model_copy(update={"hypotheses": hypotheses}), problems
