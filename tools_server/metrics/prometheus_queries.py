"""The PromQL the Prometheus backend runs (node_exporter metric names) and the parsing of the API's answers.

Host identity is the host part of the `instance` label ("10.0.0.5:9100" → "10.0.0.5"), the reference's `ip`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

# Jobs scraping node_exporter ("node", "node_exporter", "node-exporter-dc1"), not kubelet's "kubernetes-nodes".
NODE_JOB = "node.*|.*node[-_]exporter.*"
# Pseudo and in-memory filesystems say nothing about disk space.
FS_TYPES_EXCLUDED = "tmpfs|devtmpfs|ramfs|overlay|squashfs|iso9660|nsfs|autofs|aufs|rootfs|fuse\\..*"
# Plain values whose name marks a missing sample rather than a number (NaN also marks staleness).
_MISSING_VALUES = frozenset({"nan", "+nan", "-nan", "inf", "+inf", "-inf", "stale"})
_SAFE_HOST = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.:_-]*$")
_INSTANCE = re.compile(r"^\[?(?P<host>.*?)\]?(?::(?P<port>\d+))?$")

Labels = dict[str, str]
Point = tuple[float, float | None]


class PromResultError(ValueError):
    """A success answer of the API whose data is not the shape the query asks for."""


@dataclass(frozen=True)
class Series:
    """One labelled series of a result: a single point (instant query) or many (range query)."""

    labels: Labels
    points: list[Point]


@dataclass(frozen=True)
class Queries:
    """The PromQL of each protocol question, parametrised by the deployment's job names and rate window."""

    node_job: str = NODE_JOB
    rate_window: str = "5m"
    fs_types_excluded: str = FS_TYPES_EXCLUDED

    def up(self, host: str = "") -> str:
        """Scrape success (1/0) of the node_exporter targets."""
        return selector("up", f"job=~{quote(self.node_job)}", host)

    def memory(self, host: str = "", window: str = "") -> str:
        """Memory used % per target; with `window`, from the latest raw samples inside it."""
        avail = _last(selector("node_memory_MemAvailable_bytes", host), window)
        total = _last(selector("node_memory_MemTotal_bytes", host), window)
        return f"max by (instance) (100 * (1 - {avail} / {total}))"

    def disk(self, host: str = "", window: str = "") -> str:
        """Used % of the fullest real filesystem per target; with `window`, from the latest samples inside it."""
        fs = f"fstype!~{quote(self.fs_types_excluded)}"
        avail = _last(selector("node_filesystem_avail_bytes", fs, host), window)
        size = _last(selector("node_filesystem_size_bytes", fs, host), window)
        return f"max by (instance) (100 * (1 - {avail} / ({size} > 0)))"

    def cpu(self, host: str = "", window: str = "", step: str = "") -> str:
        """CPU busy % per target over the rate window; with `window`, the latest value inside it."""
        idle = selector("node_cpu_seconds_total", 'mode="idle"', host)
        expr = f"100 * (1 - avg by (instance) (rate({idle}[{self.rate_window}])))"
        if not window:
            return expr
        # A rate is not a raw sample: take it at the window end, or else its last value on a subquery grid.
        return f"{expr} or last_over_time(({expr})[{window}:{step}])"

    def last_up(self, window: str) -> str:
        """The latest scrape result of each node target inside the window (0 = the scrape failed)."""
        return f"last_over_time({self.up()}[{window}])"

    def last_scrape_time(self, window: str, step: str, start_s: float) -> str:
        """Unix time of each node target's latest scrape inside the window (the sample's collect time)."""
        stamp = f"timestamp({self.up()})"
        return f"({stamp} >= {start_s:.3f}) or max_over_time({stamp}[{window}:{step}])"

    def services(self) -> tuple[str, str]:
        """Scrape success (`up`) and blackbox probe success (`probe_success`) of every target."""
        return "up", "probe_success"


def _last(sel: str, window: str) -> str:
    return f"last_over_time({sel}[{window}])" if window else sel


def selector(metric: str, *matchers: str) -> str:
    """`metric{a, b}` from the non-empty matchers."""
    used = [m for m in matchers if m]
    return f"{metric}{{{', '.join(used)}}}" if used else metric


def quote(text: str) -> str:
    """A PromQL double-quoted string literal (Go escapes, which JSON's are a subset of)."""
    return json.dumps(text)


