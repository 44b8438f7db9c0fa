"""ATA SMART attribute tables for each disk family, filled from a disk's SMART state."""

from __future__ import annotations

from dataclasses import dataclass

from simfleet.hardware import Disk


@dataclass(frozen=True)
class Attr:
    """One row of the ATA attribute table."""

    id: int
    name: str
    flags: int
    value: int
    worst: int
    thresh: int
    raw_value: int
    raw_string: str
    when_failed: str  # "", "now" or "past"


# (id, name, flags, thresh, source): source names the SMART quantity the raw value shows.
_SETS: dict[str, tuple[tuple[int, str, int, int, str], ...]] = {
    "hdd": (
        (1, "Raw_Read_Error_Rate", 0x000B, 16, "zero"),
        (3, "Spin_Up_Time", 0x0007, 24, "spinup"),
        (4, "Start_Stop_Count", 0x0012, 0, "cycles"),
        (5, "Reallocated_Sector_Ct", 0x0033, 5, "realloc"),
        (7, "Seek_Error_Rate", 0x000B, 67, "zero"),
        (9, "Power_On_Hours", 0x0012, 0, "poh"),
        (10, "Spin_Retry_Count", 0x0013, 60, "zero"),
        (12, "Power_Cycle_Count", 0x0032, 0, "cycles"),
        (192, "Power-Off_Retract_Count", 0x0032, 0, "retract"),
        (193, "Load_Cycle_Count", 0x0012, 0, "retract"),
        (194, "Temperature_Celsius", 0x0002, 0, "temp"),
        (196, "Reallocated_Event_Count", 0x0032, 0, "events"),
        (197, "Current_Pending_Sector", 0x0022, 0, "pending"),
        (198, "Offline_Uncorrectable", 0x0008, 0, "offline"),
        (199, "UDMA_CRC_Error_Count", 0x000A, 0, "crc"),
    ),
    "samsung": (
        (5, "Reallocated_Sector_Ct", 0x0033, 10, "realloc"),
        (9, "Power_On_Hours", 0x0032, 0, "poh"),
        (12, "Power_Cycle_Count", 0x0032, 0, "cycles"),
        (177, "Wear_Leveling_Count", 0x0013, 5, "wearcount"),
        (179, "Used_Rsvd_Blk_Cnt_Tot", 0x0013, 10, "realloc"),
        (180, "Unused_Rsvd_Blk_Cnt_Tot", 0x0013, 10, "spare"),
        (181, "Program_Fail_Cnt_Total", 0x0032, 10, "zero"),
        (182, "Erase_Fail_Count_Total", 0x0032, 10, "zero"),
        (183, "Runtime_Bad_Block", 0x0013, 10, "realloc"),
        (184, "End-to-End_Error", 0x0033, 97, "zero"),
        (187, "Uncorrectable_Error_Cnt", 0x0032, 0, "offline"),
        (190, "Airflow_Temperature_Cel", 0x0032, 0, "air"),
        (194, "Temperature_Celsius", 0x0022, 0, "temp"),
        (195, "ECC_Error_Rate", 0x001A, 0, "crc"),
        (197, "Current_Pending_Sector", 0x0032, 0, "pending"),
        (199, "CRC_Error_Count", 0x003E, 0, "zero"),
        (235, "POR_Recovery_Count", 0x0012, 0, "cycles"),
        (241, "Total_LBAs_Written", 0x0032, 0, "written"),
    ),
    "intel": (
        (5, "Reallocated_Sector_Ct", 0x0032, 0, "realloc"),
        (9, "Power_On_Hours", 0x0032, 0, "poh"),
        (12, "Power_Cycle_Count", 0x0032, 0, "cycles"),
        (170, "Available_Reservd_Space", 0x0033, 10, "spare"),
        (171, "Program_Fail_Count", 0x0032, 0, "zero"),
        (172, "Erase_Fail_Count", 0x0032, 0, "zero"),
        (174, "Unsafe_Shutdown_Count", 0x0032, 0, "cycles"),
        (183, "SATA_Downshift_Count", 0x0032, 0, "zero"),
        (184, "End-to-End_Error", 0x0033, 90, "zero"),
        (187, "Reported_Uncorrect", 0x0032, 0, "offline"),
        (190, "Temperature_Case", 0x0022, 0, "temp"),
        (192, "Unsafe_Shutdown_Count", 0x0032, 0, "cycles"),
        (194, "Temperature_Internal", 0x0022, 0, "air"),
        (197, "Current_Pending_Sector", 0x0012, 0, "pending"),
        (199, "CRC_Error_Count", 0x003E, 0, "zero"),
        (225, "Host_Writes_32MiB", 0x0032, 0, "written"),
        (232, "Available_Reservd_Space", 0x0033, 10, "spare"),
        (233, "Media_Wearout_Indicator", 0x0032, 0, "zero"),
        (241, "Host_Writes_32MiB", 0x0032, 0, "written"),
        (242, "Host_Reads_32MiB", 0x0032, 0, "written"),
    ),
    "micron": (
        (1, "Raw_Read_Error_Rate", 0x002F, 50, "zero"),
        (5, "Reallocate_NAND_Blk_Cnt", 0x0032, 10, "realloc"),
        (9, "Power_On_Hours", 0x0032, 0, "poh"),
        (12, "Power_Cycle_Count", 0x0032, 0, "cycles"),
        (171, "Program_Fail_Count", 0x0032, 0, "zero"),
        (172, "Erase_Fail_Count", 0x0032, 0, "zero"),
        (173, "Ave_Block-Erase_Count", 0x0032, 0, "wearcount"),
        (174, "Unexpect_Power_Loss_Ct", 0x0032, 0, "cycles"),
        (183, "SATA_Interfac_Downshift", 0x0032, 0, "zero"),
        (184, "Error_Correction_Count", 0x0032, 0, "zero"),
        (187, "Reported_Uncorrect", 0x0032, 0, "offline"),
        (194, "Temperature_Celsius", 0x0022, 0, "temp"),
        (196, "Reallocated_Event_Count", 0x0032, 0, "events"),
        (197, "Current_Pending_ECC_Cnt", 0x0032, 0, "pending"),
        (198, "Offline_Uncorrectable", 0x0030, 0, "offline"),
        (199, "UDMA_CRC_Error_Count", 0x0032, 0, "zero"),
        (202, "Percent_Lifetime_Remain", 0x0031, 1, "lifetime"),
        (206, "Write_Error_Rate", 0x000E, 0, "zero"),
        (246, "Total_LBAs_Written", 0x0032, 0, "written"),
    ),
}
# The attribute(s) whose normalised value drops below threshold when the disk fails.
_FAILING = {"hdd": (5,), "samsung": (5, 179, 183), "intel": (232, 170), "micron": (202,)}


