"""Pure generation of metric history: deterministic, daily cycles, and each fault's shape."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from statistics import mean
from zoneinfo import ZoneInfo

import pytest

from app.metrics_cmd import scenario_hosts, simfleet_ip
from tools_server.metrics.models import HostSample
from tools_server.metrics.seed import (
    SeedHost,
    SeedPlan,
    daily_cycle,
    generate_environment,
    generate_samples,
    generate_service_checks,
)

END = datetime(2024, 5, 10, 12, 7, tzinfo=ZoneInfo("Asia/Shanghai"))
PLAN = SeedPlan(end=END, days=3, interval_minutes=10, seed=3)
HOSTS = [
    SeedHost("127.0.1.1", "node-1"),
    SeedHost("127.0.1.2", "node-2", {"memory_pressure": {"available_percent": 4.0}}),
    SeedHost("127.0.1.3", "node-3", {"disk_full": {"used_percent": 98.0}}),
    SeedHost("127.0.1.4", "node-4", {"unreachable": {}}),
    SeedHost("127.0.1.5", "node-5", {"swap_use": {}}),
    SeedHost("127.0.1.6", "node-6", {"slow": {"delay_s": 3.0}}),
]


@pytest.fixture(scope="module")
def series() -> dict[str, list[HostSample]]:
    out: dict[str, list[HostSample]] = {}
    for s in generate_samples(HOSTS, PLAN):
        out.setdefault(s.ip, []).append(s)
    return out


def _at(s: HostSample) -> datetime:
    return datetime.fromisoformat(s.collect_time)


def test_generation_is_deterministic() -> None:
    assert generate_samples(HOSTS, PLAN) == generate_samples(HOSTS, PLAN)
    assert generate_environment(PLAN) == generate_environment(PLAN)
    other = SeedPlan(end=END, days=3, interval_minutes=10, seed=4)
    assert generate_samples(HOSTS[:1], other) != generate_samples(HOSTS[:1], PLAN)


def test_times_are_aligned_and_end_at_the_plan_end(series: dict[str, list[HostSample]]) -> None:
    healthy = series["127.0.1.1"]
    assert len(healthy) == 3 * 24 * 6
    assert healthy[-1].collect_time == "2024-05-10T12:00:00+08:00"
    steps = {_at(b) - _at(a) for a, b in itertools.pairwise(healthy)}
    assert steps == {timedelta(minutes=10)}
    with pytest.raises(ValueError, match="positive"):
        SeedPlan(end=END, days=0).times()


def test_a_daily_cycle_is_present(series: dict[str, list[HostSample]]) -> None:
    assert daily_cycle(END.replace(hour=14, minute=0)) == pytest.approx(1.0)
    assert daily_cycle(END.replace(hour=2, minute=0)) == pytest.approx(0.0)
    healthy = series["127.0.1.1"]
    afternoon = mean(s.cpu_usage for s in healthy if 13 <= _at(s).hour < 16)  # type: ignore[misc]
    night = mean(s.cpu_usage for s in healthy if 1 <= _at(s).hour < 4)  # type: ignore[misc]
    assert afternoon - night > 8
    assert all(s.memory_status == "正常" and s.cpu_usage < 90 for s in healthy)  # type: ignore[operator]


def test_the_leak_climbs_and_ends_over_threshold(series: dict[str, list[HostSample]]) -> None:
    leak = series["127.0.1.2"]
    assert leak[0].memory_usage < 75  # type: ignore[operator]
    assert leak[-1].memory_usage == pytest.approx(96.0, abs=1.5)  # 100 - available_percent
    first_over = next(s for s in leak if s.memory_usage >= 90)  # type: ignore[operator]
    assert leak[-1].collect_time > first_over.collect_time >= (END - timedelta(hours=12)).isoformat()
    daily = [mean(s.memory_usage for s in leak[i : i + 144]) for i in range(0, len(leak), 144)]  # type: ignore[misc]
    assert daily == sorted(daily)
    swap = series["127.0.1.5"]
    assert swap[-1].memory_usage >= 90 and swap[-1].memory_status == "异常"  # type: ignore[operator]


def test_the_disk_fills_to_the_scenario_level(series: dict[str, list[HostSample]]) -> None:
    disk = series["127.0.1.3"]
    assert disk[-1].disk_usage == 98.0 and disk[-1].disk_status == "异常"
    assert disk[0].disk_usage < 90  # type: ignore[operator]
    assert max(s.memory_usage for s in disk) < 90  # type: ignore[type-var]


def test_an_unreachable_host_is_lost_in_its_last_hours(series: dict[str, list[HostSample]]) -> None:
    host = series["127.0.1.4"]
    lost = [s for s in host if s.cpu_status == "丢失"]
    assert len(lost) == 3 * 6 and lost == host[-len(lost) :]
    assert all(s.cpu_usage is None and s.memory_usage is None and s.disk_usage is None for s in lost)
    assert host[-len(lost) - 1].cpu_status == "正常"


def test_a_slow_host_shows_user_load(series: dict[str, list[HostSample]]) -> None:
    slow = series["127.0.1.6"]
    assert slow[-1].user_load_status == "异常" and slow[0].user_load_status == "正常"


def test_statuses_follow_values(series: dict[str, list[HostSample]]) -> None:
    for host in series.values():
        for s in host:
            if s.memory_usage is not None:
                assert 0 < s.memory_usage < 100
                assert (s.memory_status == "异常") == (s.memory_usage >= 90)
                assert (s.disk_status == "异常") == (s.disk_usage >= 90)  # type: ignore[operator]


def test_one_room_overheats_in_the_last_day() -> None:
    readings = generate_environment(PLAN)
    hot = [r for r in readings if r.room == "机房B"]
    cool = [r for r in readings if r.room == "机房A"]
    last_day = (END - timedelta(days=1)).isoformat()
    assert max(r.avg_temperature for r in cool) < 27  # type: ignore[type-var]
    assert max(r.avg_temperature for r in hot if r.inspection_time < last_day) < 27  # type: ignore[type-var]
    assert hot[-1].avg_temperature > 32 and hot[-1].avg_temperature_status == "异常"  # type: ignore[operator]


def test_service_checks_fail_where_the_faults_say() -> None:
    batches = generate_service_checks(HOSTS, PLAN)
    assert len(batches) == 3 * 24 and len({b for b, _ in batches}) == len(batches)
    last = {(r.server_ip, r.service_id): r for r in batches[-1][1]}
    assert last[("127.0.1.2", "app-server.jar")].process_status == "未运行"
    assert last[("127.0.1.2", "nginx")].status == "正常"
    assert last[("127.0.1.4", "nginx")].status == "异常" and last[("127.0.1.4", "nginx")].response_time == "超时"
    earlier = {(r.server_ip, r.service_id): r for r in batches[-6][1]}
    assert all(r.status == "正常" for r in earlier.values())


def test_simfleet_addresses() -> None:
    assert [simfleet_ip(i) for i in (1, 2, 254, 255, 509)] == [
        "127.0.1.1", "127.0.1.2", "127.0.1.254", "127.0.2.1", "127.0.3.1"
    ]  # fmt: skip
    with pytest.raises(ValueError, match="out of range"):
        simfleet_ip(0)


def test_scenario_hosts_map_names_to_addresses_and_faults(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "s.yaml"
    path.write_text("seed: 9\nhosts: 3\nfaults:\n  node-2: [{kind: disk_full, used_percent: 96}]\n")
    hosts, seed = scenario_hosts(str(path), None)
    assert seed == 9
    assert [(h.ip, h.name) for h in hosts] == [
        ("127.0.1.1", "node-1"),
        ("127.0.1.2", "node-2"),
        ("127.0.1.3", "node-3"),
    ]
    assert hosts[1].faults["disk_full"]["used_percent"] == 96
    healthy, _ = scenario_hosts(None, 4)
    assert len(healthy) == 4 and not any(h.faults for h in healthy)
