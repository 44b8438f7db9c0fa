"""Time at the store boundary: naive database datetimes in the store's zone, aware datetimes, ISO strings, durations."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DB_FORMAT = "%Y-%m-%d %H:%M:%S"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def resolve_zone(name: str) -> tzinfo:
    """Return the zone called `name` (IANA, e.g. Asia/Shanghai), or the process's zone for "local"."""
    if name == "local":
        local = datetime.now().astimezone().tzinfo
        assert local is not None  # astimezone() always sets one
        return local
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        msg = f"unknown timezone {name!r}: use an IANA name such as Asia/Shanghai or UTC, or 'local'"
        raise ValueError(msg) from exc


def aware(dt: datetime, tz: tzinfo) -> datetime:
    """Return `dt` in zone `tz`; a naive datetime is taken to be in `tz` already."""
    return dt.replace(tzinfo=tz) if dt.tzinfo is None else dt.astimezone(tz)


def to_db(dt: datetime, tz: tzinfo) -> str:
    """Format `dt` as the naive local text the reference schema stores (seconds precision)."""
    return aware(dt, tz).strftime(DB_FORMAT)


def from_db(value: object, tz: tzinfo) -> str:
    """Turn a DATETIME from either driver (datetime or text) into an ISO string carrying the offset."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        dt = datetime.fromisoformat(value.strip())
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    else:
        msg = f"not a datetime from the database: {value!r}"
        raise TypeError(msg)
    return aware(dt, tz).isoformat()


def day_text(value: object) -> str:
    """Turn a DATE from either driver into YYYY-MM-DD."""
    return value.isoformat()[:10] if isinstance(value, date) else str(value)[:10]


def parse_duration(text: str) -> timedelta | None:
    """Parse "30m", "6h", "7d", "2w", "90s" into a timedelta; None when `text` is not a duration."""
    m = _DURATION.fullmatch(text)
    if not m:
        return None
    return timedelta(seconds=float(m.group(1)) * _UNIT_SECONDS[m.group(2).lower()])


def parse_point(text: str, now: datetime, tz: tzinfo) -> datetime:
    """Parse a window bound: a duration back from `now`, or an ISO timestamp (naive ones are in `tz`)."""
    delta = parse_duration(text)
    if delta is not None:
        return aware(now, tz) - delta
    try:
        return aware(datetime.fromisoformat(text.strip()), tz)
    except ValueError:
        msg = f"{text!r} is neither a duration (30m, 6h, 7d, 2w) nor an ISO 8601 timestamp (2024-05-01T08:00:00+08:00)"
        raise ValueError(msg) from None