def flag_string(flags: int) -> str:
    """smartctl's brief flag letters, e.g. 0x0033 -> 'PO--CK'."""
    return "".join(ch if flags & bit else "-" for ch, bit in zip("POSRCK", (1, 2, 4, 8, 16, 32), strict=True))


def attributes(disk: Disk) -> list[Attr]:
    """The attribute table of an ATA disk in its current SMART state."""
    s, kind = disk.smart, disk.model.attrs
    wear = min(99, disk.power_on_hours // 900)
    temp = disk.temperature
    raw: dict[str, tuple[int, str]] = {
        "zero": (0, "0"),
        "cycles": (disk.power_cycles, str(disk.power_cycles)),
        "poh": (disk.power_on_hours, str(disk.power_on_hours)),
        "realloc": (s.reallocated, str(s.reallocated)),
        "events": (min(s.reallocated, s.reallocated // 3 + (1 if s.reallocated else 0)), ""),
        "pending": (s.pending, str(s.pending)),
        "offline": (s.offline_unc, str(s.offline_unc)),
        "crc": (0, "0"),
        "spinup": (0, "0"),
        "retract": (disk.power_cycles * 37, str(disk.power_cycles * 37)),
        "temp": (temp | 18 << 16 | (temp + 14) << 32, f"{temp} (Min/Max 18/{temp + 14})"),
        "air": (temp, str(temp)),
        "wearcount": (wear * 30, str(wear * 30)),
        "spare": (0, "0"),
        "written": (disk.power_on_hours * 91_000, str(disk.power_on_hours * 91_000)),
        "lifetime": (wear, str(wear)),
    }
    out = []
    failing = _FAILING[kind] if s.failed else ()
    for aid, name, flags, thresh, src in _SETS[kind]:
        rv, rs = raw[src]
        rs = rs or str(rv)
        value = worst = 100
        if src == "poh":
            value = worst = max(1, 100 - disk.power_on_hours // 8760)
        elif src == "crc":
            value = worst = 200
        elif src in ("temp", "air"):
            value = min(253, 6000 // temp) if kind == "hdd" and "HGST" in disk.model.model else 100 - temp + 20
            worst = value - 9
        elif src in ("wearcount", "lifetime"):
            value = worst = 100 - wear
        elif src == "realloc" and s.reallocated:
            value = worst = 100 if s.reallocated < 100 else 99
        when = ""
        if aid in failing:
            value = worst = max(1, thresh - 2) if thresh > 2 else 1
            when = "now"
        out.append(Attr(aid, name, flags, value, worst, thresh, rv, rs, when))
    return out
