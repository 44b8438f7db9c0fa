"""The Starlette app: Alertmanager webhooks into the inbox, incidents, approvals, health.

`app` (for `langgraph.json`'s `http.app`) runs incidents through the LangGraph server's own API (SdkDriver);
`opswatchdog serve` builds the same app with the graph in-process (`create_app(in_process=True)`), its
dispatcher in a worker child process by default (service/worker.py) or, with OPSWD_SERVICE__RUNS=inline, in this
event loop. The webhook answers as soon as the alerts are committed to the Postgres inbox; the dispatcher runs
the investigation afterwards, because Alertmanager retries slow or failing receivers and a slow answer would mean
duplicates.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.approvals import ApprovalRefused, answer_value, check_approver, parse_answer_body, pending_in
from service.auth import BEARER_IDENTITY, authenticate
from service.dispatcher import Dispatcher, outcome_of
from service.driver import InProcessDriver, RunDriver, SdkDriver, open_in_process_driver
from service.inbox import open_inbox
from service.settings import ServiceConfigError, ServiceSettings, service_settings_from_env
from service.worker_process import WorkerProcess, worker_command

log = logging.getLogger("opswatchdog.service")

# A test hook: called after the alerts are committed and before the answer (fault injection in tests only).
AfterIngest = Callable[[Any], Awaitable[None]]


class BodyTooLarge(Exception):
    """The request body exceeds the configured limit."""


@dataclass
class ServiceState:
    """What the routes share: settings, and (once started) the inbox, the driver (thread states) and `wake`."""

    settings: ServiceSettings
    inbox: Any = None
    driver: RunDriver | None = None
    wake: Callable[[], None] | None = None
    """Tells an in-process dispatcher to look now; None with a worker process (it wakes on the inbox NOTIFY)."""
    problem: str | None = None
    after_ingest: AfterIngest | None = None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _svc(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.svc
    return state


def _unavailable(svc: ServiceState) -> JSONResponse | None:
    if svc.inbox is None or svc.driver is None:
        return _error(503, svc.problem or "service starting")
    return None


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _authorized(handler: Callable[[Request, str], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        identity = authenticate(request.headers.get("authorization"), _svc(request).settings)
        if identity is None:
            return JSONResponse(
                {"error": "missing or wrong credentials"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="opswatchdog"'},
            )
        return await handler(request, identity)

    return endpoint


async def receive_alertmanager(request: Request, _identity: str) -> Response:
    """POST /webhooks/alertmanager: validate, commit to the inbox, answer; the run happens later.

    The answer's `Server-Timing` header says how long the handler took (body read, validation, inbox commit)."""
    from service.alert_payload import WebhookFormatError, parse_webhook

    started = time.perf_counter()
    svc = _svc(request)
    if (unavailable := _unavailable(svc)) is not None:
        return unavailable
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        return _error(415, f"content type must be application/json, not {media or 'missing'!r}")
    try:
        body = await _read_body(request, svc.settings.max_body_bytes)
        webhook = parse_webhook(body)
    except BodyTooLarge:
        return _error(413, f"body larger than {svc.settings.max_body_bytes} bytes")
    except WebhookFormatError as exc:
        return _error(400, str(exc))
    try:
        result = await svc.inbox.ingest(webhook)
    except (psycopg.Error, OSError, TimeoutError) as exc:
        log.warning("inbox write failed: %s", exc)
        return _error(503, "inbox unavailable; retry later")  # Alertmanager retries: nothing is lost
    if svc.after_ingest is not None:
        await svc.after_ingest(result)
    if svc.wake is not None:
        svc.wake()
    return JSONResponse(
        {
            "status": "accepted",
            "alerts": len(webhook.alerts),
            "new": result.new,
            "duplicates": result.duplicates,
            "resolved": result.resolved,
            "incidents": result.incidents,
        },
        headers={"Server-Timing": f"inbox;dur={(time.perf_counter() - started) * 1000:.1f}"},
    )


