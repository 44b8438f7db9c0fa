"""CLI: python -m simfleet --hosts N --scenario FILE|demo|healthy --out DIR; serves until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from simfleet.scenario import ScenarioError, load_scenario
from simfleet.server import start_fleet


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m simfleet", description="Run a simulated fleet of SSH hosts.")
    parser.add_argument("--scenario", default="demo", help="scenario YAML path or built-in name (demo, healthy)")
    parser.add_argument("--hosts", type=int, default=None, help="number of hosts (overrides the scenario)")
    parser.add_argument("--out", type=Path, default=Path("simfleet-out"), help="where to write inventory and keys")
    parser.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    parser.add_argument("--no-services", action="store_true", help="no TCP listeners for platform services")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    if args.seed is not None:
        scenario = scenario.model_copy(update={"seed": args.seed})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with start_fleet(scenario, args.out, args.hosts, services=not args.no_services) as fleet:
        first, last = fleet.hosts[0], fleet.hosts[-1]
        print(
            f"simfleet ready: {len(fleet.hosts)} hosts on {first.address}:{first.port}..{last.address}:{last.port}, "
            f"inventory {fleet.inventory_path}",
            flush=True,
        )
        await stop.wait()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = _parse(argv)
    if args.hosts is not None and args.hosts < 1:
        print("simfleet: --hosts must be at least 1", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(args))
    except (ScenarioError, ValueError) as exc:
        print(f"simfleet: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