def host_matcher(ip: str) -> str:
    """Matcher for the targets of one host, whatever their port (IPv6 instances are bracketed)."""
    if not _SAFE_HOST.fullmatch(ip):
        msg = f"not a host IP or name: {ip!r} (letters, digits and . : _ - only)"
        raise ValueError(msg)
    escaped = re.escape(ip)
    pattern = f"\\[{escaped}\\](:[0-9]+)?" if ":" in ip else f"{escaped}(:[0-9]+)?"
    return f"instance=~{quote(pattern)}"


def split_instance(instance: str) -> tuple[str, int | None]:
    """The host and port of an `instance` label: "10.0.0.5:9100", "[::1]:9100", "host", "http://h:8080/x"."""
    if "://" in instance:
        url = urlsplit(instance)
        return url.hostname or instance, url.port
    m = _INSTANCE.fullmatch(instance)
    if m is None or not m.group("host"):
        return instance, None
    port = m.group("port")
    return m.group("host"), int(port) if port else None


def duration(seconds: float) -> str:
    """A PromQL duration in whole milliseconds (at least 1 ms)."""
    return f"{max(1, round(seconds * 1000))}ms"


def range_step(start: datetime, end: datetime, max_points: int) -> float:
    """Whole seconds between points so that no series has more than `max_points` points in [start, end]."""
    span = (end - start).total_seconds()
    return float(max(1, math.ceil(span / max(1, max_points - 1))))


def parse_value(raw: object) -> float | None:
    """A sample value as the API writes it ("12.5", "NaN", "+Inf") → float, or None when it is not a number."""
    if not isinstance(raw, str):
        msg = f"sample value {raw!r} is not a string"
        raise PromResultError(msg)
    if raw.strip().lower() in _MISSING_VALUES:
        return None
    try:
        value = float(raw)
    except ValueError:
        msg = f"sample value {raw!r} is not a number"
        raise PromResultError(msg) from None
    return value if math.isfinite(value) else None


def _point(pair: Any) -> Point:
    if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], int | float)):
        msg = f"sample {pair!r} is not [unix_time, value]"
        raise PromResultError(msg)
    return float(pair[0]), parse_value(pair[1])


def parse_result(data: Any) -> list[Series]:
    """The `data` of a query answer (vector, matrix or scalar) as series; a scalar has empty labels."""
    if not isinstance(data, dict) or not isinstance(data.get("result"), list | None):
        msg = f"'data' is not {{resultType, result}}: {str(data)[:200]}"
        raise PromResultError(msg)
    kind, result = data.get("resultType"), data.get("result") or []
    if kind == "scalar":
        return [Series({}, [_point(data.get("result"))])]
    if kind not in ("vector", "matrix"):
        msg = f"unexpected resultType {kind!r}"
        raise PromResultError(msg)
    series: list[Series] = []
    for item in result:
        labels = item.get("metric") if isinstance(item, dict) else None
        if not isinstance(labels, dict):
            msg = f"result item without 'metric' labels: {str(item)[:200]}"
            raise PromResultError(msg)
        pairs = [item.get("value")] if kind == "vector" else item.get("values") or []
        series.append(Series({str(k): str(v) for k, v in labels.items()}, [_point(p) for p in pairs]))
    return series


def millis(ts: float) -> int:
    """Unix seconds as the API writes them → integer milliseconds (the API's own resolution)."""
    return round(ts * 1000)


def by_host(series: list[Series]) -> dict[str, dict[int, float]]:
    """Points of each host by unix ms (several targets of one host: the highest value), NaN/Inf dropped."""
    hosts: dict[str, dict[int, float]] = {}
    for s in series:
        host, _ = split_instance(s.labels.get("instance", ""))
        points = hosts.setdefault(host, {})
        for ts, value in s.points:
            if value is not None:
                points[millis(ts)] = max(value, points.get(millis(ts), value))
    return hosts


def latest(series: list[Series]) -> dict[str, float]:
    """The value of each host in an instant-query answer (several targets of one host: the highest)."""
    return {host: max(points.values()) for host, points in by_host(series).items() if points}


def grid(times: set[int], start_ms: int, step_ms: int) -> list[int]:
    """`times` with the range-query grid points between the first and the last added: gaps become explicit."""
    if not times:
        return []
    first, last = (round((t - start_ms) / step_ms) for t in (min(times), max(times)))
    return sorted(times | {start_ms + k * step_ms for k in range(first, last + 1)})
