"""`opswatchdog collect` and `opswatchdog services-check`: one pass of sampling or service checks into the store."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from pydantic import BaseModel

from tools_server.context import ToolContext, ToolInputError
from tools_server.metrics.protocol import MetricsStoreError
from tools_server.settings import Settings
from tools_server.tools_fleet import FleetSelection, metrics_collect, services_check


async def _run(which: str, selection: FleetSelection) -> BaseModel:
    ctx = ToolContext.from_settings(Settings())
    try:
        return await (metrics_collect if which == "collect" else services_check)(ctx, selection)
    finally:
        await ctx.aclose()


def _main(args: argparse.Namespace) -> int:
    selection = FleetSelection(hosts=args.hosts or None, group=args.group, tag=args.tag)
    try:
        result = asyncio.run(_run(args.which, selection))
    except (ToolInputError, MetricsStoreError) as exc:
        print(f"opswatchdog {args.command}: {exc}", file=sys.stderr)
        return 2
    print(result.model_dump_json(indent=2))
    return 0


def add_collect_parsers(subparsers: Any) -> None:
    """Register `collect` and `services-check` on the opswatchdog subcommands."""
    for name, which, text in (
        ("collect", "collect", "sample CPU, memory and disk of inventory hosts over SSH into the metrics store"),
        ("services-check", "services", "check platform services (TCP, process, HTTP) into the metrics store"),
    ):
        p = subparsers.add_parser(name, help=text)
        p.add_argument("--hosts", nargs="*", help="host names (default: every inventory host)")
        p.add_argument("--group", help="only hosts in this inventory group")
        p.add_argument("--tag", help="only hosts with this tag")
        p.set_defaults(func=_main, which=which)