async def list_incidents(request: Request, _identity: str) -> Response:
    """GET /incidents?status=open|resolved&limit=N."""
    svc = _svc(request)
    if (unavailable := _unavailable(svc)) is not None:
        return unavailable
    status = request.query_params.get("status")
    if status not in (None, "open", "resolved"):
        return _error(400, "status must be open or resolved")
    limit_text = request.query_params.get("limit", "100")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= 1000:
        return _error(400, "limit must be an integer from 1 to 1000")
    rows = await svc.inbox.list_incidents(status=status, limit=int(limit_text))
    return JSONResponse(_jsonable({"incidents": rows}))


async def get_incident(request: Request, _identity: str) -> Response:
    """GET /incidents/{id}: alerts, status, findings, report, pending approvals, token usage."""
    svc = _svc(request)
    if (unavailable := _unavailable(svc)) is not None:
        return unavailable
    incident = await svc.inbox.get_incident(request.path_params["incident_id"])
    if incident is None:
        return _error(404, "no such incident")
    assert svc.driver is not None
    snapshot = await svc.driver.snapshot(str(incident["thread_id"]))
    values = snapshot.values
    findings = [
        {**f, "host": host}
        for host, result in sorted((values.get("host_results") or {}).items())
        for f in result.get("findings") or []
    ]
    detail = {
        **incident,
        "live": outcome_of(snapshot, incident["id"]),
        "findings": findings,
        "report": values.get("report"),
        "purchase_requests": values.get("purchase_requests") or [],
        "token_usage": (values.get("llm") or {}).get("usage"),
        "next": snapshot.next,
    }
    return JSONResponse(_jsonable(detail))


async def _waiting_approvals(svc: ServiceState) -> list[dict[str, Any]]:
    assert svc.driver is not None
    out = []
    for incident in await svc.inbox.list_incidents(limit=1000):
        if incident.get("run_state") != "waiting":
            continue
        snapshot = await svc.driver.snapshot(str(incident["thread_id"]))
        requester = (snapshot.values.get("request") or {}).get("requested_by")
        thread = str(incident["thread_id"])
        out += [
            p.as_dict()
            for p in pending_in(thread, snapshot.interrupts, incident["id"], requester, snapshot.interrupt_ids)
        ]
    return out


async def list_approvals(request: Request, _identity: str) -> Response:
    """GET /approvals: every question a thread waits on."""
    svc = _svc(request)
    if (unavailable := _unavailable(svc)) is not None:
        return unavailable
    return JSONResponse({"approvals": await _waiting_approvals(svc)})


async def answer_approval(request: Request, identity: str) -> Response:
    """POST /approvals/{id} {"decision": accept|reject|edit|respond, "approver": ..., "plan"?, "reason"?}."""
    svc = _svc(request)
    if (unavailable := _unavailable(svc)) is not None:
        return unavailable
    approval_id = request.path_params["approval_id"]
    try:
        body = await _read_body(request, 256 * 1024)
        decision, approver, plan, reason = parse_answer_body(body)
        if identity != BEARER_IDENTITY:  # an authenticated person answers as themselves
            if approver is not None and approver != identity:
                raise ApprovalRefused(f"authenticated as {identity}; cannot answer as {approver}")
            approver = identity
        pending = next((p for p in await _waiting_approvals(svc) if p["approval_id"] == approval_id), None)
        if pending is None:
            return _error(404, f"no pending approval {approval_id}")
        name = check_approver(approver, pending["requested_by"])
        value = answer_value(decision, name, plan, reason)
    except BodyTooLarge:
        return _error(413, "body too large")
    except ApprovalRefused as exc:
        return _error(403 if "cannot approve" in str(exc) or "authenticated as" in str(exc) else 400, str(exc))
    stored = await svc.inbox.add_answer(
        pending["answer_key"], pending["incident_id"], pending["thread_id"], value, name, pending["requested_by"]
    )
    if not stored:
        return _error(409, f"approval {approval_id} was already answered")
    if svc.wake is not None:
        svc.wake()
    return JSONResponse(
        {"status": "accepted", "approval_id": approval_id, "incident": pending["incident_id"], "decision": decision},
        status_code=202,
    )


