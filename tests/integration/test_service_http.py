"""The service's HTTP contract against bad input: the right 4xx, nothing stored, and it keeps serving.

Runs the standalone app in this event loop (real Postgres inbox). The valid body is the real Alertmanager 0.25
webhook from ../shared (read in place); the bad ones are built from it.
"""

from __future__ import annotations

import base64
import copy
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.conftest import REPO_ROOT

from .conftest import FleetInfo
from .graph_env import GraphEnv, fresh_postgres_database, prepare_graph_env
from .service_env import ServiceHandle, serving

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

SHARED = Path(os.environ.get("OPSWD_SHARED_FIXTURES", REPO_ROOT.parent / "shared" / "fixtures"))
REAL_WEBHOOK = SHARED / "alertmanager" / "firing-v4-alertmanager-0.25.json"


@pytest.fixture(scope="module")
def real_body() -> dict[str, Any]:
    if not REAL_WEBHOOK.is_file():
        pytest.fail(f"{REAL_WEBHOOK} missing: the shared fixtures are read in place from ../shared")
    body: dict[str, Any] = json.loads(REAL_WEBHOOK.read_text())
    return body


@pytest_asyncio.fixture(loop_scope="module")
async def svc(demo_fleet: FleetInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ServiceHandle]:
    async with fresh_postgres_database("opswd_http") as url:
        genv: GraphEnv = await prepare_graph_env(demo_fleet, tmp_path / "run", url, monkeypatch)
        monkeypatch.setenv("OPSWD_SERVICE__BASIC_USER", "am")
        monkeypatch.setenv("OPSWD_SERVICE__BASIC_PASSWORD", "s3cret")
        monkeypatch.setenv("OPSWD_SERVICE__MAX_BODY_BYTES", str(64 * 1024))
        async with serving(genv, monkeypatch) as handle:
            yield handle


def _mutated(body: dict[str, Any], path: list[Any], value: Any) -> bytes:
    copied = copy.deepcopy(body)
    target = copied
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(copied).encode()


_DELETE = object()
BAD_BODIES = [
    ("not json", None, b"{not json", "JSON"),
    ("array", None, b"[]", ""),
    ("version 3", ["version"], "3", "version"),
    ("no alerts", ["alerts"], _DELETE, "alerts"),
    ("alerts not a list", ["alerts"], {"a": 1}, "alerts"),
    ("label not a string", ["alerts", 0, "labels", "severity"], 5, "alerts[0].labels.severity"),
    ("no alertname", ["alerts", 0, "labels", "alertname"], _DELETE, "alertname"),
    ("bad startsAt", ["alerts", 0, "startsAt"], "yesterday", "alerts[0].startsAt"),
    ("bad status", ["alerts", 0, "status"], "burning", "alerts[0].status"),
]


async def _stored(svc: ServiceHandle) -> int:
    return len(await svc.incidents())


@pytest.mark.parametrize(("case", "path", "value", "names"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
async def test_a_bad_body_is_a_400_naming_the_field(
    svc: ServiceHandle, real_body: dict[str, Any], case: str, path: list[Any] | None, value: Any, names: str
) -> None:
    body = value if path is None else _mutated(real_body, path, value)
    before = await _stored(svc)
    response = await svc.client.post(
        "/webhooks/alertmanager", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, (case, response.text)
    assert names in response.json()["error"], (case, response.json())
    assert await _stored(svc) == before


async def test_wrong_credentials_content_type_and_size(svc: ServiceHandle, real_body: dict[str, Any]) -> None:
    body = json.dumps(real_body).encode()
    json_type = {"Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=svc.url, timeout=10) as anonymous:
        assert (await anonymous.post("/webhooks/alertmanager", content=body, headers=json_type)).status_code == 401
        wrong = {**json_type, "Authorization": "Bearer nope"}
        assert (await anonymous.post("/webhooks/alertmanager", content=body, headers=wrong)).status_code == 401
        bad_basic = {**json_type, "Authorization": "Basic " + base64.b64encode(b"am:wrong").decode()}
        assert (await anonymous.post("/webhooks/alertmanager", content=body, headers=bad_basic)).status_code == 401
        assert (await anonymous.get("/incidents")).status_code == 401
        assert (await anonymous.get("/approvals")).status_code == 401
        assert (await anonymous.get("/stats")).status_code == 401
        assert (await anonymous.get("/healthz")).status_code == 200
    text = await svc.client.post("/webhooks/alertmanager", content=body, headers={"Content-Type": "text/plain"})
    assert text.status_code == 415
    huge = dict(real_body, padding="x" * (70 * 1024))
    too_big = await svc.client.post("/webhooks/alertmanager", content=json.dumps(huge), headers=json_type)
    assert too_big.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit holds on the streamed body too
        for _ in range(80):
            yield b" " * 1024

    streamed = await svc.client.post("/webhooks/alertmanager", content=chunks(), headers=json_type)
    assert streamed.status_code == 413
    assert await _stored(svc) == 0

    basic = {**json_type, "Authorization": "Basic " + base64.b64encode(b"am:s3cret").decode()}
    async with httpx.AsyncClient(base_url=svc.url, timeout=10) as am:
        accepted = await am.post("/webhooks/alertmanager", content=body, headers=basic)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["new"] == 1
    again = await svc.client.post("/webhooks/alertmanager", content=body, headers=json_type)
    assert again.json()["duplicates"] == 1 and again.json()["new"] == 0
    assert await _stored(svc) == 1
    counts = (await svc.client.get("/stats")).json()
    assert counts["alerts"] == {"firing": 1} and counts["incidents"] == {"open": 1}


async def test_unknown_ids_and_bad_answers(svc: ServiceHandle) -> None:
    assert (await svc.client.get("/incidents/inc-nope")).status_code == 404
    assert (await svc.client.get("/incidents", params={"limit": "0"})).status_code == 400
    assert (await svc.client.get("/incidents", params={"status": "weird"})).status_code == 400
    missing = await svc.client.post("/approvals/PR-nope", json={"decision": "accept", "approver": "alice"})
    assert missing.status_code == 404
    garbage = await svc.client.post("/approvals/PR-nope", content=b"{", headers={"Content-Type": "application/json"})
    assert garbage.status_code == 400
    health = await svc.client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
