"""`opswatchdog plan-upgrade`: a memory upgrade plan for one dmidecode capture, printed as JSON."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from tools_server.hardware.planner import plan_upgrade
from tools_server.hardware.specs import load_spec_table
from tools_server.parsers.dmidecode import parse_dmidecode
from tools_server.parsers.errors import ParseError

_PROG = "opswatchdog plan-upgrade"


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= 100:
        msg = f"expected a percentage from 0 to 100, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _fail(message: str) -> int:
    print(f"{_PROG}: {message}", file=sys.stderr)
    return 2


def plan_upgrade_main(args: argparse.Namespace) -> int:
    """Read the dmidecode file, plan, print the plan as JSON; unreadable input -> message on stderr, exit 2."""
    source = str(args.dmidecode)
    shown = "stdin" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(errors="replace")
    except OSError as exc:
        return _fail(f"cannot read dmidecode file {source}: {exc.strerror or exc}")
    try:
        dmi = parse_dmidecode(text)
    except ParseError as exc:
        return _fail(f"{shown} is not dmidecode output: {exc}")
    specs: Path | None = getattr(args, "specs", None)
    try:
        table = load_spec_table(specs) if specs is not None else None
    except OSError as exc:
        return _fail(f"cannot read spec table {specs}: {exc.strerror or exc}")
    except ValueError as exc:  # pydantic's ValidationError and YAML errors are ValueErrors
        return _fail(f"spec table {specs} is invalid: {exc}")
    try:
        plan = plan_upgrade(
            dmi,
            args.memory_used_percent,
            target_used_percent=getattr(args, "target_used_percent", 70.0),
            table=table,
        )
    except ValueError as exc:
        return _fail(str(exc))
    print(plan.model_dump_json(indent=2))
    return 0


def add_plan_upgrade_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Register `plan-upgrade` on the `opswatchdog` subcommands; it dispatches to plan_upgrade_main."""
    parser = subparsers.add_parser(
        "plan-upgrade",
        help="plan a memory upgrade from a dmidecode capture and memory usage (prints JSON)",
        description="Compute a memory upgrade plan checked against the board spec table; unknown boards say so.",
    )
    parser.add_argument("--dmidecode", required=True, metavar="FILE", help="output of `dmidecode` (or - for stdin)")
    parser.add_argument(
        "--memory-used-percent", required=True, type=_percent, metavar="P", help="memory in use, percent"
    )
    parser.add_argument(
        "--target-used-percent",
        type=_percent,
        default=70.0,
        metavar="P",
        help="usage the upgraded machine should stay under (default 70)",
    )
    parser.add_argument("--specs", type=Path, metavar="YAML", help="a spec table to use instead of the packaged one")
    parser.set_defaults(func=plan_upgrade_main)
    return parser
