"""Field extraction from `smartctl -j` output, across the key layouts of smartctl 6.x to 7.x."""

from __future__ import annotations

from typing import Any

from tools_server.parsers.smartctl_text import first_int

_WHEN_FAILED = {"now": "now", "past": "past"}


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    # bool is an int subclass: a stray true must not read as 1.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _str(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _first_int(*values: Any) -> int | None:
    return next((v for v in map(_int, values) if v is not None), None)


def protocol_of(data: dict[str, Any]) -> str | None:
    """The device protocol smartctl reports, else inferred from which key families are present."""
    declared = _str(_obj(data.get("device")).get("protocol"))
    if declared in ("ATA", "NVMe", "SCSI"):
        return declared
    keys = set(data)
    if any(k.startswith("nvme_") for k in keys):
        return "NVMe"
    if any(k.startswith("ata_") for k in keys):
        return "ATA"
    if any(k.startswith("scsi_") for k in keys) or {"vendor", "product"} <= keys:
        return "SCSI"
    return None


def messages(data: dict[str, Any]) -> list[str]:
    """The messages smartctl attached to its answer (errors such as "open device ... failed")."""
    raw = _obj(data.get("smartctl")).get("messages")
    items = raw if isinstance(raw, list) else []
    return [s for s in (_str(_obj(m).get("string")) for m in items) if s]


def _model(data: dict[str, Any]) -> str | None:
    model = _str(data.get("model_name")) or _str(data.get("scsi_model_name"))
    if model:
        return model
    # smartctl 6.x has vendor/product, 7.3+ scsi_vendor/scsi_product: either may lack the joined name.
    vendor = _str(data.get("scsi_vendor")) or _str(data.get("vendor")) or ""
    product = _str(data.get("scsi_product")) or _str(data.get("product")) or ""
    return " ".join(f"{vendor} {product}".split()) or None


def _capacity(data: dict[str, Any]) -> int | None:
    namespaces = data.get("nvme_namespaces")
    first_ns = _obj(namespaces[0]) if isinstance(namespaces, list) and namespaces else {}
    return _first_int(
        _obj(data.get("user_capacity")).get("bytes"),
        data.get("nvme_total_capacity"),
        _obj(first_ns.get("size")).get("bytes"),
        _obj(first_ns.get("capacity")).get("bytes"),
    )


def _version(data: dict[str, Any]) -> str | None:
    version = _obj(data.get("smartctl")).get("version")
    if isinstance(version, list) and len(version) >= 2 and all(_int(v) is not None for v in version[:2]):
        return f"{version[0]}.{version[1]}"
    return None


def _attributes(data: dict[str, Any]) -> list[dict[str, Any]]:
    table = _obj(data.get("ata_smart_attributes")).get("table")
    out: list[dict[str, Any]] = []
    for item in table if isinstance(table, list) else []:
        entry = _obj(item)
        attr_id = _int(entry.get("id"))
        if attr_id is None:
            continue
        raw = _obj(entry.get("raw"))
        # raw.value of temperature attributes packs min/max into 48 bits; raw.string is what smartctl prints.
        raw_number = _int(raw.get("value"))
        raw_string = _str(raw.get("string")) or ("" if raw_number is None else str(raw_number))
        when_failed = _str(entry.get("when_failed"))
        out.append(
            {
                "id": attr_id,
                "name": _str(entry.get("name")) or f"Attribute_{attr_id}",
                "value": _int(entry.get("value")),
                "worst": _int(entry.get("worst")),
                "thresh": _int(entry.get("thresh")),
                "raw_string": raw_string,
                "raw_value": first_int(raw_string),
                "when_failed": _WHEN_FAILED.get((when_failed or "").lower()),
            }
        )
    return out


def extract_json(data: dict[str, Any]) -> dict[str, Any]:
    """Raw report fields from decoded smartctl JSON; `protocol` is None when it names no device."""
    nvme_log = _obj(data.get("nvme_smart_health_information_log"))
    smart_status = _obj(data.get("smart_status"))
    return {
        "source_format": "json",
        "protocol": protocol_of(data),
        "device": _str(_obj(data.get("device")).get("name")),
        "smartctl_version": _version(data),
        "exit_status": _int(_obj(data.get("smartctl")).get("exit_status")),
        "model": _model(data),
        "serial": _str(data.get("serial_number")),
        "firmware": _str(data.get("firmware_version")) or _str(data.get("scsi_revision")) or _str(data.get("revision")),
        "capacity_bytes": _capacity(data),
        "smart_supported": _bool(_obj(data.get("smart_support")).get("available")),
        "health_passed": _bool(smart_status.get("passed")),
        "nvme_critical_warning": _first_int(
            nvme_log.get("critical_warning"), _obj(smart_status.get("nvme")).get("value")
        ),
        "percentage_used": _first_int(
            nvme_log.get("percentage_used"), data.get("scsi_percentage_used_endurance_indicator")
        ),
        "media_errors": _int(nvme_log.get("media_errors")),
        "grown_defects": _int(data.get("scsi_grown_defect_list")),
        "temperature_c": _first_int(_obj(data.get("temperature")).get("current"), nvme_log.get("temperature")),
        "power_on_hours": _first_int(_obj(data.get("power_on_time")).get("hours"), nvme_log.get("power_on_hours")),
        "attributes": _attributes(data),
    }
