"""The fault kinds a scenario can inject, each a pydantic model with its parameters."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class FaultKind(StrEnum):
    """Names of the faults a scenario can inject."""

    MEMORY_PRESSURE = "memory_pressure"
    SWAP_USE = "swap_use"
    DISK_FULL = "disk_full"
    INODES_EXHAUSTED = "inodes_exhausted"
    SMART_FAILED = "smart_failed"
    SMART_SECTORS = "smart_sectors"
    NVME_CRITICAL_WARNING = "nvme_critical_warning"
    NVME_WEAROUT = "nvme_wearout"
    DMIDECODE_DENIED = "dmidecode_denied"
    SMARTCTL_MISSING = "smartctl_missing"
    UNREACHABLE = "unreachable"
    WRONG_CREDENTIALS = "wrong_credentials"
    HOST_KEY_CHANGED = "host_key_changed"
    SLOW = "slow"


_MOUNT = r"^/[A-Za-z0-9._/-]*$"
_ATA_DEV = r"^(/dev/)?sd[a-z]{1,2}$"
_NVME_DEV = r"^(/dev/)?nvme[0-9]{1,2}(n1)?$"


class _Fault(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MemoryPressure(_Fault):
    """MemAvailable low; the guilty processes top `ps --sort=-rss`."""

    kind: Literal["memory_pressure"]
    available_percent: float = Field(5.0, gt=0, le=15)
    processes: list[str] = Field(default_factory=list, description="command lines of the guilty processes")


class SwapUse(_Fault):
    """Swap heavily used and MemAvailable low."""

    kind: Literal["swap_use"]
    available_percent: float = Field(8.0, gt=0, le=20)
    swap_used_percent: float = Field(85.0, ge=50, le=100)


class DiskFull(_Fault):
    """A filesystem at or above 95 % use (created if the host lacks the mount)."""

    kind: Literal["disk_full"]
    mount: str | None = Field(None, pattern=_MOUNT)
    used_percent: float = Field(97.0, ge=95, le=100)


class InodesExhausted(_Fault):
    """A filesystem with IUse% at or above 98."""

    kind: Literal["inodes_exhausted"]
    mount: str | None = Field(None, pattern=_MOUNT)
    iuse_percent: float = Field(99.0, ge=98, le=100)


class SmartFailed(_Fault):
    """An ATA disk whose overall health is FAILED with a failing attribute."""

    kind: Literal["smart_failed"]
    device: str | None = Field(None, pattern=_ATA_DEV)


class SmartSectors(_Fault):
    """An ATA disk with reallocated and/or pending sectors, health still PASSED."""

    kind: Literal["smart_sectors"]
    device: str | None = Field(None, pattern=_ATA_DEV)
    reallocated: int = Field(24, ge=0, le=65535)
    pending: int = Field(8, ge=0, le=65535)

    @model_validator(mode="after")
    def _some_sectors(self) -> SmartSectors:
        if self.reallocated == 0 and self.pending == 0:
            msg = "smart_sectors needs reallocated or pending > 0"
            raise ValueError(msg)
        return self


class NvmeCriticalWarning(_Fault):
    """An NVMe disk whose critical_warning bitmask is non-zero."""

    kind: Literal["nvme_critical_warning"]
    device: str | None = Field(None, pattern=_NVME_DEV)
    critical_warning: int = Field(0x04, ge=1, le=0x3F)


class NvmeWearout(_Fault):
    """An NVMe disk with percentage_used at or above 90."""

    kind: Literal["nvme_wearout"]
    device: str | None = Field(None, pattern=_NVME_DEV)
    percentage_used: int = Field(93, ge=90, le=255)


class DmidecodeDenied(_Fault):
    """dmidecode fails with Permission denied (rc 1)."""

    kind: Literal["dmidecode_denied"]


class SmartctlMissing(_Fault):
    """smartctl is not installed (rc 127)."""

    kind: Literal["smartctl_missing"]


class Unreachable(_Fault):
    """The port accepts TCP but never sends the SSH banner."""

    kind: Literal["unreachable"]


class WrongCredentials(_Fault):
    """The server accepts a different client key than the inventory's."""

    kind: Literal["wrong_credentials"]


class HostKeyChanged(_Fault):
    """known_hosts holds a different host key than the server presents."""

    kind: Literal["host_key_changed"]


class Slow(_Fault):
    """Every exec answers after a delay."""

    kind: Literal["slow"]
    delay_s: float = Field(3.0, gt=0, le=600)


Fault = Annotated[
    MemoryPressure
    | SwapUse
    | DiskFull
    | InodesExhausted
    | SmartFailed
    | SmartSectors
    | NvmeCriticalWarning
    | NvmeWearout
    | DmidecodeDenied
    | SmartctlMissing
    | Unreachable
    | WrongCredentials
    | HostKeyChanged
    | Slow,
    Field(discriminator="kind"),
]
DEFAULT_POOL = (
    FaultKind.MEMORY_PRESSURE,
    FaultKind.SWAP_USE,
    FaultKind.DISK_FULL,
    FaultKind.INODES_EXHAUSTED,
    FaultKind.SMART_FAILED,
    FaultKind.SMART_SECTORS,
    FaultKind.NVME_CRITICAL_WARNING,
    FaultKind.NVME_WEAROUT,
)
