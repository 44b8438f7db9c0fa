"""Parse smartctl output (`-j -a` JSON of smartctl 6.x-7.x, or `-a` / `-x` text) into one SmartReport."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from tools_server.parsers.errors import ParseError
from tools_server.parsers.smartctl_json import extract_json, messages
from tools_server.parsers.smartctl_text import extract_text, looks_like_smartctl

_EXCERPT = 120
_EXPECTED = "expected smartctl output (`smartctl -j -a` JSON or `-a`/`-x` text)"
# Attribute 9 counts in the unit its name says, unless smartctl already printed it as "600h+30m".
_POWER_ON_DIVISORS = {"Power_On_Minutes": 60, "Power_On_Half_Minutes": 120, "Power_On_Seconds": 3600}


class SmartAttribute(BaseModel):
    """One row of the ATA SMART attribute table."""

    id: int
    name: str
    value: int | None
    worst: int | None
    thresh: int | None = Field(description='None when printed as "---"')
    raw_value: int | None = Field(description="First integer of raw_string (never JSON's packed raw.value)")
    raw_string: str
    when_failed: Literal["now", "past"] | None


class SmartReport(BaseModel):
    """What one disk's smartctl output says about its identity and health; null where not applicable."""

    source_format: Literal["json", "text"]
    device: str | None = None
    protocol: Literal["ATA", "NVMe", "SCSI"] = Field(
        description='As smartctl reports it: an NVMe behind a RAID controller is "SCSI" (Vendor "NVMe")'
    )
    smartctl_version: str | None = None
    exit_status: int | None = Field(
        default=None,
        description="smartctl's exit bitmask (JSON only); non-zero does not mean data is missing",
    )
    model: str | None = Field(default=None, description='ATA/NVMe model; SCSI "vendor product"')
    serial: str | None = Field(default=None, description='As printed, possibly masked ("--", "REDACTED")')
    firmware: str | None = None
    capacity_bytes: int | None = Field(
        default=None, description="User Capacity, else Total NVM Capacity, else namespace 1 size"
    )
    smart_supported: bool | None = Field(default=None, description="The device's own claim; None if not stated")
    smart_available: bool = Field(
        default=False, description="SMART data is really there (False for RAID volumes and virtual disks)"
    )
    health_passed: bool | None = Field(default=None, description="Overall verdict; None when none reported")
    reallocated_sectors: int | None = Field(default=None, description="ATA attribute 5 raw, whatever its name")
    pending_sectors: int | None = Field(default=None, description="ATA attribute 197 raw")
    nvme_critical_warning: int | None = Field(default=None, description="NVMe critical warning bitmask")
    percentage_used: int | None = Field(
        default=None, description="NVMe or SCSI endurance used, may exceed 100; None for ATA"
    )
    media_errors: int | None = Field(default=None, description="NVMe media and data integrity errors")
    grown_defects: int | None = Field(default=None, description="SCSI elements in grown defect list")
    temperature_c: int | None = Field(
        default=None, description="Current temperature as reported; no-SMART devices report 0"
    )
    power_on_hours: int | None = None
    failing_attributes: list[str] = Field(default_factory=list, description="ATA attributes failing now")
    attributes: list[SmartAttribute] = Field(default_factory=list)


def _excerpt(text: str) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return repr(line if len(line) <= _EXCERPT else line[:_EXCERPT] + "...")


def _not_smartctl(text: str) -> ParseError:
    if looks_like_smartctl(text):
        said = [
            line
            for line in text.splitlines()
            if line.strip() and not line.startswith(("smartctl ", "Copyright", "=== START OF"))
        ]
        return ParseError(f"smartctl output names no device; smartctl said: {_excerpt(chr(10).join(said))}")
    return ParseError(f"{_EXPECTED}; first line found: {_excerpt(text)}")


def _decode(text: str) -> dict[str, Any]:
    try:
        data, _ = json.JSONDecoder().raw_decode(text.lstrip())
    except json.JSONDecodeError as exc:
        msg = (
            f"smartctl JSON could not be decoded ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            f"first line found: {_excerpt(text)}"
        )
        raise ParseError(msg) from exc
    if not isinstance(data, dict) or not ({"smartctl", "json_format_version"} & set(data)):
        shape = sorted(data)[:8] if isinstance(data, dict) else type(data).__name__
        msg = f"expected smartctl -j JSON (an object with a 'smartctl' key), got JSON of another shape: {shape}"
        raise ParseError(msg)
    return data


def _power_on_hours(attr: SmartAttribute | None) -> int | None:
    if attr is None or attr.raw_value is None:
        return None
    if "h+" in attr.raw_string:
        return attr.raw_value
    return attr.raw_value // _POWER_ON_DIVISORS.get(attr.name, 1)


def _derive(fields: dict[str, Any], attrs: list[SmartAttribute]) -> None:
    # Truth rules: sectors are attributes 5/197 whatever their name; temperature 194, else 190, else SCT.
    sct_temperature = fields.pop("sct_temperature_c", None)
    stats_hours = fields.pop("stats_power_on_hours", None)
    by_id: dict[int, SmartAttribute] = {}
    for attr in attrs:
        by_id.setdefault(attr.id, attr)
    if fields["protocol"] == "ATA":
        fields["reallocated_sectors"] = by_id[5].raw_value if 5 in by_id else None
        fields["pending_sectors"] = by_id[197].raw_value if 197 in by_id else None
        if fields.get("temperature_c") is None:
            temps = [by_id[i].raw_value for i in (194, 190) if i in by_id] + [sct_temperature]
            fields["temperature_c"] = next((t for t in temps if t is not None), None)
        if fields.get("power_on_hours") is None:
            hours = _power_on_hours(by_id.get(9))
            fields["power_on_hours"] = stats_hours if hours is None else hours
    fields["attributes"] = attrs
    fields["failing_attributes"] = [a.name for a in attrs if a.when_failed == "now"]
    evidence = [fields.get(k) for k in ("health_passed", "nvme_critical_warning", "grown_defects")]
    fields["smart_available"] = fields.get("smart_supported") is not False and (
        bool(attrs) or any(v is not None for v in evidence) or fields.get("percentage_used") is not None
    )


def parse_smartctl(text: str, *, device: str | None = None) -> SmartReport:
    """Parse smartctl JSON or text output; `device` names the disk when the output itself does not."""
    if not text.strip():
        raise ParseError(f"{_EXPECTED}, got empty input")
    if text.lstrip().startswith(("{", "[")):
        data = _decode(text)
        fields = extract_json(data)
        if fields["protocol"] is None:
            said = "; ".join(messages(data)) or "no messages"
            msg = f"smartctl JSON names no device (exit status {fields['exit_status']}): {said}"
            raise ParseError(msg)
    else:
        fields = extract_text(text)
        if fields["protocol"] is None:
            raise _not_smartctl(text)
    try:
        attrs = [SmartAttribute.model_validate(a) for a in fields.pop("attributes", [])]
        _derive(fields, attrs)
        if fields.get("device") is None:
            fields["device"] = device
        return SmartReport.model_validate(fields)
    except ValidationError as exc:
        msg = f"smartctl output has an unexpected value: {exc.errors()[0]['msg']} at {exc.errors()[0]['loc']}"
        raise ParseError(msg) from exc
