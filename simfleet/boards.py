"""Catalog of server boards: identity, DIMM layout and the quirks of their dmidecode output."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EmptySlot:
    """How a board's firmware describes an empty DIMM slot."""

    form: str = "Unknown"
    mem_type: str = "Unknown"
    detail: str = "Unknown"
    width: str = "Unknown"
    data_width: str = "Unknown"
    bank: str | None = None  # replaces the Bank Locator of empty slots (Supermicro "NO DIMM")
    filler: str = "Not Specified"  # Manufacturer/Serial/Part of empty slots when dmidecode < 3.4 prints them


@dataclass(frozen=True)
class Board:
    """One server model: identity strings, memory topology and dmidecode layout."""

    key: str
    sys_vendor: str
    sys_product: str
    sys_family: str
    sys_version: str
    sku: str
    board_vendor: str
    board_product: str
    board_version: str
    mem_type: str  # DDR3 / DDR4 / DDR5
    registered: bool
    ecc: bool
    ecc_type: str  # type-16 "Error Correction Type"
    sockets: int
    channels: int  # per socket
    dpc: int  # DIMMs per channel
    module_speeds: tuple[int, ...]
    max_speed: int  # the memory controller's ceiling: configured speed = min(module, this)
    sizes_gib: tuple[int, ...]
    max_capacity_gib: int  # per array
    arrays: int  # type-16 records (1, or one per socket)
    locator: str  # locator style, see locators()
    dmidecode: str
    smbios: str
    t17_len: int
    handles: str  # "dell" or "seq"
    mfr_style: str  # "jedec" (hex id), "name", "hpe"
    pad_parts: bool
    empty: EmptySlot
    threads: tuple[int, ...]  # possible nproc values
    nvme_ok: bool = True
    uefi: bool = True

    @property
    def slots(self) -> int:
        """Number of DIMM slots."""
        return self.sockets * self.channels * self.dpc

    @property
    def server_class(self) -> bool:
        """True for registered-memory (rack server) boards."""
        return self.registered


_DELL_EMPTY = EmptySlot(detail="None")
_SMC_EMPTY = EmptySlot(bank="NO DIMM")

