"""`opswatchdog demo --yes` on a fresh output folder: the whole flow, every fault attributed, one notification."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_demo_runs_the_whole_flow(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "app", "demo", "--yes", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "injected faults found on the right host: 17/17" in done.stdout
    assert "hosts over threshold in the metrics store" in done.stdout
    assert "_Written without an LLM (template)._" in done.stdout
    assert "approved" in done.stdout
    lines = (out / "notifications.jsonl").read_text().splitlines()
    assert len(lines) == 1
    message = json.loads(lines[0])
    assert message["idempotency_key"].endswith(":report:outbox") and "Diagnosis" in message["body_markdown"]
