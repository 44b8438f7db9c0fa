"""dmidecode text output (types 1, 2, 16, 17, 32, 41) in the layout of the host's dmidecode version."""

from __future__ import annotations

from simfleet.boards import JEDEC_HEX, JEDEC_ID, VENDOR_NAMES, Board
from simfleet.hardware import Dimm, HostProfile

TYPE_KEYWORDS = {
    "bios": (0, 13),
    "system": (1, 12, 15, 23, 32),
    "baseboard": (2, 10, 41),
    "chassis": (3,),
    "processor": (4,),
    "memory": (5, 6, 16, 17),
    "cache": (7,),
    "connector": (8,),
    "slot": (9,),
}


def _ver(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("."))


def _size(mib: int, dmi: str, module: bool) -> str:
    """Format a size the way this dmidecode version does."""
    if _ver(dmi) >= (3, 7):
        units = ("MiB", "GiB", "TiB")
    else:
        units = ("MB", "GB", "TB")
        if module and _ver(dmi) <= (3, 2) and mib < 32 * 1024:
            return f"{mib} MB"
    value, i = mib, 0
    while value % 1024 == 0 and value >= 1024 and i < 2:
        value //= 1024
        i += 1
    return f"{value} {units[i]}"


def _handles(b: Board) -> dict[str, int]:
    if b.handles == "dell":
        return {"t1": 0x0100, "t2": 0x0200, "t16": 0x1000, "t17": 0x1100, "t32": 0x2000, "t41": 0x2900}
    return {"t1": 0x0001, "t2": 0x0002, "t16": 0x0030, "t17": 0x0038, "t32": 0x00A0, "t41": 0x00A8}


def _record(handle: int, dmi_type: int, length: int, title: str, fields: list[tuple[str, str]]) -> str:
    lines = [f"Handle 0x{handle:04X}, DMI type {dmi_type}, {length} bytes", title]
    for key, value in fields:
        lines.append(f"\t{key}" if value == "\x00" else f"\t{key}: {value}" if key else f"\t\t{value}")
    return "\n".join(lines) + "\n"


def _system(p: HostProfile, h: dict[str, int]) -> str:
    b = p.board
    return _record(
        h["t1"],
        1,
        27,
        "System Information",
        [
            ("Manufacturer", b.sys_vendor),
            ("Product Name", b.sys_product),
            ("Version", b.sys_version),
            ("Serial Number", p.system_serial),
            ("UUID", p.uuid),
            ("Wake-up Type", "Power Switch"),
            ("SKU Number", b.sku),
            ("Family", b.sys_family),
        ],
    )


def _baseboard(p: HostProfile, h: dict[str, int]) -> str:
    b = p.board
    fields = [
        ("Manufacturer", b.board_vendor),
        ("Product Name", b.board_product),
        ("Version", b.board_version),
        ("Serial Number", p.board_serial),
    ]
    if b.handles == "dell":
        return _record(h["t2"], 2, 8, "Base Board Information", fields)
    fields += [
        ("Asset Tag", "Default string" if b.board_vendor != "HPE" else "Not Specified"),
        ("Features:", "\x00"),
        ("", "Board is a hosting board"),
        ("", "Board is replaceable"),
        ("Location In Chassis", "Not Specified"),
        ("Chassis Handle", "0x0003"),
        ("Type", "Motherboard"),
        ("Contained Object Handles", "0"),
    ]
    return _record(h["t2"], 2, 15, "Base Board Information", fields)


def _array(p: HostProfile, handle: int, slots: int) -> str:
    b = p.board
    return _record(
        handle,
        16,
        23,
        "Physical Memory Array",
        [
            ("Location", "System Board Or Motherboard"),
            ("Use", "System Memory"),
            ("Error Correction Type", b.ecc_type),
            ("Maximum Capacity", _size(b.max_capacity_gib * 1024, b.dmidecode, False)),
            ("Error Information Handle", "Not Provided"),
            ("Number Of Devices", str(slots)),
        ],
    )


