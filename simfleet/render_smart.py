"""smartctl -a output, text and JSON (-j), for SATA and NVMe disks; the exit status is smartctl's bitmask."""

from __future__ import annotations

import time
from typing import Any

from simfleet.hardware import Disk, HostProfile
from simfleet.pretty_json import dumps_indent2
from simfleet.smart_attrs import attributes, flag_string

BUILDS = {
    "7.1": ("2019-12-30", 5022, "19"),
    "7.2": ("2020-12-30", 5155, "20"),
    "7.3": ("2022-02-28", 5338, "22"),
    "7.4": ("2023-08-01", 5530, "23"),
}
OUI = {
    "ST": 0x000C50,
    "HGST": 0x000CCA,
    "WDC": 0x0014EE,
    "TOSHIBA": 0x000039,
    "SAMSUNG": 0x002538,
    "INTEL": 0x5CD2E4,
    "Micron": 0x00A075,
}
CW_TEXT = {
    0x01: "available spare has fallen below threshold",
    0x02: "temperature is above or below threshold",
    0x04: "NVM subsystem reliability has been degraded",
    0x08: "media has been placed in read only mode",
    0x10: "volatile memory backup device has failed",
    0x20: "persistent memory region has become read-only or unreliable",
}
_CW_KEYS = {
    0x01: "spare_below_threshold",
    0x02: "temperature_above_or_below_threshold",
    0x04: "reliability_degraded",
    0x08: "media_read_only",
    0x10: "volatile_memory_backup_failed",
    0x20: "persistent_memory_region_unreliable",
}


def local_time(p: HostProfile) -> tuple[int, str]:
    """The host's clock as smartctl's local_time (time_t, asctime)."""
    t = int(p.now)
    return t, time.strftime("%a %b %e %H:%M:%S %Y UTC", time.gmtime(t))


def banner(p: HostProfile) -> str:
    """The two banner lines smartctl prints first."""
    date, rev, year = BUILDS[p.os.smartctl]
    return (
        f"smartctl {p.os.smartctl} {date} r{rev} [x86_64-linux-{p.kernel}] (local build)\n"
        f"Copyright (C) 2002-{year}, Bruce Allen, Christian Franke, www.smartmontools.org\n\n"
    )


def exit_status(d: Disk) -> int:
    """smartctl's exit bitmask for this disk: 8 failing, 16 prefail attribute, 64 error log."""
    s = d.smart
    if d.model.kind == "nvme":
        return 8 if s.critical_warning else 0
    return (24 if s.failed else 0) | (64 if s.error_log_count else 0)


def _passed(d: Disk) -> bool:
    return not (d.smart.failed or d.smart.critical_warning)


def _smartctl_block(p: HostProfile, argv: list[str], status: int) -> dict[str, Any]:
    _, rev, _ = BUILDS[p.os.smartctl]
    block: dict[str, Any] = {
        "version": [int(x) for x in p.os.smartctl.split(".")],
        "svn_revision": str(rev),
        "platform_info": f"x86_64-linux-{p.kernel}",
        "build_info": "(local build)",
        "argv": argv,
    }
    if p.os.smartctl >= "7.3":
        block["drive_database_version"] = {"string": f"{p.os.smartctl}/{rev - 19}"}
    block["exit_status"] = status
    return block


def smart_json(p: HostProfile, d: Disk, path: str, argv: list[str]) -> str:
    """smartctl -j -a for one disk, pretty-printed with two-space indent like smartctl."""
    t, asc = local_time(p)
    nvme = d.model.kind == "nvme"
    doc: dict[str, Any] = {
        "json_format_version": [1, 0],
        "smartctl": _smartctl_block(p, argv, exit_status(d)),
        "local_time": {"time_t": t, "asctime": asc},
        "device": {
            "name": path,
            "info_name": path if nvme else f"{path} [SAT]",
            "type": "nvme" if nvme else "sat",
            "protocol": "NVMe" if nvme else "ATA",
        },
    }
    doc.update(_nvme_json(p, d) if nvme else _ata_json(p, d))
    return dumps_indent2(doc) + "\n"


