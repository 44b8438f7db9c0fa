"""Format templates read once from this machine's captures (package data in simfleet/captures)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources


def _capture(name: str) -> str:
    return resources.files("simfleet").joinpath("captures", name).read_text()


@dataclass(frozen=True)
class Templates:
    """Key order and header lines learned from real command output."""

    meminfo_keys: tuple[tuple[str, bool], ...]  # (key, has " kB" unit)
    free_header: str
    df_header: tuple[str, ...]
    dfi_header: tuple[str, ...]
    kthreads: tuple[str, ...]  # kernel thread names, cpu 0 only for per-cpu threads
    intr_fields: int  # numbers on the `intr` line of /proc/stat


_PERCPU = re.compile(r"^(cpuhp|migration|ksoftirqd|kworker)/([0-9]+)(.*)$")


@cache
def templates() -> Templates:
    """Parse the captures once per process."""
    keys = []
    for line in _capture("proc-meminfo.txt").splitlines():
        key, _, rest = line.partition(":")
        if key:
            keys.append((key, rest.strip().endswith("kB")))
    free_header = _capture("free-b.txt").splitlines()[0]
    df_header = tuple(_capture("df-PB1.txt").splitlines()[0].replace("Mounted on", "Mounted_on").split())
    dfi_header = tuple(_capture("df-Pi.txt").splitlines()[0].replace("Mounted on", "Mounted_on").split())
    kthreads: list[str] = []
    for line in _capture("ps-eo.txt").splitlines()[1:]:
        cols = line.split(None, 9)
        if len(cols) < 10 or not cols[9].startswith("[") or cols[1] not in ("0", "2"):
            continue
        name = cols[9].strip()[1:-1]
        if "ACPI:Ged" in name or name == "hwrng":
            continue  # this machine is a microVM; bare-metal hosts have neither
        name = name.replace("vda", "sda").replace("virtio_vsock", "events")
        m = _PERCPU.match(name)
        if m and m.group(2) != "0":
            continue  # per-cpu threads are regenerated for every cpu of the host
        kthreads.append(name)
    intr = next(line for line in _capture("proc-stat.txt").splitlines() if line.startswith("intr "))
    return Templates(tuple(keys), free_header, df_header, dfi_header, tuple(kthreads), len(intr.split()) - 1)


def percpu_name(name: str, cpu: int) -> str | None:
    """For a cpu-0 kernel thread name, return its name on `cpu`; None if not per-cpu."""
    m = _PERCPU.match(name)
    return f"{m.group(1)}/{cpu}{m.group(3)}" if m else None
