"""smartctl -a plain-text output for SATA and NVMe disks (LC_ALL=C: ',' thousands separators)."""

from __future__ import annotations

from simfleet.disk_models import si_size
from simfleet.hardware import Disk, HostProfile
from simfleet.render_smart import BUILDS, CW_TEXT, OUI, banner, local_time
from simfleet.smart_attrs import attributes

_ATA_GENERAL = """General SMART Values:
Offline data collection status:  (0x82)\tOffline data collection activity
\t\t\t\t\twas completed without error.
\t\t\t\t\tAuto Offline Data Collection: Enabled.
Self-test execution status:      (   0)\tThe previous self-test routine completed
\t\t\t\t\twithout error or no self-test has ever 
\t\t\t\t\tbeen run.
Total time to complete Offline 
data collection: \t\t(  {offline}) seconds.
Offline data collection
capabilities: \t\t\t (0x7b) SMART execute Offline immediate.
\t\t\t\t\tAuto Offline data collection on/off support.
\t\t\t\t\tSuspend Offline collection upon new
\t\t\t\t\tcommand.
\t\t\t\t\tOffline surface scan supported.
\t\t\t\t\tSelf-test supported.
\t\t\t\t\tConveyance Self-test supported.
\t\t\t\t\tSelective Self-test supported.
SMART capabilities:            (0x0003)\tSaves SMART data before entering
\t\t\t\t\tpower-saving mode.
\t\t\t\t\tSupports SMART auto save timer.
Error logging capability:        (0x01)\tError logging supported.
\t\t\t\t\tGeneral Purpose Logging supported.
Short self-test routine 
recommended polling time: \t (   2) minutes.
Extended self-test routine
recommended polling time: \t ( {extended}) minutes.
SCT capabilities: \t       (0x003d)\tSCT Status supported.
\t\t\t\t\tSCT Error Recovery Control supported.
\t\t\t\t\tSCT Feature Control supported.
\t\t\t\t\tSCT Data Table supported.

"""


def _grouped(n: int) -> str:
    return f"{n:,}"


def smart_text(p: HostProfile, d: Disk) -> str:
    """smartctl -a for one disk."""
    return banner(p) + (_nvme_text(p, d) if d.model.kind == "nvme" else _ata_text(p, d))


def _ata_text(p: HostProfile, d: Disk) -> str:
    m, s = d.model, d.smart
    _, asc = local_time(p)
    _, rev, _ = BUILDS[p.os.smartctl]
    oui = next((v for k, v in OUI.items() if m.model.startswith(k)), 0x0014EE)
    db = f"{p.os.smartctl}/{rev - 19}" if p.os.smartctl >= "7.3" else "[for details use: -P show]"
    hdd = m.kind == "hdd"
    lines = ["=== START OF INFORMATION SECTION ==="]
    if m.family:
        lines.append(f"Model Family:     {m.family}")
    lines += [
        f"Device Model:     {m.model}",
        f"Serial Number:    {d.serial}",
        f"LU WWN Device Id: 5 {oui:06x} {d.wwn:09x}",
        f"Firmware Version: {m.firmware}",
        f"User Capacity:    {_grouped(m.capacity)} bytes [{si_size(m.capacity)}]",
        "Sector Sizes:     512 bytes logical, 4096 bytes physical"
        if hdd
        else "Sector Size:      512 bytes logical/physical",
        f"Rotation Rate:    {m.rpm} rpm" if hdd else "Rotation Rate:    Solid State Device",
        f"Form Factor:      {'3.5' if hdd else '2.5'} inches",
        f"Device is:        In smartctl database {db}"
        if m.family
        else f"Device is:        Not in smartctl database {db}",
        "ATA Version is:   ACS-3 T13/2161-D revision 5",
        "SATA Version is:  SATA 3.1, 6.0 Gb/s (current: 6.0 Gb/s)",
        f"Local Time is:    {asc}",
        "SMART support is: Available - device has SMART capability.",
        "SMART support is: Enabled",
        "",
        "=== START OF READ SMART DATA SECTION ===",
    ]
    if s.failed:
        lines += [
            "SMART overall-health self-assessment test result: FAILED!",
            "Drive failure expected in less than 24 hours. SAVE ALL DATA.",
            "See vendor-specific Attribute list for failed Attributes.",
            "",
        ]
    else:
        lines += ["SMART overall-health self-assessment test result: PASSED", ""]
    out = "\n".join(lines) + "\n"
    out += _ATA_GENERAL.format(offline=" 0" if not hdd else "24", extended=" 45" if not hdd else "574")
    rows = [
        "SMART Attributes Data Structure revision number: 16",
        "Vendor Specific SMART Attributes with Thresholds:",
        "ID# ATTRIBUTE_NAME          FLAG     VALUE WORST THRESH TYPE      UPDATED  WHEN_FAILED RAW_VALUE",
    ]
    for a in attributes(d):
        when = {"now": "FAILING_NOW", "past": "In_the_past"}.get(a.when_failed, "    -")
        rows.append(
            f"{a.id:3d} {a.name:<24}0x{a.flags:04x}   {a.value:03d}   {a.worst:03d}   {a.thresh:03d}    "
            f"{'Pre-fail' if a.flags & 1 else 'Old_age':<10}{'Always' if a.flags & 2 else 'Offline':<9}"
            f"{when:<12}{a.raw_string}"
        )
    rows += ["", "SMART Error Log Version: 1"]
    if s.error_log_count:
        poh = d.power_on_hours - 3
        rows += [
            f"ATA Error Count: {s.error_log_count} (device log contains only the most recent five errors)",
            "\tCR = Command Register [HEX]",
            "\tFR = Features Register [HEX]",
            "\tSC = Sector Count Register [HEX]",
            "\tSN = Sector Number Register [HEX]",
            "\tCL = Cylinder Low Register [HEX]",
            "\tCH = Cylinder High Register [HEX]",
            "\tDH = Device/Head Register [HEX]",
            "\tDC = Device Command Register [HEX]",
            "\tER = Error register [HEX]",
            "\tST = Status register [HEX]",
            "Powered_Up_Time is measured from power on, and printed as",
            "DDd+hh:mm:SS.sss where DD=days, hh=hours, mm=minutes,",
            'SS=sec, and sss=millisec. It "wraps" after 49.710 days.',
            "",
            f"Error {s.error_log_count} occurred at disk power-on lifetime: {poh} hours "
            f"({poh // 24} days + {poh % 24} hours)",
            "  When the command that caused the error occurred, the device was active or idle.",
            "",
            "  After command completion occurred, registers were:",
            "  ER ST SC SN CL CH DH",
            "  -- -- -- -- -- -- --",
            "  40 51 00 ff ff ff 0f  Error: UNC at LBA = 0x0fffffff = 268435455",
            "",
        ]
    else:
        rows += ["No Errors Logged", ""]
    rows += [
        "SMART Self-test log structure revision number 1",
        "No self-tests have been logged.  [To run self-tests, use: smartctl -t]",
        "",
        "SMART Selective self-test log data structure revision number 1",
        " SPAN  MIN_LBA  MAX_LBA  CURRENT_TEST_STATUS",
    ]
    rows += [f"    {i}        0        0  Not_testing" for i in range(1, 6)]
    rows += [
        "Selective self-test flags (0x0):",
        "  After scanning selected spans, do NOT read-scan remainder of disk.",
        "If Selective self-test is pending on power-up, resume after 0 minute delay.",
        "",
    ]
    return out + "\n".join(rows) + "\n"


