"""Parsers of command output into typed models, by kind (the names `opswatchdog parse` accepts)."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from tools_server.parsers.df import parse_df, parse_df_inodes
from tools_server.parsers.dmidecode import parse_dmidecode
from tools_server.parsers.errors import ParseError
from tools_server.parsers.lsblk import parse_lsblk
from tools_server.parsers.meminfo import parse_free, parse_meminfo
from tools_server.parsers.procs import parse_ps
from tools_server.parsers.procstat import parse_proc_stat
from tools_server.parsers.smartctl import parse_smartctl
from tools_server.parsers.system import parse_loadavg, parse_nproc, parse_uptime

PARSERS: dict[str, Callable[[str], BaseModel]] = {
    "free": parse_free,
    "meminfo": parse_meminfo,
    "dmidecode": parse_dmidecode,
    "ps": parse_ps,
    "df": parse_df,
    "df_inodes": parse_df_inodes,
    "lsblk": parse_lsblk,
    "smartctl": parse_smartctl,
    "uptime": parse_uptime,
    "loadavg": parse_loadavg,
    "nproc": parse_nproc,
    "proc_stat": parse_proc_stat,
}


def parse(kind: str, text: str) -> BaseModel:
    """Parse `text` as output of `kind`; unknown kinds and unreadable text raise ParseError."""
    parser = PARSERS.get(kind)
    if parser is None:
        msg = f"unknown kind {kind!r}; known kinds: {', '.join(sorted(PARSERS))}"
        raise ParseError(msg)
    return parser(text)


__all__ = ["PARSERS", "ParseError", "parse"]