async def healthz(request: Request) -> Response:
    """GET /healthz (no auth): 200 when the inbox database answers, 503 otherwise. One round trip, no counts:
    load balancers and Alertmanager storms call it often (the counts are in GET /stats)."""
    svc = _svc(request)
    if svc.inbox is None:
        return JSONResponse({"status": "unavailable", "problem": svc.problem}, status_code=503)
    try:
        await svc.inbox.ping()
    except (psycopg.Error, OSError, TimeoutError) as exc:
        return JSONResponse({"status": "unavailable", "problem": f"inbox: {exc}"}, status_code=503)
    return JSONResponse({"status": "ok"})


async def stats(request: Request, _identity: str) -> Response:
    """GET /stats: incidents by status and run state, alerts by status, unapplied answers."""
    svc = _svc(request)
    if (unavailable := _unavailable(svc)) is not None:
        return unavailable
    return JSONResponse(_jsonable(await svc.inbox.stats()))


def _jsonable(value: Any) -> Any:
    """Datetimes and UUIDs from the inbox as strings."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _routes() -> list[Route]:
    return [
        Route("/webhooks/alertmanager", _authorized(receive_alertmanager), methods=["POST"]),
        Route("/incidents", _authorized(list_incidents), methods=["GET"]),
        Route("/incidents/{incident_id}", _authorized(get_incident), methods=["GET"]),
        Route("/approvals", _authorized(list_approvals), methods=["GET"]),
        Route("/approvals/{approval_id}", _authorized(answer_approval), methods=["POST"]),
        Route("/stats", _authorized(stats), methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]


@contextlib.asynccontextmanager
async def _driver(in_process: bool) -> AsyncIterator[RunDriver]:
    if in_process:
        async with open_in_process_driver() as runner:
            yield InProcessDriver(runner)
    else:
        yield SdkDriver()


@contextlib.asynccontextmanager
async def _runs(svc: ServiceState, driver: RunDriver, in_process: bool) -> AsyncIterator[None]:
    """Where investigations run: a supervised worker child, or a dispatcher in this event loop."""
    if in_process and svc.settings.runs == "worker":
        worker = WorkerProcess(worker_command(svc.settings.worker_nice))
        await worker.start()
        try:
            yield
        finally:
            await worker.stop()
        return
    dispatcher = Dispatcher(svc.inbox, driver, svc.settings)
    svc.wake = dispatcher.wake
    dispatcher.start()
    try:
        yield
    finally:
        await dispatcher.stop()


def create_app(*, in_process: bool, after_ingest: AfterIngest | None = None) -> Starlette:
    """The service app; `in_process` runs graphs here, otherwise through the hosting LangGraph server."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings = service_settings_from_env()
        svc = ServiceState(settings, after_ingest=after_ingest)
        app.state.svc = svc
        async with contextlib.AsyncExitStack() as stack:
            try:
                settings.require_credentials()
                svc.inbox = await stack.enter_async_context(open_inbox(settings, pool_size=settings.inbox_pool_size))
            except (ServiceConfigError, psycopg.Error, OSError) as exc:
                if in_process:
                    raise
                svc.problem = f"webhook service disabled: {exc}"  # the LangGraph server itself keeps serving
                log.warning(svc.problem)
                yield
                return
            driver = await stack.enter_async_context(_driver(in_process))
            await stack.enter_async_context(_runs(svc, driver, in_process))
            svc.driver = driver
            # Everything imported so far lives as long as the process: keep it out of the cyclic collector, whose
            # full passes over the graph/LangChain modules otherwise pause every request in flight.
            gc.freeze()
            yield

    return Starlette(routes=_routes(), lifespan=lifespan)


app = create_app(in_process=False)
