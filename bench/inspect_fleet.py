"""Benchmark: fleet inspection through the tools layer vs a bare asyncssh one-script loop.

For each fleet size, simfleet runs in its own process; each client variant runs in a fresh child
process so its CPU time and peak RSS are its own. Reported as ratios against the bare loop measured
in the same run (targets at 500 hosts: wall ratio <= 1.15, client CPU <= 5 ms/host, peak RSS < 300 MB,
no healthy host reported down).

    python bench/inspect_fleet.py [--sizes 10 100 500] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, when run as a script

from bench.processes import ROOT, start_fleet


def _child(variant: str, fleet: Path, concurrency: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--client",
            variant,
            "--fleet",
            str(fleet),
            "--concurrency",
            str(concurrency),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


async def _tools_layer(fleet: Path, concurrency: int) -> tuple[int, int]:
    from tools_server.context import ToolContext
    from tools_server.inventory import load_inventory
    from tools_server.settings import Settings, SshSettings
    from tools_server.tools import InspectHostInput, ssh_inspect_host

    settings = Settings(
        inventory=fleet / "inventory.yaml",
        ssh=SshSettings(known_hosts=fleet / "known_hosts", max_handshakes=concurrency, connect_timeout_s=30),
    )
    ctx = ToolContext.from_settings(settings, load_inventory(settings.inventory))
    reports = await asyncio.gather(*(ssh_inspect_host(ctx, InspectHostInput(host=h.name)) for h in ctx.inventory.hosts))
    down = sum(r.status not in ("ok", "partial") for r in reports)
    return len(reports), down


async def _bare_loop(fleet: Path, concurrency: int) -> tuple[int, int]:
    import asyncssh

    from tools_server.catalog import CommandName, build_batch, command, new_token, smartctl, split_batch
    from tools_server.inspection import SECTION_COMMANDS
    from tools_server.inventory import load_inventory
    from tools_server.settings import SshSettings

    inventory = load_inventory(fleet / "inventory.yaml")
    ciphers = SshSettings().encryption_algs  # the same connection options as the tools layer: compare the layer
    known = asyncssh.read_known_hosts(str(fleet / "known_hosts"))
    names = [n for names in SECTION_COMMANDS.values() for n in names]
    gate = asyncio.Semaphore(concurrency)
    down = 0

    async def one(host: Any) -> None:
        nonlocal down
        try:
            async with gate:
                conn = await asyncssh.connect(
                    host.address,
                    port=host.port,
                    username=host.user,
                    known_hosts=known,
                    client_keys=[str(host.identity_file)],
                    agent_path=None,
                    config=None,
                    connect_timeout=30,
                    encryption_algs=ciphers,
                )
            async with conn:
                token = new_token()
                result = await conn.run(build_batch([command(n) for n in names], token), check=False)
                lsblk = split_batch(str(result.stdout), token)[CommandName.LSBLK.value].output
                devices = [f"/dev/{d['name']}" for d in json.loads(lsblk)["blockdevices"] if d["type"] == "disk"]
                if devices:
                    token = new_token()
                    await conn.run(build_batch([smartctl(d) for d in devices], token), check=False)
        except (OSError, asyncssh.Error):
            down += 1

    await asyncio.gather(*(one(h) for h in inventory.hosts))
    return len(inventory.hosts), down


def _client_main(variant: str, fleet: Path, concurrency: int) -> None:
    run = _tools_layer if variant == "tools" else _bare_loop
    # Import everything both variants use before the clock starts: CPU per host is the inspection's alone.
    import asyncssh  # noqa: F401

    import tools_server.tools  # noqa: F401

    cpu0, wall0 = time.process_time(), time.perf_counter()
    hosts, down = asyncio.run(run(fleet, concurrency))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "variant": variant,
                "hosts": hosts,
                "down": down,
                "wall_s": wall,
                "cpu_ms_per_host": 1000 * cpu / hosts,
                "peak_rss_mb": peak_kib / 1024,
            }
        )
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 500])
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--client", choices=["tools", "bare"], help=argparse.SUPPRESS)
    p.add_argument("--fleet", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.client:
        _client_main(args.client, args.fleet, args.concurrency)
        return
    print(f"{'hosts':>5} {'variant':>7} {'wall s':>7} {'CPU ms/host':>11} {'peak RSS MB':>11} {'down':>4}")
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="opswd-bench-") as tmp:
            fleet = start_fleet(size, Path(tmp))
            try:
                bare = _child("bare", Path(tmp), args.concurrency)
                tools = _child("tools", Path(tmp), args.concurrency)
            finally:
                fleet.send_signal(signal.SIGTERM)
                fleet.wait(timeout=30)
        for r in (bare, tools):
            print(
                f"{size:>5} {r['variant']:>7} {r['wall_s']:>7.2f} {r['cpu_ms_per_host']:>11.2f} "
                f"{r['peak_rss_mb']:>11.1f} {r['down']:>4}"
            )
        print(
            f"{size:>5} {'ratio':>7} {tools['wall_s'] / bare['wall_s']:>7.2f} "
            f"{tools['cpu_ms_per_host'] / bare['cpu_ms_per_host']:>11.2f}   (tools / bare, same run)"
        )


if __name__ == "__main__":
    main()
