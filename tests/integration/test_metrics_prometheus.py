"""The Prometheus metrics store against a real Prometheus + node_exporter (Debian packages) on 127.0.0.1,
and against API answers recorded from them (tests/fixtures/prometheus), which need no binaries.

Re-record the fixtures with `OPSWD_RECORD_PROMETHEUS=1 pytest tests/integration/test_metrics_prometheus.py`.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import pytest_asyncio

from tools_server.metrics import prometheus_queries as pq
from tools_server.metrics.models import HostSample
from tools_server.metrics.prometheus import PrometheusError, PrometheusSettings, PrometheusStore
from tools_server.metrics.protocol import EnvironmentLimits, MetricsStore, MetricThresholds, ReadOnlyStoreError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "prometheus"
RECORD = bool(os.environ.get("OPSWD_RECORD_PROMETHEUS"))
TZ = "Asia/Shanghai"
LOW = MetricThresholds(cpu_pct=0.1, memory_pct=0.1, disk_pct=0.1)
HIGH = MetricThresholds(cpu_pct=100, memory_pct=100, disk_pct=100)
NODE_ARGS = ["--collector.disable-defaults", "--collector.cpu", "--collector.meminfo", "--collector.filesystem"]
Handler = Callable[[httpx.Request], httpx.Response]


def _settings(**kw: Any) -> PrometheusSettings:
    return PrometheusSettings(timeout_s=10, connect_timeout_s=2, **kw)


def _binary(*names: str) -> str:
    for name in names:
        if found := shutil.which(name):
            return found
    msg = f"{names[0]} not found: apt-get install -y prometheus prometheus-node-exporter"
    if os.environ.get("CI"):
        pytest.fail(msg)
    pytest.skip(msg)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Probe(BaseHTTPRequestHandler):
    """A failing blackbox-style target: its /metrics says probe_success 0."""

    def do_GET(self) -> None:
        body = b"# TYPE probe_success gauge\nprobe_success 0\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _get(url: str) -> Any:
    try:
        return httpx.get(url, timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return None


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prometheus scraping node_exporter (job node), a failing probe (probe) and a closed port (app)."""
    prom, node = _binary("prometheus"), _binary("prometheus-node-exporter", "node_exporter")
    tmp = tmp_path_factory.mktemp("prometheus")
    probe = ThreadingHTTPServer(("127.0.0.1", 0), _Probe)
    threading.Thread(target=probe.serve_forever, daemon=True).start()
    ports = {"prom": _free_port(), "node": _free_port(), "app": _free_port(), "probe": probe.server_address[1]}
    jobs = {"node": ports["node"], "app": ports["app"], "probe": ports["probe"]}
    scrape = [{"job_name": j, "static_configs": [{"targets": [f"127.0.0.1:{p}"]}]} for j, p in jobs.items()]
    config = {"global": {"scrape_interval": "1s", "scrape_timeout": "900ms"}, "scrape_configs": scrape}
    (tmp / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    url = f"http://127.0.0.1:{ports['prom']}"
    ready = f"{url}/api/v1/query?query=min(count_over_time(up[1m]))>=10 and on() count(up)==3"
    commands = {
        "node": [node, f"--web.listen-address=127.0.0.1:{ports['node']}", *NODE_ARGS],
        "prometheus": [prom, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'data'}",
                       f"--web.listen-address=127.0.0.1:{ports['prom']}"],
    }  # fmt: skip
    with ExitStack() as stack:
        stack.callback(probe.server_close)
        stack.callback(probe.shutdown)
        procs = []
        for name, argv in commands.items():
            log = stack.enter_context((tmp / f"{name}.log").open("w"))
            procs.append(stack.enter_context(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)))
            stack.callback(procs[-1].terminate)  # runs before Popen.__exit__ waits for it
        deadline = time.monotonic() + 30
        while not (_get(ready) or {}).get("data", {}).get("result"):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                logs = "\n".join((tmp / f"{n}.log").read_text()[-1500:] for n in commands)
                pytest.fail(f"Prometheus did not collect 10 scrapes of 3 targets in 30 s:\n{logs}")
            time.sleep(0.5)
        yield url


