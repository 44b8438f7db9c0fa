"""Shared fixtures: where the third-party real captures live, and their ground truth."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCAL_FIXTURES = REPO_ROOT / "tests" / "fixtures"
SHARED_REAL = Path(os.environ.get("OPSWD_SHARED_FIXTURES", REPO_ROOT.parent / "shared" / "fixtures")) / "real"


def _require_shared() -> Path:
    if SHARED_REAL.is_dir():
        return SHARED_REAL
    msg = (
        f"third-party captures not found at {SHARED_REAL}: they are read in place from ../shared/fixtures/real "
        "(set OPSWD_SHARED_FIXTURES to the fixtures folder to point elsewhere)"
    )
    if os.environ.get("CI"):
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def real_dir() -> Path:
    """The folder of real command captures (../shared/fixtures/real)."""
    return _require_shared()


@pytest.fixture(scope="session")
def truth() -> list[dict[str, Any]]:
    """Ground truth for every real capture, one dict per file (truth.json)."""
    data: list[dict[str, Any]] = json.loads((_require_shared() / "truth.json").read_text())
    return data


def truth_entries(kind: str) -> list[dict[str, Any]]:
    """Entries of truth.json of one kind, for parametrising tests (empty when ../shared is absent)."""
    path = SHARED_REAL / "truth.json"
    if not path.is_file():
        return []
    return [e for e in json.loads(path.read_text()) if e["kind"] == kind]
