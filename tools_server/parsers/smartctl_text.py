"""Field extraction from `smartctl -a` / `-x` text output, locale leaks included."""

from __future__ import annotations

import re
from typing import Any

# smartctl groups digits with the C library's locale: "," (C/en), "." (de), "’" (de_CH), U+202F (ru).
_GROUPED_RE = re.compile(r"\d+(?:[,.'’\u202f\u00a0]\d{3})*")
_SEPARATORS_RE = re.compile(r"[^\d]")
_BANNER_RE = re.compile(r"^smartctl\s+(\d+\.\d+)")
_KV_RE = re.compile(r"^([A-Za-z][^:]{0,60}?):\s*(.*)$")
_HEALTH_ATA_RE = re.compile(r"^SMART overall-health self-assessment test result:\s*(\S+)")
_HEALTH_SCSI_RE = re.compile(r"^SMART Health Status:\s*(.*)$")
_SCSI_TEMP_RE = re.compile(r"^Current temperature\s*=\s*(\d+)")
_SCSI_POH_ACCUM_RE = re.compile(r"Accumulated power on time, hours:minutes\s+([\d,.'’\u202f\u00a0]+):\d+")
_SCSI_POH_UP_RE = re.compile(r"number of hours powered up\s*=\s*([\d,.'’\u202f\u00a0]+)")
_STATS_POH_RE = re.compile(r"^0x01\s+0x010\s+\d+\s+([\d,.'’\u202f\u00a0]+)\s+\S+\s+Power-on Hours")
_WHEN_FAILED = {"FAILING_NOW": "now", "NOW": "now", "In_the_past": "past", "Past": "past"}
# Lines that mean "this is smartctl talking" even when hw-probe stripped the banner.
_SMARTCTL_MARKERS = ("=== START OF", "smartctl ", "Smartctl ", "SMART support is")


def first_int(raw: str) -> int | None:
    """First integer of a smartctl raw value ("29 (Min/Max 19/46)" -> 29, "0/174" -> 0), grouping removed."""
    match = _GROUPED_RE.search(raw)
    return int(_SEPARATORS_RE.sub("", match.group())) if match else None


def grouped_int(value: str) -> int | None:
    """Leading number of a field value with any locale grouping removed; the "[7,68 TB]" part is ignored."""
    head = value.split("[", 1)[0].split("(", 1)[0]
    match = re.search(r"\d[\d,.'’\u202f\u00a0 ]*", head)
    if match is None:
        return None
    return int(_SEPARATORS_RE.sub("", match.group()))


def _hours(value: str) -> int | None:
    # "5675,65" or "5.675,65": smartctl prints the fraction with two decimals, in the locale's style.
    return grouped_int(re.sub(r"[.,]\d{2}$", "", value.strip()))


def _key_values(lines: list[str]) -> dict[str, list[str]]:
    kv: dict[str, list[str]] = {}
    for line in lines:
        match = _KV_RE.match(line)
        if match:
            key = " ".join(match.group(1).split()).lower()
            kv.setdefault(key, []).append(match.group(2).strip())
    return kv


def _first(kv: dict[str, list[str]], *keys: str) -> str | None:
    for key in keys:
        if key in kv:
            return kv[key][0]
    return None


def _protocol(kv: dict[str, list[str]], text: str) -> str | None:
    if "model number" in kv or "critical warning" in kv or "(NVMe Log 0x02)" in text:
        return "NVMe"
    if "device model" in kv or "ata version is" in kv or "ID# ATTRIBUTE_NAME" in text:
        return "ATA"
    if ("vendor" in kv and "product" in kv) or "smart health status" in kv:
        return "SCSI"
    return None


def _attribute_table(lines: list[str]) -> list[dict[str, Any]]:
    attrs: list[dict[str, Any]] = []
    start = next((i for i, line in enumerate(lines) if line.startswith("ID# ATTRIBUTE_NAME")), None)
    if start is None:
        return attrs
    header = lines[start].split()
    if "WHEN_FAILED" in header:
        fields, fail_at = 10, 8  # -a: ... THRESH TYPE UPDATED WHEN_FAILED RAW_VALUE
    elif "FAIL" in header:
        fields, fail_at = 8, 6  # -x / -f brief: ... THRESH FAIL RAW_VALUE
    else:
        return attrs
    for line in lines[start + 1 :]:
        parts = line.split(None, fields - 1)
        if len(parts) < fields or not parts[0].isdigit():
            break
        raw = parts[-1].strip()
        attrs.append(
            {
                "id": int(parts[0]),
                "name": parts[1],
                "value": int(parts[3]) if parts[3].isdigit() else None,
                "worst": int(parts[4]) if parts[4].isdigit() else None,
                "thresh": int(parts[5]) if parts[5].isdigit() else None,
                "raw_string": raw,
                "raw_value": first_int(raw),
                "when_failed": _WHEN_FAILED.get(parts[fail_at]),
            }
        )
    return attrs