class _Recorder(httpx.AsyncBaseTransport):
    """A real transport that keeps each request's form and the JSON answer, for the fixtures."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.exchanges: list[dict[str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = json.loads(await response.aread())
        self.exchanges.append({"path": request.url.path, "params": _form(request), "status": response.status_code,
                               "body": body})  # fmt: skip
        return httpx.Response(response.status_code, json=body)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _form(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode()))


async def _ask_everything(store: PrometheusStore, start: datetime, end: datetime) -> dict[str, Any]:
    """Every protocol question on one window, as JSON-able results."""

    def dump(models: list[Any]) -> list[Any]:
        return [m.model_dump(mode="json") for m in models]

    return {
        "abnormal_low": dump(await store.abnormal_hosts(start, end, LOW)),
        "abnormal_high": dump(await store.abnormal_hosts(start, end, HIGH)),
        "history": dump(await store.host_history("127.0.0.1", start, end)),
        "services": dump(await store.service_status(start, end)),
        "services_node": dump(await store.service_status(start, end, ip="127.0.0.1", service="node")),
        "environment": dump(await store.environment_anomalies(start, end, limits=EnvironmentLimits())),
        "report": (await store.report_aggregates(start, end, LOW)).model_dump(mode="json"),
    }


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def live(prometheus: str) -> AsyncIterator[dict[str, Any]]:
    """The answers of the real Prometheus to every question (recorded to the fixtures when asked)."""
    recorder = _Recorder() if RECORD else None
    # A scrape stamped just before `end` may be stored just after it: leave it 2 s to land.
    end = datetime.now().astimezone() - timedelta(seconds=2)
    start = end - timedelta(seconds=60)
    async with PrometheusStore(prometheus, tz=TZ, settings=_settings(), transport=recorder) as store:
        results = await _ask_everything(store, start, end)
    if recorder is not None:
        await _record_extras(prometheus, recorder, start, end, results)
    yield results


async def _record_extras(url: str, rec: _Recorder, start: datetime, end: datetime, results: dict[str, Any]) -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    async with httpx.AsyncClient(base_url=url) as client:
        build = (await client.get("/api/v1/status/buildinfo")).json()["data"]["version"]
        values = ((1, "0/0"), (2, "1/0"), (3, "-1/0"))
        nan_inf = " or ".join(f'label_replace(vector({v}), "instance", "10.0.0.{i}:9100", "", "")' for i, v in values)
        extras = {
            "error_bad_data": ("/api/v1/query", {"query": "rate(node_cpu_seconds_total[5m]"}),
            "empty_vector": ("/api/v1/query", {"query": "opswd_no_such_metric"}),
            "empty_matrix": ("/api/v1/query_range", {"query": "opswd_no_such_metric", "start": "0", "end": "60",
                                                     "step": "15"}),
            "nan_inf": ("/api/v1/query", {"query": nan_inf}),
        }  # fmt: skip
        for name, (path, params) in extras.items():
            resp = await client.post(path, data=params)
            doc = {"path": path, "params": params, "status": resp.status_code, "body": resp.json()}
            (FIXTURES / f"{name}.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
    window = {"captured_from": f"Prometheus {build} (Debian) + prometheus-node-exporter, scrape_interval 1s",
              "start": start.isoformat(), "end": end.isoformat(), "tz": TZ, "expected": results,
              "exchanges": rec.exchanges}  # fmt: skip
    (FIXTURES / "live_window.json").write_text(json.dumps(window, ensure_ascii=False, indent=1) + "\n")


# --- against the real Prometheus -------------------------------------------------------------------------------


def test_low_thresholds_report_localhost_with_floats(live: dict[str, Any]) -> None:
    [host] = live["abnormal_low"]
    assert host["ip"] == "127.0.0.1" and host["lost"] is False
    assert {"memory", "disk"} <= set(host["components"])
    for name in ("cpu", "memory", "disk"):
        assert type(host[f"{name}_usage"]) is float and 0 <= host[f"{name}_usage"] <= 100
    assert datetime.fromisoformat(host["collect_time"]).utcoffset() == timedelta(hours=8)


def test_high_thresholds_report_nothing(live: dict[str, Any]) -> None:
    assert live["abnormal_high"] == []


def test_history_is_ordered_iso_floats(live: dict[str, Any]) -> None:
    history = [HostSample(**h) for h in live["history"]]
    times = [datetime.fromisoformat(h.collect_time) for h in history]
    assert len(history) >= 5 and times == sorted(times) and len(set(times)) == len(times)
    assert all(t.tzinfo is not None for t in times)
    assert all(isinstance(h.memory_usage, float) and isinstance(h.disk_usage, float) for h in history)


def test_service_status_node_up_probe_failing_app_lost(live: dict[str, Any]) -> None:
    latest = {r["service_name"]: r for r in live["services"]}
    assert latest["node"]["status"] == "正常" and latest["node"]["server_ip"] == "127.0.0.1"
    assert latest["probe"]["status"] == "异常"
    assert latest["app"]["status"] == "丢失"
    assert live["services_node"] and {r["service_name"] for r in live["services_node"]} == {"node"}


def test_report_and_environment(live: dict[str, Any]) -> None:
    report = live["report"]
    assert report["hosts"] == 1 and report["samples"] == len(live["history"])
    assert {d["service_name"] for d in report["services_down"]} == {"app", "probe"}
    assert report["environment"]["readings"] == 0 and live["environment"] == []


async def test_real_prometheus_rejects_bad_promql(prometheus: str) -> None:
    end = datetime.now().astimezone()
    async with PrometheusStore(prometheus, tz=TZ, settings=_settings(rate_window="5 minutes")) as store:
        with pytest.raises(PrometheusError, match="bad_data") as err:
            await store.abnormal_hosts(end - timedelta(minutes=1), end, LOW)
    assert err.value.error_type == "bad_data" and err.value.status_code == 400


async def test_history_points_are_bounded(prometheus: str) -> None:
    end = datetime.now().astimezone()
    async with PrometheusStore(prometheus, tz=TZ, settings=_settings(max_points=4)) as store:
        history = await store.host_history("127.0.0.1", end - timedelta(seconds=30), end)
    assert 1 <= len(history) <= 4


# --- against recorded answers ----------------------------------------------------------------------------------


def _load(name: str) -> dict[str, Any]:
    path = FIXTURES / f"{name}.json"
    if not path.is_file():
        pytest.fail(f"{path} missing: record it with OPSWD_RECORD_PROMETHEUS=1 and a local Prometheus")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _replay(window: dict[str, Any], edit: Callable[[dict[str, str], Any], Any] = lambda p, b: b) -> Handler:
    answers = {(e["path"], json.dumps(e["params"], sort_keys=True)): e for e in window["exchanges"]}

    def handler(request: httpx.Request) -> httpx.Response:
        params = _form(request)
        found = answers.get((request.url.path, json.dumps(params, sort_keys=True)))
        if found is None:
            return httpx.Response(404, text=f"not recorded: {params.get('query')}")
        return httpx.Response(found["status"], json=edit(params, json.loads(json.dumps(found["body"]))))

    return handler


def _store(handler: Handler, url: str = "http://127.0.0.1:9") -> PrometheusStore:
    return PrometheusStore(url, tz=TZ, settings=_settings(), transport=httpx.MockTransport(handler))


def _window() -> tuple[dict[str, Any], datetime, datetime]:
    w = _load("live_window")
    return w, datetime.fromisoformat(w["start"]), datetime.fromisoformat(w["end"])


async def test_recorded_answers_replay_to_the_same_results() -> None:
    w, start, end = _window()
    async with _store(_replay(w)) as store:
        assert isinstance(store, MetricsStore)
        assert await _ask_everything(store, start, end) == w["expected"]


@pytest.mark.parametrize("raw", ["NaN", "+Inf", "-Inf", "stale"])
async def test_non_numbers_are_missing_values(raw: str) -> None:
    def edit(params: dict[str, str], body: Any) -> Any:
        if "MemAvailable" in params["query"]:
            for item in body["data"]["result"]:
                item["value"][1] = raw
        return body

    w, start, end = _window()
    async with _store(_replay(w, edit)) as store:
        [host] = await store.abnormal_hosts(start, end, HIGH)
    assert host.memory_usage is None and host.memory_status == "丢失" and host.lost
    assert host.breaches == ["memory 丢失"] and isinstance(host.disk_usage, float)


def test_recorded_nan_inf_parse_as_missing() -> None:
    series = pq.parse_result(_load("nan_inf")["body"]["data"])
    assert [s.labels["instance"] for s in series] == ["10.0.0.1:9100", "10.0.0.2:9100", "10.0.0.3:9100"]
    assert all(v is None for s in series for _, v in s.points) and pq.latest(series) == {}


def _fixed(name: str) -> Handler:
    doc = _load(name)
    return lambda request: httpx.Response(doc["status"], json=doc["body"])


async def test_recorded_error_answer_raises_with_prometheus_words() -> None:
    end = datetime.now().astimezone()
    async with _store(_fixed("error_bad_data")) as store:
        with pytest.raises(PrometheusError, match=r"bad_data, HTTP 400\): invalid parameter") as err:
            await store.host_history("127.0.0.1", end - timedelta(hours=1), end)
    assert err.value.error_type == "bad_data" and "query: " in str(err.value)


async def test_recorded_empty_answers_give_empty_results() -> None:
    vector, matrix = _load("empty_vector"), _load("empty_matrix")

    def handler(request: httpx.Request) -> httpx.Response:
        doc = matrix if request.url.path.endswith("query_range") else vector
        return httpx.Response(200, json=doc["body"])

    end = datetime.now().astimezone()
    async with _store(handler) as store:
        assert await store.abnormal_hosts(end - timedelta(hours=1), end, LOW) == []
        assert await store.service_status(end - timedelta(hours=1), end) == []
        report = await store.report_aggregates(end - timedelta(days=1), end, LOW)
    assert (report.hosts, report.samples, report.days, report.services_down) == (0, 0, [], [])


@pytest.mark.parametrize(
    ("response", "kind", "words"),
    [
        (httpx.Response(401, text="Unauthorized"), "bad_response", "BEARER_TOKEN"),
        (httpx.Response(502, text="<html>Bad Gateway</html>"), "bad_response", "HTTP 502 without an API body"),
        (httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {}, "value": [1, 2]}]}}), "bad_response", "is not a string"),
        (httpx.Response(503, json={"status": "error", "errorType": "unavailable", "error": "shutting down"}),
         "unavailable", "shutting down"),
    ],
)  # fmt: skip
async def test_unusable_answers_raise(response: httpx.Response, kind: str, words: str) -> None:
    end = datetime.now().astimezone()
    async with _store(lambda request: response) as store:
        with pytest.raises(PrometheusError, match=words) as err:
            await store.service_status(end - timedelta(hours=1), end)
    assert err.value.error_type == kind


@pytest.mark.parametrize(("exc", "kind"), [(httpx.ConnectError, "unreachable"), (httpx.ReadTimeout, "timeout")])
async def test_transport_failures_raise(exc: type[httpx.TransportError], kind: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)

    end = datetime.now().astimezone()
    async with _store(handler) as store:
        with pytest.raises(PrometheusError) as err:
            await store.abnormal_hosts(end - timedelta(hours=1), end, LOW)
    assert err.value.error_type == kind


async def test_closed_port_is_unreachable() -> None:
    end = datetime.now().astimezone()
    async with PrometheusStore(f"http://127.0.0.1:{_free_port()}", tz=TZ, settings=_settings()) as store:
        with pytest.raises(PrometheusError, match="cannot reach Prometheus"):
            await store.host_history("127.0.0.1", end - timedelta(minutes=5), end)


async def test_writes_are_refused_and_arguments_checked() -> None:
    end = datetime.now().astimezone()
    async with _store(lambda request: pytest.fail("no request expected")) as store:
        with pytest.raises(ReadOnlyStoreError, match="read-only"):
            await store.write_samples([])
        with pytest.raises(ReadOnlyStoreError):
            await store.write_service_checks([], batch_id="b1")
        with pytest.raises(ValueError, match="not a host IP"):
            await store.host_history('1.2.3.4"} or up{', end - timedelta(hours=1), end)
        with pytest.raises(ValueError, match="after its end"):
            await store.abnormal_hosts(end, end - timedelta(hours=1), LOW)


async def test_auth_from_env_and_url(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    empty = _load("empty_vector")["body"]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization", ""))
        return httpx.Response(200, json=empty)

    end = datetime.now().astimezone()
    monkeypatch.setenv("OPSWD_PROMETHEUS__BEARER_TOKEN", "t0ken")
    async with _store(handler) as store:
        await store.abnormal_hosts(end - timedelta(hours=1), end, LOW)
    monkeypatch.delenv("OPSWD_PROMETHEUS__BEARER_TOKEN")
    async with _store(handler, "http://alice:pw%21@127.0.0.1:9/prom") as store:
        assert "pw" not in repr(store) and store.url == "http://127.0.0.1:9/prom"
        await store.abnormal_hosts(end - timedelta(hours=1), end, LOW)
    assert set(seen) == {"Bearer t0ken", "Basic " + base64.b64encode(b"alice:pw!").decode()}


@pytest.mark.parametrize(
    ("instance", "host", "port"),
    [("10.0.0.5:9100", "10.0.0.5", 9100), ("[::1]:9100", "::1", 9100), ("db1", "db1", None),
     ("http://10.0.0.7:8080/health", "10.0.0.7", 8080)],
)  # fmt: skip
def test_instance_host_part(instance: str, host: str, port: int | None) -> None:
    assert pq.split_instance(instance) == (host, port)
