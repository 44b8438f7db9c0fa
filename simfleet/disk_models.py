"""Catalog of disk models (SATA HDD, SATA SSD, NVMe) with their identity strings and capacities."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass

TB = 1000**4


@dataclass(frozen=True)
class DiskModel:
    """A disk model as smartctl and lsblk report it."""

    kind: str  # hdd, ssd, nvme
    model: str
    family: str | None
    capacity: int  # bytes
    firmware: str
    serial: str  # pattern: '#' digit, '@' upper letter, '%' upper alnum, '&' hex digit; other chars literal
    rpm: int = 0
    attrs: str = "hdd"  # attribute set for ATA disks: hdd, samsung, micron, intel
    pci_vendor: int = 0
    oui: int = 0


HDDS: tuple[DiskModel, ...] = (
    DiskModel(
        "hdd", "ST4000NM0035-1V4107", "Seagate Enterprise Capacity 3.5 HDD", 4000787030016, "TN03", "ZC1%%%%%", 7200
    ),
    DiskModel("hdd", "ST8000NM000A-2KE101", "Seagate Exos 7E8", 8001563222016, "SN04", "WKD%%%%%", 7200),
    DiskModel(
        "hdd", "ST1000NM0055-1V410C", "Seagate Enterprise Capacity 3.5 HDD", 1000204886016, "TN05", "ZBS%%%%%", 7200
    ),
    DiskModel("hdd", "HGST HUS726T4TALA6L4", "HGST Ultrastar 7K6", 4000787030016, "VKGNW40H", "V6G%%%%%", 7200),
    DiskModel(
        "hdd", "WDC WD2000FYYZ-01UL1B2", "Western Digital Gold", 2000398934016, "01.01K03", "WD-WMC1P%%%%%%%", 7200
    ),
    DiskModel(
        "hdd", "TOSHIBA MG04ACA200E", "Toshiba MG04ACA... Enterprise HDD", 2000398934016, "FP2A", "#&@%%%%%", 7200
    ),
    DiskModel(
        "hdd", "WDC WUH721816ALE6L4", "Western Digital Ultrastar DC HC550", 16000900661248, "PCGNW232", "2P%%%%%%", 7200
    ),
)
SSDS: tuple[DiskModel, ...] = (
    DiskModel(
        "ssd",
        "SAMSUNG MZ7LH960HAJR-00005",
        "Samsung based SSDs",
        960197124096,
        "HXT7404Q",
        "S45NNE0M######",
        attrs="samsung",
    ),
    DiskModel(
        "ssd",
        "SAMSUNG MZ7LH480HAHQ-00005",
        "Samsung based SSDs",
        480103981056,
        "HXT7904Q",
        "S45PNA0M######",
        attrs="samsung",
    ),
    DiskModel(
        "ssd",
        "INTEL SSDSC2KB960G8",
        "Intel S4510/S4610/S4500/S4600 Series SSDs",
        960197124096,
        "XCV10132",
        "PHYF########960CGN",
        attrs="intel",
    ),
    DiskModel(
        "ssd",
        "INTEL SSDSC2KG480G8",
        "Intel S4510/S4610/S4500/S4600 Series SSDs",
        480103981056,
        "XCV10132",
        "BTYG########480BGN",
        attrs="intel",
    ),
    DiskModel(
        "ssd",
        "Micron_5300_MTFDDAK960TDS",
        "Micron 5100 Pro / 52x0 / 5300 SSDs",
        960197124096,
        "D3MU001",
        "2031&&&&&&&&",
        attrs="micron",
    ),
    DiskModel(
        "ssd",
        "Micron_5300_MTFDDAK1T9TDS",
        "Micron 5100 Pro / 52x0 / 5300 SSDs",
        1920383410176,
        "D3MU001",
        "2104&&&&&&&&",
        attrs="micron",
    ),
)
NVMES: tuple[DiskModel, ...] = (
    DiskModel(
        "nvme",
        "SAMSUNG MZQL23T8HCLS-00A07",
        None,
        3840755982336,
        "GDC5602Q",
        "S64HNE0R######",
        pci_vendor=0x144D,
        oui=0x002538,
    ),
    DiskModel(
        "nvme",
        "SAMSUNG MZQL21T9HCJR-00A07",
        None,
        1920383410176,
        "GDC5602Q",
        "S64GNE0R######",
        pci_vendor=0x144D,
        oui=0x002538,
    ),
    DiskModel(
        "nvme",
        "INTEL SSDPE2KX020T8",
        None,
        2000398934016,
        "VDV10170",
        "PHLJ########2P0BGN",
        pci_vendor=0x8086,
        oui=0x5CD2E4,
    ),
    DiskModel(
        "nvme",
        "INTEL SSDPE2KX040T8",
        None,
        4000787030016,
        "VDV10184",
        "BTLJ########4P0BGN",
        pci_vendor=0x8086,
        oui=0x5CD2E4,
    ),
    DiskModel(
        "nvme",
        "Micron_7450_MTFDKCC1T9TFR",
        None,
        1920383410176,
        "E2MU111",
        "2215&&&&&&&&",
        pci_vendor=0x1344,
        oui=0x00A075,
    ),
    DiskModel(
        "nvme", "KIOXIA KCD6XLUL1T92", None, 1920383410176, "GPK6", "X1%%%%%%%%%%", pci_vendor=0x1E0F, oui=0x8CE38E
    ),
    DiskModel(
        "nvme",
        "Samsung SSD 980 PRO 1TB",
        None,
        1000204886016,
        "5B2QGXA7",
        "S5GXNF0R######",
        pci_vendor=0x144D,
        oui=0x002538,
    ),
)
BY_KIND = {"hdd": HDDS, "ssd": SSDS, "nvme": NVMES}

_ALNUM = string.ascii_uppercase + string.digits
_CHARS = {"#": string.digits, "@": string.ascii_uppercase, "%": _ALNUM, "&": "0123456789ABCDEF"}


def make_serial(pattern: str, rng: random.Random) -> str:
    """Fill a serial-number pattern with random characters."""
    return "".join(rng.choice(_CHARS[c]) if c in _CHARS else c for c in pattern)


def si_size(n: int) -> str:
    """Format bytes the way smartctl does in brackets: three significant digits, SI units."""
    units = ["bytes", "kB", "MB", "GB", "TB", "PB"]
    value = float(n)
    i = 0
    while value >= 1000 and i < len(units) - 1:
        value /= 1000
        i += 1
    if i == 0:
        return f"{n} bytes"
    text = f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"
    return f"{text} {units[i]}"