def _health(lines: list[str]) -> bool | None:
    for line in lines:
        ata = _HEALTH_ATA_RE.match(line)
        if ata:
            verdict = ata.group(1)
            return True if verdict == "PASSED" else False if verdict.startswith("FAILED") else None
        scsi = _HEALTH_SCSI_RE.match(line)
        if scsi:
            # SCSI reports "OK" or the sense text of a failure ("FAILURE PREDICTION THRESHOLD EXCEEDED ...").
            return scsi.group(1).strip() == "OK"
    return None


def _smart_supported(kv: dict[str, list[str]]) -> bool | None:
    for value in kv.get("smart support is", []):
        if value.startswith("Available"):
            return True
        if value.startswith("Unavailable"):
            return False
    return None


def _scsi_power_on_hours(text: str) -> int | None:
    for pattern in (_SCSI_POH_ACCUM_RE, _SCSI_POH_UP_RE):
        match = pattern.search(text)
        if match:
            return _hours(match.group(1))
    return None


def _bitmask(value: str | None) -> int | None:
    if value is None:
        return None
    if re.fullmatch(r"0x[0-9a-fA-F]+", value):
        return int(value, 16)
    return int(value) if value.isdigit() else None


def _int_of(kv: dict[str, list[str]], *keys: str) -> int | None:
    value = _first(kv, *keys)
    return grouped_int(value) if value is not None else None


def looks_like_smartctl(text: str) -> bool:
    """True when the text carries any line smartctl itself prints."""
    return any(line.startswith(_SMARTCTL_MARKERS) for line in text.splitlines())


def extract_text(text: str) -> dict[str, Any]:
    """Raw report fields from smartctl text; `protocol` is None when the output names no device."""
    lines = [line.rstrip("\r") for line in text.splitlines()]
    kv = _key_values(lines)
    protocol = _protocol(kv, text)
    banner = next((m for m in (_BANNER_RE.match(line) for line in lines[:5]) if m), None)
    fields: dict[str, Any] = {
        "source_format": "text",
        "protocol": protocol,
        "smartctl_version": banner.group(1) if banner else None,
        "serial": _first(kv, "serial number"),
        "smart_supported": _smart_supported(kv),
        "health_passed": _health(lines),
        "capacity_bytes": _int_of(kv, "user capacity", "total nvm capacity", "namespace 1 size/capacity"),
    }
    if protocol == "NVMe":
        fields |= {
            "model": _first(kv, "model number"),
            "firmware": _first(kv, "firmware version"),
            "nvme_critical_warning": _bitmask(_first(kv, "critical warning")),
            "percentage_used": _int_of(kv, "percentage used"),
            "media_errors": _int_of(kv, "media and data integrity errors"),
            "temperature_c": _int_of(kv, "temperature"),
            "power_on_hours": _int_of(kv, "power on hours"),
        }
    elif protocol == "SCSI":
        vendor, product = _first(kv, "vendor") or "", _first(kv, "product") or ""
        temp = next((m for m in map(_SCSI_TEMP_RE.match, lines) if m), None)
        fields |= {
            "model": " ".join(f"{vendor} {product}".split()) or None,
            "firmware": _first(kv, "revision"),
            "percentage_used": _int_of(kv, "percentage used endurance indicator"),
            "grown_defects": _int_of(kv, "elements in grown defect list"),
            "temperature_c": _int_of(kv, "current drive temperature") if temp is None else int(temp.group(1)),
            "power_on_hours": _scsi_power_on_hours(text),
        }
    elif protocol == "ATA":
        stats_poh = next((m for m in map(_STATS_POH_RE.match, lines) if m), None)
        fields |= {
            "model": _first(kv, "device model"),
            "firmware": _first(kv, "firmware version"),
            "attributes": _attribute_table(lines),
            "sct_temperature_c": _int_of(kv, "current temperature"),
            "stats_power_on_hours": grouped_int(stats_poh.group(1)) if stats_poh else None,
        }
    return fields