# Positional fields follow Board: identity (9), memory (10), dmidecode layout (8), threads, then options.
# fmt: off
BOARDS: tuple[Board, ...] = (
    Board("dell-r720", "Dell Inc.", "PowerEdge R720", "Not Specified", "Not Specified",
          "SKU=NotProvided;ModelName=PowerEdge R720", "Dell Inc.", "0X3D66", "A06",
          "DDR3", True, True, "Multi-bit ECC", 2, 4, 3, (1333, 1600, 1866), 1600, (4, 8, 16, 32),
          1536, 1, "dell_r720", "3.3", "2.7", 34, "dell", "jedec", False,
          EmptySlot(form="DIMM", mem_type="DDR3", detail="Synchronous", width="72 bits", data_width="64 bits"),
          (16, 24, 32, 40), nvme_ok=False, uefi=False),
    Board("dell-r740", "Dell Inc.", "PowerEdge R740", "PowerEdge", "Not Specified",
          "SKU=0715;ModelName=PowerEdge R740", "Dell Inc.", "06WXJT", "A01",
          "DDR4", True, True, "Multi-bit ECC", 2, 6, 2, (2666, 2933), 2933, (8, 16, 32, 64),
          3072, 1, "dell", "3.4", "3.2.0", 84, "dell", "jedec", False, _DELL_EMPTY, (32, 48, 64, 80)),
    Board("dell-r660xs", "Dell Inc.", "PowerEdge R660xs", "PowerEdge", "Not Specified",
          "SKU=0B1F;ModelName=PowerEdge R660xs", "Dell Inc.", "0XPN5D", "A00",
          "DDR5", True, True, "Multi-bit ECC", 2, 8, 1, (4800, 5600), 4800, (16, 32, 64),
          2048, 1, "dell", "3.5", "3.5.0", 92, "dell", "jedec", False, _DELL_EMPTY, (32, 48, 64)),
    Board("dell-t140", "Dell Inc.", "PowerEdge T140", "PowerEdge", "Not Specified",
          "SKU=NotProvided;ModelName=PowerEdge T140", "Dell Inc.", "0MXTT6", "A01",
          "DDR4", False, True, "Single-bit ECC", 1, 2, 2, (2666,), 2666, (8, 16, 32),
          64, 1, "dell", "3.2", "3.1", 40, "dell", "jedec", False, _DELL_EMPTY, (4, 8, 12)),
    Board("hpe-dl380-gen10", "HPE", "ProLiant DL380 Gen10", "ProLiant", "Not Specified",
          "868703-B21", "HPE", "ProLiant DL380 Gen10", "Not Specified",
          "DDR4", True, True, "Multi-bit ECC", 2, 6, 2, (2666, 2933), 2933, (16, 32, 64),
          3072, 2, "hpe", "3.3", "3.2.0", 84, "seq", "hpe", False,
          EmptySlot(form="DIMM", mem_type="Other", detail="Synchronous", filler="UNKNOWN"), (40, 48, 64)),
    Board("smc-x11dpi-n", "Supermicro", "Super Server", "Family", "0123456789",
          "To be filled by O.E.M.", "Supermicro", "X11DPi-N", "1.20",
          "DDR4", True, True, "Single-bit ECC", 2, 4, 2, (2666, 2933), 2666, (16, 32, 64),
          2048, 1, "smc", "3.5", "3.2.1", 84, "seq", "name", True, _SMC_EMPTY, (32, 40, 48)),
    Board("smc-x11sch-f", "Supermicro", "Super Server", "To be filled by O.E.M.", "0123456789",
          "To be filled by O.E.M.", "Supermicro", "X11SCH-F", "1.02",
          "DDR4", False, True, "Single-bit ECC", 1, 2, 2, (2666,), 2666, (8, 16, 32),
          128, 1, "smc_udimm", "3.3", "3.2.0", 84, "seq", "name", True, _SMC_EMPTY, (8, 12, 16)),
    Board("asrock-b650d4u", "ASRockRack", "To Be Filled By O.E.M.", "To Be Filled By O.E.M.",
          "To Be Filled By O.E.M.", "To Be Filled By O.E.M.", "ASRockRack", "B650D4U", "3.00",
          "DDR5", False, False, "None", 1, 2, 2, (4800, 5600), 4800, (16, 32, 48),
          128, 1, "asrock", "3.4", "3.5.0", 92, "seq", "name", True, EmptySlot(), (12, 16, 32)),
    Board("asrock-x470d4u", "ASRockRack", "X470D4U", "To Be Filled By O.E.M.", "To Be Filled By O.E.M.",
          "To Be Filled By O.E.M.", "ASRockRack", "X470D4U", "1.00",
          "DDR4", False, True, "Multi-bit ECC", 1, 2, 2, (2666, 3200), 2933, (8, 16, 32),
          128, 1, "asrock", "3.3", "3.2.0", 84, "seq", "name", True, EmptySlot(), (12, 16)),
    Board("huawei-2288h-v5", "Huawei", "2288H V5", "Purley", "Purley", "Purley",
          "Huawei", "BC11SPSCB0", "V100R005",
          "DDR4", True, True, "Single-bit ECC", 2, 6, 2, (2666, 2933), 2666, (16, 32, 64),
          4608, 1, "huawei", "3.6", "3.0.0", 84, "seq", "name", True,
          EmptySlot(form="DIMM", detail="Unknown Synchronous"), (40, 48, 64, 80)),
    Board("inspur-nf5280m5", "Inspur", "NF5280M5", "Type1Family", "01", "Default string",
          "Inspur", "YZMB-00882-104", "Default string",
          "DDR4", True, True, "Single-bit ECC", 2, 6, 2, (2666,), 2666, (16, 32, 64),
          3072, 1, "inspur", "3.3", "3.2.0", 84, "seq", "name", True,
          EmptySlot(form="DIMM", filler="NO DIMM"), (40, 48, 56)),
    Board("lenovo-sr650", "Lenovo", "ThinkSystem SR650 -[7X06CTO1WW]-", "ThinkSystem", "07",
          "7X06CTO1WW", "Lenovo", "-[7X06CTO1WW]-", "none",
          "DDR4", True, True, "Single-bit ECC", 2, 6, 2, (2666, 2933), 2666, (16, 32, 64),
          7680, 1, "lenovo", "3.4", "3.2.1", 84, "seq", "name", True, EmptySlot(), (32, 48, 64)),
)
# fmt: on
BOARDS_BY_KEY = {b.key: b for b in BOARDS}