def _device(p: HostProfile, d: Dimm, handle: int, array: int, index: int) -> str:
    b = p.board
    dmi = b.dmidecode
    set_no = str(d.dimm + 1) if b.handles == "dell" else "None"
    head = [("Array Handle", f"0x{array:04X}"), ("Error Information Handle", "Not Provided")]
    if not d.size_gib:
        e = b.empty
        fields = [
            *head,
            ("Total Width", e.width),
            ("Data Width", e.data_width),
            ("Size", "No Module Installed"),
            ("Form Factor", e.form),
            ("Set", set_no),
            ("Locator", d.locator),
            ("Bank Locator", e.bank or d.bank),
            ("Type", e.mem_type),
            ("Type Detail", e.detail),
        ]
        if _ver(dmi) < (3, 4):
            fields += [
                ("Speed", "Unknown"),
                ("Manufacturer", e.filler),
                ("Serial Number", e.filler),
                ("Asset Tag", e.filler),
                ("Part Number", e.filler),
                ("Rank", "Unknown"),
                ("Configured Memory Speed", "Unknown"),
            ]
            if b.t17_len >= 40:
                fields += [(k, "Unknown") for k in ("Minimum Voltage", "Maximum Voltage", "Configured Voltage")]
            if b.t17_len >= 84:
                fields += [
                    ("Memory Technology", "Unknown"),
                    ("Memory Operating Mode Capability", "None"),
                    ("Firmware Version", e.filler),
                    *_ids("Unknown"),
                    *_sizes("None"),
                ]
        return _record(handle, 17, b.t17_len, "Memory Device", fields)
    total_width = 64 if not b.ecc else 80 if b.mem_type == "DDR5" else 72
    detail = "Synchronous Registered (Buffered)" if b.registered else "Synchronous Unbuffered (Unregistered)"
    volts = {"DDR3": "1.5 V", "DDR4": "1.2 V", "DDR5": "1.1 V"}[b.mem_type]
    mfr = {"jedec": JEDEC_HEX.get(d.vendor, d.vendor), "hpe": "HPE"}.get(b.mfr_style, VENDOR_NAMES[d.vendor])
    part = d.part.ljust(20) if b.pad_parts else d.part
    asset = f"{d.locator}_AssetTag (date:21/14)" if b.sys_vendor == "Supermicro" else "Not Specified"
    size = _size(d.size_gib * 1024, dmi, True)
    fields = [
        *head,
        ("Total Width", f"{total_width} bits"),
        ("Data Width", "64 bits"),
        ("Size", size),
        ("Form Factor", "DIMM"),
        ("Set", set_no),
        ("Locator", d.locator),
        ("Bank Locator", d.bank),
        ("Type", b.mem_type),
        ("Type Detail", detail),
        ("Speed", f"{d.speed} MT/s"),
        ("Manufacturer", mfr),
        ("Serial Number", d.serial),
        ("Asset Tag", asset),
        ("Part Number", part),
        ("Rank", str(d.rank)),
        ("Configured Memory Speed", f"{d.configured} MT/s"),
    ]
    if b.t17_len >= 40:
        fields += [(k, volts) for k in ("Minimum Voltage", "Maximum Voltage", "Configured Voltage")]
    if b.t17_len >= 84:
        module_id = "Unknown" if b.mfr_style == "jedec" else JEDEC_ID[d.vendor]
        fields += [
            ("Memory Technology", "DRAM"),
            ("Memory Operating Mode Capability", "Volatile memory"),
            ("Firmware Version", "Not Specified" if b.handles == "dell" else "0000"),
            ("Module Manufacturer ID", module_id),
            ("Module Product ID", "Unknown"),
            ("Memory Subsystem Controller Manufacturer ID", "Unknown"),
            ("Memory Subsystem Controller Product ID", "Unknown"),
            ("Non-Volatile Size", "None"),
            ("Volatile Size", size),
            ("Cache Size", "None"),
            ("Logical Size", "None"),
        ]
    return _record(handle, 17, b.t17_len, "Memory Device", fields)


def _ids(value: str) -> list[tuple[str, str]]:
    keys = (
        "Module Manufacturer ID",
        "Module Product ID",
        "Memory Subsystem Controller Manufacturer ID",
        "Memory Subsystem Controller Product ID",
    )
    return [(k, value) for k in keys]


def _sizes(value: str) -> list[tuple[str, str]]:
    return [(k, value) for k in ("Non-Volatile Size", "Volatile Size", "Cache Size", "Logical Size")]


def dmi_records(p: HostProfile) -> list[tuple[int, str]]:
    """All records of the host's SMBIOS table, in table order, as (type, text)."""
    b, h = p.board, _handles(p.board)
    per_array = b.slots // b.arrays
    arrays = [(16, _array(p, h["t16"] + a, per_array)) for a in range(b.arrays)]
    devices = [(17, _device(p, d, h["t17"] + i, h["t16"] + i // per_array, i)) for i, d in enumerate(p.dimms)]
    tail = [(32, _record(h["t32"], 32, 11, "System Boot Information", [("Status", "No errors detected")]))]
    for n in range(2):
        tail.append(
            (
                41,
                _record(
                    h["t41"] + n,
                    41,
                    11,
                    "Onboard Device",
                    [
                        (
                            "Reference Designation",
                            f"Integrated NIC {n + 1}" if b.handles == "dell" else f"Onboard LAN{n + 1}",
                        ),
                        ("Type", "Ethernet"),
                        ("Status", "Enabled"),
                        ("Type Instance", str(n + 1)),
                        ("Bus Address", f"0000:{0x18 + n // 2:02x}:00.{n % 2}"),
                    ],
                ),
            )
        )
    head = [(1, _system(p, h)), (2, _baseboard(p, h))]
    if b.mfr_style == "hpe":  # HPE prints its memory arrays before the system record
        return [*arrays, *devices, *head, *tail]
    return [*head, *arrays, *devices, *tail]


def render_dmidecode(p: HostProfile, types: set[int] | None) -> str:
    """dmidecode output for the given DMI types (None: the whole table)."""
    b = p.board
    header = [f"# dmidecode {b.dmidecode}", "Getting SMBIOS data from sysfs.", f"SMBIOS {b.smbios} present."]
    records = dmi_records(p)
    if types is None:
        size = sum(len(t) for _, t in records) // 3
        header += [f"{len(records) + 1} structures occupying {size} bytes.", "Table at 0x6F5E9000."]
        records.append((127, "Handle 0xFEFF, DMI type 127, 4 bytes\nEnd Of Table\n"))
    chosen = [text for t, text in records if types is None or t in types]
    return "\n".join(header) + "\n\n" + "\n".join(chosen) + ("\n" if chosen else "")
