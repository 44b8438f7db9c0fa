"""The alert storm's HTTP side: the paced storm with its /healthz baseline, the warm-up, waiting for the runs."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from bench.storm_plan import Delivery, Group, firing_alert, stamp, webhook_body

if TYPE_CHECKING:
    from tools_server.inventory import Host

BASELINE_EVERY = 4
JSON = {"Content-Type": "application/json"}


@dataclass
class Storm:
    """What the senders saw: latencies (s) by route, the server's own time (s), answers, errors, first/last instant."""

    latency: dict[str, list[float]] = field(default_factory=lambda: {"webhook": [], "healthz": []})
    server: list[float] = field(default_factory=list)  # Server-Timing `inbox` of each accepted webhook
    untimed: int = 0  # accepted webhooks whose answer had no Server-Timing `inbox`
    answers: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    unsent: int = 0
    first: float = 0.0
    last: float = 0.0


def server_time_s(header: str | None, metric: str = "inbox") -> float | None:
    """The `dur` of `metric` in a Server-Timing header (`inbox;dur=12.5`, milliseconds) in seconds, or None."""
    for entry in (header or "").split(","):
        name, *params = (part.strip() for part in entry.split(";"))
        if name != metric:
            continue
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "dur":
                with contextlib.suppress(ValueError):
                    return float(value.strip().strip('"')) / 1000
    return None


async def send_storm(
    client: httpx.AsyncClient, order: list[Delivery], concurrency: int, rate: float, end: float
) -> Storm:
    """Send `order` with a /healthz after every BASELINE_EVERY, paced to `rate` by `concurrency` senders.

    A delivery waits for the answers to the ones it depends on (a group's notifications go in order)."""
    schedule: list[Delivery | None] = []
    for i, d in enumerate(order):
        schedule += [d, None] if i % BASELINE_EVERY == BASELINE_EVERY - 1 else [d]
    done = {d.id: asyncio.Event() for d in order}
    storm, items = Storm(), iter(enumerate(schedule))
    storm.first = time.perf_counter()

    async def sender() -> None:
        for i, item in items:
            slot = storm.first + i / rate
            if slot > end:
                storm.unsent += item is not None
                continue
            await asyncio.sleep(max(0.0, slot - time.perf_counter()))
            if item is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.gather(*(done[p].wait() for p in item.deps)), end - slot)
            sent = time.perf_counter()
            try:
                if item is None:
                    response = await client.get("/healthz")
                else:
                    response = await client.post("/webhooks/alertmanager", content=item.body, headers=JSON)
            except httpx.HTTPError as exc:
                storm.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            finally:
                acked = time.perf_counter()
                storm.last = max(storm.last, acked)
                if item is not None:
                    done[item.id].set()
            storm.latency["healthz" if item is None else "webhook"].append(acked - sent)
            if response.status_code != 200:
                storm.errors.append(f"{response.request.url.path}: {response.status_code} {response.text[:200]}")
            elif item is not None:
                _count_answer(storm, item, response)

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return storm


def _count_answer(storm: Storm, item: Delivery, response: httpx.Response) -> None:
    answer = response.json()
    storm.answers.update({k: int(answer.get(k, 0)) for k in ("new", "duplicates", "resolved")})
    storm.answers["entries"] += len(item.alerts)
    server = server_time_s(response.headers.get("server-timing"))
    if server is None:
        storm.untimed += 1
    else:
        storm.server.append(server)


async def _post(client: httpx.AsyncClient, group: Group, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    response = await client.post("/webhooks/alertmanager", content=webhook_body(group, alerts), headers=JSON)
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


async def warm_up(client: httpx.AsyncClient, concurrency: int, host: Host) -> tuple[float, float, str]:
    """Untimed, so the storm meets a service that has been up a while: (burst max s, whole run s, its incident).

    A burst of /healthz opens the client's connections and the inbox pool; then one alert on `host` goes through
    a whole run (after the service's settle time; the worker starts the tools server and inspects over SSH) and
    is resolved: nothing of the storm folds into it.
    """

    async def probe() -> float:
        sent = time.perf_counter()
        (await client.get("/healthz")).raise_for_status()
        return time.perf_counter() - sent

    burst = max(await asyncio.gather(*(probe() for _ in range(3 * concurrency))))
    started, alert = time.perf_counter(), firing_alert("BenchWarmUp", "info", host, {}, datetime.now(UTC))
    group = Group(0, '{}:{alertname="BenchWarmUp"}', {"alertname": "BenchWarmUp"})
    incident = str((await _post(client, group, [alert]))["incidents"][0])
    while (await client.get(f"/incidents/{incident}")).json()["run_state"] in ("pending", "running"):
        if time.perf_counter() - started > 300:
            raise SystemExit(f"the warm-up incident {incident} did not finish its run within 300 s")
        await asyncio.sleep(0.2)
    elapsed = time.perf_counter() - started
    await _post(client, group, [alert | {"status": "resolved", "endsAt": stamp(datetime.now(UTC))}])
    return burst, elapsed, incident


async def wait_for_runs(client: httpx.AsyncClient, end: float) -> tuple[float | None, list[dict[str, Any]]]:
    """Poll GET /incidents until no open incident's run is pending: (when, rows), or (None, rows) at `end`."""
    while True:
        response = await client.get("/incidents", params={"limit": "1000"})
        response.raise_for_status()
        rows: list[dict[str, Any]] = response.json()["incidents"]
        if rows and all(r["run_state"] != "pending" or r["status"] != "open" for r in rows):
            return time.perf_counter(), rows
        if time.perf_counter() > end:
            return None, rows
        await asyncio.sleep(0.2)