# Part numbers by (generation, module kind, GiB, vendor); kind R = RDIMM, E = ECC UDIMM, U = UDIMM.
PARTS: dict[tuple[str, str, int], dict[str, str]] = {
    ("DDR3", "R", 4): {"Samsung": "M393B5270DH0-CK0", "Micron": "MT18JSF51272PZ-1G6", "SK Hynix": "HMT351R7EFR8C-PB"},
    ("DDR3", "R", 8): {"Samsung": "M393B1K70DH0-CK0", "Micron": "MT36JSF1G72PZ-1G6", "SK Hynix": "HMT31GR7CFR4C-PB"},
    ("DDR3", "R", 16): {"Samsung": "M393B2G70BH0-CK0", "Micron": "MT36JSF2G72PZ-1G9", "SK Hynix": "HMT42GR7AFR4C-RD"},
    ("DDR3", "R", 32): {"Samsung": "M386B4G70DM0-CMA", "Micron": "MT72JSZS4G72PZ-1G6", "SK Hynix": "HMT84GL7AMR4C-PB"},
    ("DDR4", "R", 8): {"Samsung": "M393A1K43BB1-CTD", "Micron": "MTA9ASF1G72PZ-2G9", "SK Hynix": "HMA81GR7CJR8N-WM"},
    ("DDR4", "R", 16): {"Samsung": "M393A2K43DB3-CWE", "Micron": "MTA18ASF2G72PDZ-2G9", "SK Hynix": "HMA82GR7CJR8N-WM"},
    ("DDR4", "R", 32): {"Samsung": "M393A4K40DB3-CWE", "Micron": "MTA36ASF4G72PZ-2G9", "SK Hynix": "HMA84GR7CJR4N-WM"},
    ("DDR4", "R", 64): {"Samsung": "M393A8G40BB4-CWE", "Micron": "MTA36ASF8G72PZ-2G9", "SK Hynix": "HMAA8GR7AJR4N-WM"},
    ("DDR5", "R", 16): {"Samsung": "M321R2GA3BB6-CQK", "Micron": "MTC10F1084S1RC48BA1", "SK Hynix": "HMCG78MEBRA107N"},
    ("DDR5", "R", 32): {"Samsung": "M321R4GA3BB6-CQK", "Micron": "MTC20F2085S1RC48BA1", "SK Hynix": "HMCG88MEBRA113N"},
    ("DDR5", "R", 64): {"Samsung": "M321R8GA0BB0-CQK", "Micron": "MTC40F2046S1RC48BA1", "SK Hynix": "HMCG94MEBRA123N"},
    ("DDR4", "E", 8): {"Samsung": "M391A1K43BB2-CTD", "Micron": "MTA9ASF1G72AZ-2G6", "SK Hynix": "HMA81GU7CJR8N-VK"},
    ("DDR4", "E", 16): {"Samsung": "M391A2K43BB1-CTD", "Micron": "MTA18ASF2G72AZ-2G6", "SK Hynix": "HMA82GU7CJR8N-VK"},
    ("DDR4", "E", 32): {"Samsung": "M391A4G43AB1-CVF", "Micron": "MTA18ASF4G72AZ-3G2", "SK Hynix": "HMAA4GU7CJR8N-XN"},
    ("DDR5", "U", 16): {"Samsung": "M323R2GA3BB0-CQK", "Micron": "CT16G48C40U5.M8A1", "SK Hynix": "HMCG66MEBUA081N"},
    ("DDR5", "U", 32): {"Samsung": "M323R4GA3BB0-CQK", "Micron": "CT32G48C40U5.M16A1", "SK Hynix": "HMCG78MEBUA081N"},
    ("DDR5", "U", 48): {"Samsung": "M323R6GA3PB0-CQK", "Micron": "CT48G56C46U5.M16A1", "SK Hynix": "HMCGM4MEBUA081N"},
}
HPE_PARTS = {16: "840756-091", 32: "840758-091", 64: "850882-001"}
JEDEC_HEX = {"Samsung": "00CE00B300CE", "Micron": "002C00B3002C", "SK Hynix": "00AD00B300AD"}
JEDEC_ID = {"Samsung": "Bank 1, Hex 0xCE", "Micron": "Bank 1, Hex 0x2C", "SK Hynix": "Bank 1, Hex 0xAD"}
VENDOR_NAMES = {"Samsung": "Samsung", "Micron": "Micron Technology", "SK Hynix": "SK Hynix"}


def module_kind(board: Board) -> str:
    """Return R (RDIMM), E (ECC UDIMM) or U (plain UDIMM) for the board's modules."""
    if board.registered:
        return "R"
    return "E" if board.ecc else "U"


def locators(board: Board, socket: int, channel: int, dimm: int) -> tuple[str, str]:
    """Return the (Locator, Bank Locator) strings the board's firmware gives one slot."""
    per_socket = board.channels * board.dpc
    n = channel * board.dpc + dimm  # index within the socket
    ch = chr(ord("A") + channel)
    style = board.locator
    if style == "dell_r720":
        return f"DIMM_{chr(ord('A') + socket)}{channel + 1 + 4 * dimm} ", "Not Specified"
    if style == "dell":
        return f"{chr(ord('A') + socket)}{channel + 1 + board.channels * dimm}", "Not Specified"
    if style == "hpe":
        return f"PROC {socket + 1} DIMM {n + 1}", "Not Specified"
    if style == "smc":
        return f"P{socket + 1}-DIMM{ch}{dimm + 1}", f"P{socket}_Node{socket}_Channel{channel}_Dimm{dimm}"
    if style == "smc_udimm":
        return f"DIMM{ch}{dimm + 1}", f"P0_Node0_Channel{channel}_Dimm{dimm}"
    if style == "asrock":
        return f"DIMM {dimm}", f"P0 CHANNEL {ch}"
    if style == "huawei":
        return f"DIMM{socket}{channel}{dimm} J{11 + socket * per_socket + n}", (
            f"_Node{socket}_Channel{channel}_Dimm{dimm}"
        )
    if style == "inspur":
        return f"CPU{socket}_C{channel}D{dimm}", f"NODE {socket}"
    if style == "lenovo":
        return f"DIMM {socket * per_socket + n + 1}", f"CPU {socket + 1}"
    msg = f"unknown locator style {style!r} on board {board.key}"
    raise ValueError(msg)