def _nvme_text(p: HostProfile, d: Disk) -> str:
    m, s = d.model, d.smart
    _, asc = local_time(p)
    cap = f"{_grouped(m.capacity)} [{si_size(m.capacity)}]"
    lines = [
        "=== START OF INFORMATION SECTION ===",
        f"{'Model Number:':<36}{m.model}",
        f"{'Serial Number:':<36}{d.serial}",
        f"{'Firmware Version:':<36}{m.firmware}",
        f"{'PCI Vendor/Subsystem ID:':<36}0x{m.pci_vendor:04x}",
        f"{'IEEE OUI Identifier:':<36}0x{m.oui:06x}",
        f"{'Total NVM Capacity:':<36}{cap}",
        f"{'Unallocated NVM Capacity:':<36}0",
        f"{'Controller ID:':<36}6",
        f"{'NVMe Version:':<36}1.4",
        f"{'Number of Namespaces:':<36}1",
        f"{'Namespace 1 Size/Capacity:':<36}{cap}",
        f"{'Namespace 1 Formatted LBA Size:':<36}512",
        f"{'Local Time is:':<36}{asc}",
        "",
        "=== START OF SMART DATA SECTION ===",
    ]
    if s.critical_warning:
        lines.append("SMART overall-health self-assessment test result: FAILED!")
        lines += [f"- {text}" for bit, text in CW_TEXT.items() if s.critical_warning & bit]
    else:
        lines.append("SMART overall-health self-assessment test result: PASSED")
    poh = d.power_on_hours
    health = [
        ("Critical Warning:", f"0x{s.critical_warning:02x}"),
        ("Temperature:", f"{d.temperature} Celsius"),
        ("Available Spare:", f"{s.available_spare}%"),
        ("Available Spare Threshold:", "10%"),
        ("Percentage Used:", f"{s.percentage_used}%"),
        ("Data Units Read:", f"{_grouped(poh * 41_000)} [{si_size(poh * 41_000 * 512_000)}]"),
        ("Data Units Written:", f"{_grouped(poh * 63_000)} [{si_size(poh * 63_000 * 512_000)}]"),
        ("Host Read Commands:", _grouped(poh * 900_000)),
        ("Host Write Commands:", _grouped(poh * 1_400_000)),
        ("Controller Busy Time:", _grouped(poh // 7)),
        ("Power Cycles:", _grouped(d.power_cycles)),
        ("Power On Hours:", _grouped(poh)),
        ("Unsafe Shutdowns:", _grouped(d.power_cycles // 3)),
        ("Media and Data Integrity Errors:", _grouped(s.media_errors)),
        ("Error Information Log Entries:", _grouped(s.error_log_count)),
        ("Warning  Comp. Temperature Time:", "0"),
        ("Critical Comp. Temperature Time:", "0"),
        ("Temperature Sensor 1:", f"{d.temperature} Celsius"),
        ("Temperature Sensor 2:", f"{d.temperature + 6} Celsius"),
    ]
    lines += ["", "SMART/Health Information (NVMe Log 0x02)"] + [f"{k:<36}{v}" for k, v in health]
    lines += ["", "Error Information (NVMe Log 0x01, 16 of 64 entries)"]
    lines.append(
        "No Errors Logged"
        if not s.error_log_count
        else "Num   ErrCount  SQId   CmdId  Status  PELoc          LBA  NSID    VS\n"
        f"  0 {s.error_log_count:10d}     0  0x0014  0x4004  0x028            0     0     -"
    )
    return "\n".join(lines) + "\n\n"