def _ata_json(p: HostProfile, d: Disk) -> dict[str, Any]:
    m, s = d.model, d.smart
    oui = next((v for k, v in OUI.items() if m.model.startswith(k)), 0x0014EE)
    doc: dict[str, Any] = {}
    if m.family:
        doc["model_family"] = m.family
    doc.update(
        {
            "model_name": m.model,
            "serial_number": d.serial,
            "wwn": {"naa": 5, "oui": oui, "id": d.wwn},
            "firmware_version": m.firmware,
            "user_capacity": {"blocks": m.capacity // 512, "bytes": m.capacity},
            "logical_block_size": 512,
            "physical_block_size": 4096 if m.kind == "hdd" else 512,
            "rotation_rate": m.rpm,
            "form_factor": {
                "ata_value": 2 if m.kind == "hdd" else 3,
                "name": "3.5 inches" if m.kind == "hdd" else "2.5 inches",
            },
            "in_smartctl_database": m.family is not None,
            "ata_version": {"string": "ACS-3 T13/2161-D revision 5", "major_value": 2040, "minor_value": 109},
            "sata_version": {"string": "SATA 3.1", "value": 127},
            "smart_support": {"available": True, "enabled": True},
            "smart_status": {"passed": _passed(d)},
        }
    )
    rows = []
    for a in attributes(d):
        f = a.flags
        rows.append(
            {
                "id": a.id,
                "name": a.name,
                "value": a.value,
                "worst": a.worst,
                "thresh": a.thresh,
                "when_failed": a.when_failed,
                "flags": {
                    "value": f,
                    "string": flag_string(f) + " ",
                    "prefailure": bool(f & 1),
                    "updated_online": bool(f & 2),
                    "performance": bool(f & 4),
                    "error_rate": bool(f & 8),
                    "event_count": bool(f & 16),
                    "auto_keep": bool(f & 32),
                },
                "raw": {"value": a.raw_value, "string": a.raw_string},
            }
        )
    doc["ata_smart_attributes"] = {"revision": 16, "table": rows}
    doc["power_on_time"] = {"hours": d.power_on_hours}
    doc["power_cycle_count"] = d.power_cycles
    doc["temperature"] = {"current": d.temperature}
    doc["ata_smart_error_log"] = {"summary": {"revision": 1, "count": s.error_log_count}}
    doc["ata_smart_self_test_log"] = {"standard": {"revision": 1, "count": 0}}
    return doc


def _nvme_json(p: HostProfile, d: Disk) -> dict[str, Any]:
    m, s = d.model, d.smart
    status: dict[str, Any] = {"value": s.critical_warning}
    if s.critical_warning and p.os.smartctl >= "7.3":
        status.update({k: bool(s.critical_warning & bit) for bit, k in _CW_KEYS.items()})
    ns = {"blocks": m.capacity // 512, "bytes": m.capacity}
    return {
        "model_name": m.model,
        "serial_number": d.serial,
        "firmware_version": m.firmware,
        "nvme_pci_vendor": {"id": m.pci_vendor, "subsystem_id": m.pci_vendor},
        "nvme_ieee_oui_identifier": m.oui,
        "nvme_total_capacity": m.capacity,
        "nvme_unallocated_capacity": 0,
        "nvme_controller_id": 6,
        "nvme_version": {"string": "1.4", "value": 66560},
        "nvme_number_of_namespaces": 1,
        "nvme_namespaces": [{"id": 1, "size": ns, "capacity": ns, "utilization": ns, "formatted_lba_size": 512}],
        "user_capacity": ns,
        "logical_block_size": 512,
        "smart_support": {"available": True, "enabled": True},
        "smart_status": {"passed": _passed(d), "nvme": status},
        "nvme_smart_health_information_log": {
            "critical_warning": s.critical_warning,
            "temperature": d.temperature,
            "available_spare": s.available_spare,
            "available_spare_threshold": 10,
            "percentage_used": s.percentage_used,
            "data_units_read": d.power_on_hours * 41_000,
            "data_units_written": d.power_on_hours * 63_000,
            "host_reads": d.power_on_hours * 900_000,
            "host_writes": d.power_on_hours * 1_400_000,
            "controller_busy_time": d.power_on_hours // 7,
            "power_cycles": d.power_cycles,
            "power_on_hours": d.power_on_hours,
            "unsafe_shutdowns": d.power_cycles // 3,
            "media_errors": s.media_errors,
            "num_err_log_entries": s.error_log_count,
            "warning_temp_time": 0,
            "critical_comp_time": 0,
            "temperature_sensors": [d.temperature, d.temperature + 6],
        },
        "temperature": {"current": d.temperature},
        "power_cycle_count": d.power_cycles,
        "power_on_time": {"hours": d.power_on_hours},
    }


def open_failed(p: HostProfile, path: str, argv: list[str], as_json: bool) -> str:
    """What smartctl prints for a device that does not exist (exit status 2)."""
    msg = f"Smartctl open device: {path} failed: No such device"
    if not as_json:
        return banner(p) + msg + "\n"
    block = _smartctl_block(p, argv, 2)
    block["messages"] = [{"string": msg, "severity": "error"}]
    block["exit_status"] = block.pop("exit_status")
    return dumps_indent2({"json_format_version": [1, 0], "smartctl": block}) + "\n"
