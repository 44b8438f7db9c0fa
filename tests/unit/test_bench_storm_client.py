"""Reading the service's `Server-Timing` header in the alert storm bench (bench/storm_client.py)."""

from __future__ import annotations

import pytest

from bench.storm_client import server_time_s


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("inbox;dur=12.5", 0.0125),
        ('db;dur=3, inbox;desc="handler";dur=7', 0.007),
        ('inbox;dur="4.0"', 0.004),
        ("inbox", None),
        ("db;dur=3", None),
        ("inbox;dur=soon", None),
        ("", None),
        (None, None),
    ],
)
def test_the_inbox_duration_in_seconds(header: str | None, seconds: float | None) -> None:
    assert server_time_s(header) == (pytest.approx(seconds) if seconds is not None else None)
