"""The `opswatchdog metrics` commands: `seed` a store with simulated history, list `abnormal` hosts as JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from typing import Any

from tools_server.context import ToolInputError
from tools_server.metrics.factory import StoreURLError, open_store, redact
from tools_server.metrics.protocol import MetricsStoreError
from tools_server.metrics.seed import (
    SeedHost,
    SeedPlan,
    generate_environment,
    generate_samples,
    generate_service_checks,
)
from tools_server.metrics.settings import MetricsSettings
from tools_server.metrics.times import parse_point, resolve_zone
from tools_server.metrics.tools import AbnormalHostsInput, metrics_abnormal_hosts
from tools_server.settings import Settings


def simfleet_ip(index: int) -> str:
    """The loopback address simfleet gives host `index` (1-based): the store's `ip` for that host."""
    from simfleet.addresses import host_address

    return host_address(index)


def scenario_hosts(source: str | None, hosts: int | None) -> tuple[list[SeedHost], int]:
    """Seed hosts (ip, name, faults) and the seed of a simfleet scenario; no scenario means a healthy fleet."""
    from simfleet.scenario import Scenario, load_scenario, plan_fleet

    scenario = load_scenario(source) if source else Scenario(hosts=hosts or 20)
    plans = plan_fleet(scenario, hosts)
    seeds = []
    for plan in plans:
        faults: dict[str, dict[str, Any]] = {}
        for fault in plan.faults:
            faults[str(fault.kind)] = fault.model_dump(exclude={"kind"})
        seeds.append(SeedHost(ip=simfleet_ip(plan.index), name=plan.name, faults=faults))
    return seeds, scenario.seed


def _settings(store: str | None) -> MetricsSettings:
    cfg = Settings().metrics
    return cfg.model_copy(update={"url": store}) if store else cfg


async def _seed_store(args: argparse.Namespace) -> dict[str, Any]:
    cfg = _settings(args.store)
    tz = resolve_zone(cfg.timezone)
    hosts, scenario_seed = scenario_hosts(args.scenario, args.hosts)
    end = parse_point(args.end, datetime.now(tz), tz) if args.end else datetime.now(tz)
    plan = SeedPlan(
        end=end,
        days=args.days,
        interval_minutes=args.interval_minutes,
        seed=scenario_seed if args.seed is None else args.seed,
        thresholds=cfg.thresholds,
        limits=cfg.limits,
    )
    password = cfg.password.get_secret_value() if cfg.password else None
    store = open_store(cfg.url, timezone=cfg.timezone, password=password, pool_size=cfg.pool_size)
    try:
        await store.ensure_schema()
        samples = await store.write_samples(generate_samples(hosts, plan))
        readings = await store.write_environment(generate_environment(plan))
        checks = 0
        for batch_id, rows in generate_service_checks(hosts, plan):
            checks += await store.write_service_checks(rows, batch_id)
    finally:
        await store.close()
    times = plan.times()
    return {
        "store": redact(cfg.url),
        "window": {"start": times[0].isoformat(), "end": times[-1].isoformat()},
        "hosts": len(hosts),
        "samples": samples,
        "environment_readings": readings,
        "service_checks": checks,
        "faults": {h.ip: {"name": h.name, "faults": sorted(h.faults)} for h in hosts if h.faults},
    }


async def seed_store(
    *, store: str, scenario: str | None, hosts: int | None, days: float, interval_minutes: int = 5
) -> dict[str, Any]:
    """Fill `store` with history matching a simfleet scenario (what `metrics seed` does), for the demo and tests."""
    return await _seed_store(
        argparse.Namespace(
            store=store,
            scenario=scenario,
            hosts=hosts,
            days=days,
            interval_minutes=interval_minutes,
            seed=None,
            end=None,
        )
    )


def _seed(args: argparse.Namespace) -> int:
    from simfleet.scenario import ScenarioError

    try:
        summary = asyncio.run(_seed_store(args))
    except (ScenarioError, StoreURLError, ValueError) as exc:
        print(f"opswatchdog metrics seed: {exc}", file=sys.stderr)
        return 2
    except MetricsStoreError as exc:
        print(f"opswatchdog metrics seed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


async def _abnormal_hosts(args: argparse.Namespace) -> str:
    cfg = _settings(args.store)
    password = cfg.password.get_secret_value() if cfg.password else None
    store = open_store(cfg.url, timezone=cfg.timezone, password=password, pool_size=cfg.pool_size)
    try:
        inp = AbnormalHostsInput(
            since=args.since, until=args.until, cpu_pct=args.cpu, memory_pct=args.memory, disk_pct=args.disk
        )
        result = await metrics_abnormal_hosts(store, inp, cfg)
    finally:
        await store.close()
    return result.model_dump_json(indent=2)


def _abnormal(args: argparse.Namespace) -> int:
    try:
        print(asyncio.run(_abnormal_hosts(args)))
    except (ToolInputError, StoreURLError, ValueError) as exc:
        print(f"opswatchdog metrics abnormal: {exc}", file=sys.stderr)
        return 2
    except MetricsStoreError as exc:
        print(f"opswatchdog metrics abnormal: {exc}", file=sys.stderr)
        return 1
    return 0


def add_metrics_parser(subparsers: Any) -> None:
    """Add `metrics seed` and `metrics abnormal` to the `opswatchdog` subcommands."""
    metrics = subparsers.add_parser("metrics", help="the metrics store: seed simulated history, query it")
    sub = metrics.add_subparsers(dest="metrics_command", required=True)
    store_help = "store URL (default OPSWD_METRICS__URL or sqlite:///var/opswatchdog/metrics.db)"

    seed = sub.add_parser("seed", help="fill a store with plausible history for a simulated fleet")
    seed.add_argument("--hosts", type=int, help="fleet size (default: the scenario's)")
    seed.add_argument("--days", type=float, default=7.0, help="days of history (default 7)")
    seed.add_argument("--scenario", help="simfleet scenario YAML or built-in name (default: a healthy fleet)")
    seed.add_argument("--store", help=store_help)
    seed.add_argument("--interval-minutes", type=int, default=5, help="minutes between samples (default 5)")
    seed.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
    seed.add_argument("--end", help="last sample time, ISO or a duration back from now (default now)")
    seed.set_defaults(func=_seed)

    abnormal = sub.add_parser("abnormal", help="hosts whose latest sample in the window is abnormal (JSON)")
    abnormal.add_argument("--since", default="24h", help="window start: 30m, 6h, 7d or an ISO timestamp")
    abnormal.add_argument("--until", help="window end (default now)")
    abnormal.add_argument("--store", help=store_help)
    abnormal.add_argument("--cpu", type=float, help="CPU threshold %% (default from settings)")
    abnormal.add_argument("--memory", type=float, help="memory threshold %% (default from settings)")
    abnormal.add_argument("--disk", type=float, help="disk threshold %% (default from settings)")
    abnormal.set_defaults(func=_abnormal)
