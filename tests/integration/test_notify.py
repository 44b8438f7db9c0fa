"""notify_send against a real HTTP receiver on 127.0.0.1 and a real SQLite outbox: request shape, retries,
idempotency (duplicates, crash and cancellation recovery, concurrent callers) and the file channel.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pydantic import SecretStr

from tools_server.context import ToolInputError
from tools_server.notify.settings import NotifySettings
from tools_server.tools_notify import NotifySendInput, notify_send

pytestmark = pytest.mark.integration
REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "s3cr3t-webhook-token"
WIRE_FIELDS = {
    "idempotency_key",
    "title",
    "body_markdown",
    "severity",
    "incident_id",
    "lang",
    "links",
    "extra",
    "sent_at",
}


@dataclass
class Request:
    """One request exactly as the receiver read it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Receiver:
    """A minimal HTTP/1.1 webhook receiver; `plan` scripts the next answers: "503", "400" or "hang"."""

    url: str = ""
    requests: list[Request] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)
    delay_s: float = 0.0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            method, target, _ = (await reader.readline()).decode().split(" ", 2)
            headers: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                assert name.strip().lower() not in headers, f"header {name} sent twice"
                headers[name.strip().lower()] = value.strip()
            raw = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append(Request(method, target, headers, json.loads(raw)))
            self.arrived.set()
            action = self.plan.pop(0) if self.plan else "200"
            if action == "hang":
                await asyncio.sleep(3600)
            await asyncio.sleep(self.delay_s)
            payload = json.dumps({"ok": action == "200", "error": "bad payload" if action == "400" else None}).encode()
            head = f"HTTP/1.1 {action} X\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            writer.write(head.encode() + b"Connection: close\r\n\r\n" + payload)
            await writer.drain()
        finally:
            writer.close()
            self.tasks.discard(task)


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    server = await asyncio.start_server(rec.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    rec.url = f"http://127.0.0.1:{port}/hooks/ops?robot=query-secret"
    async with server:
        yield rec
        for task in list(rec.tasks):
            task.cancel()
        await asyncio.gather(*rec.tasks, return_exceptions=True)


def _settings(tmp_path: Path, url: str | None = None, **kw: Any) -> NotifySettings:
    base: dict[str, Any] = {"timeout_s": 0.5, "retries": 3, "backoff_s": 0.01}
    return NotifySettings(
        outbox_db=tmp_path / "var" / "outbox.db",
        outbox_file=tmp_path / "var" / "notifications.jsonl",
        webhook_url=url,
        **(base | kw),
    )


def _msg(key: str = "incident:abc:notify", channel: str = "webhook", **kw: Any) -> NotifySendInput:
    return NotifySendInput.model_validate(
        {"idempotency_key": key, "channel": channel, "title": "磁盘 /data 使用率 96% on db-01"} | kw
    )


def _rows(settings: NotifySettings) -> dict[str, sqlite3.Row]:
    with sqlite3.connect(settings.outbox_db) as conn:
        conn.row_factory = sqlite3.Row
        return {r["idempotency_key"]: r for r in conn.execute("SELECT * FROM outbox")}


async def test_webhook_request_shape_with_bearer_token(
    receiver: Receiver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(tmp_path, receiver.url, webhook_token=SecretStr(TOKEN))
    message = _msg(
        body_markdown="**db-01**: `/data` 96%\n\n- 清理 /data/tmp",
        severity="critical",
        incident_id="inc-2024-0001",
        lang="zh",
        links=[{"title": "Runbook", "url": "https://runbooks.example/disk-full"}],
        extra={"hosts": ["db-01"], "value": 96.2, "nested": {"ok": False, "none": None}},
    )
    result = await notify_send(settings, message)
    assert (result.status, result.attempts, result.channel) == ("sent", 1, "webhook")
    assert result.sent_at is not None and "query-secret" not in result.detail
    [req] = receiver.requests
    assert (req.method, req.path) == ("POST", "/hooks/ops?robot=query-secret")
    assert req.headers["content-type"] == "application/json"
    assert req.headers["idempotency-key"] == "incident:abc:notify"
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert req.headers["user-agent"].startswith("OpsWatchdog-notify/")
    assert set(req.body) == WIRE_FIELDS
    assert req.body == {
        "idempotency_key": "incident:abc:notify",
        "title": "磁盘 /data 使用率 96% on db-01",
        "body_markdown": "**db-01**: `/data` 96%\n\n- 清理 /data/tmp",
        "severity": "critical",
        "incident_id": "inc-2024-0001",
        "lang": "zh",
        "links": [{"title": "Runbook", "url": "https://runbooks.example/disk-full"}],
        "extra": {"hosts": ["db-01"], "value": 96.2, "nested": {"ok": False, "none": None}},
        "sent_at": result.sent_at.isoformat(),
    }
    row = _rows(settings)["incident:abc:notify"]
    assert (row["status"], row["channel"], row["attempts"], row["last_error"]) == ("sent", "webhook", 1, None)
    assert datetime.fromisoformat(row["sent_at"]) == result.sent_at
    assert json.loads(row["payload"])["title"] == message.title
    assert TOKEN not in caplog.text and TOKEN not in row["payload"]
    with sqlite3.connect(settings.outbox_db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_no_token_means_no_authorization_header(receiver: Receiver, tmp_path: Path) -> None:
    result = await notify_send(_settings(tmp_path, receiver.url), _msg())
    assert result.status == "sent"
    assert "authorization" not in receiver.requests[0].headers
    assert receiver.requests[0].body["links"] == [] and receiver.requests[0].body["incident_id"] is None


async def test_token_from_file(receiver: Receiver, tmp_path: Path) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n")
    settings = _settings(tmp_path, receiver.url, webhook_token_file=tmp_path / "token")
    assert (await notify_send(settings, _msg())).status == "sent"
    assert receiver.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("failures", [1, 3])
async def test_503_is_retried_until_success(
    receiver: Receiver, tmp_path: Path, failures: int, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.plan = ["503"] * failures
    settings = _settings(tmp_path, receiver.url, webhook_token=SecretStr(TOKEN))
    result = await notify_send(settings, _msg())
    assert (result.status, result.attempts) == ("sent", failures + 1)
    assert len(receiver.requests) == failures + 1
    assert all(r.body == receiver.requests[0].body for r in receiver.requests), "a retry must repeat the same body"
    assert {r.headers["idempotency-key"] for r in receiver.requests} == {"incident:abc:notify"}
    [row] = _rows(settings).values()
    assert (row["status"], row["attempts"]) == ("sent", failures + 1)
    assert "HTTP 503" in caplog.text and TOKEN not in caplog.text and "query-secret" not in caplog.text


async def test_timeout_is_retried(receiver: Receiver, tmp_path: Path) -> None:
    receiver.plan = ["hang"]
    result = await notify_send(_settings(tmp_path, receiver.url, timeout_s=0.3), _msg())
    assert (result.status, result.attempts, len(receiver.requests)) == ("sent", 2, 2)


async def test_400_fails_without_retry_and_a_later_call_may_retry(receiver: Receiver, tmp_path: Path) -> None:
    receiver.plan = ["400"]
    settings = _settings(tmp_path, receiver.url)
    result = await notify_send(settings, _msg())
    assert (result.status, result.attempts, len(receiver.requests)) == ("failed", 1, 1)
    assert "HTTP 400" in result.detail and "bad payload" in result.detail and result.sent_at is None
    row = _rows(settings)["incident:abc:notify"]
    assert (row["status"], row["attempts"], row["lease_owner"]) == ("failed", 1, None)
    assert "HTTP 400" in row["last_error"]
    again = await notify_send(settings, _msg(title="a rewritten title"))
    assert (again.status, again.attempts, len(receiver.requests)) == ("sent", 2, 2)
    assert receiver.requests[1].body["title"] == receiver.requests[0].body["title"], "the first content stands"


async def test_5xx_until_retries_run_out_is_failed(receiver: Receiver, tmp_path: Path) -> None:
    receiver.plan = ["503"] * 10
    settings = _settings(tmp_path, receiver.url, retries=2)
    result = await notify_send(settings, _msg())
    assert (result.status, result.attempts, len(receiver.requests)) == ("failed", 3, 3)
    assert "3 attempt(s)" in result.detail and "HTTP 503" in result.detail
    assert _rows(settings)["incident:abc:notify"]["status"] == "failed"


async def test_connection_refused_is_retried_then_failed(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = _settings(tmp_path, f"http://127.0.0.1:{port}/hook", retries=2)
    result = await notify_send(settings, _msg())
    assert (result.status, result.attempts) == ("failed", 3)
    assert "ConnectError" in result.detail


async def test_same_key_twice_is_a_duplicate(receiver: Receiver, tmp_path: Path) -> None:
    settings = _settings(tmp_path, receiver.url)
    first = await notify_send(settings, _msg())
    second = await notify_send(settings, _msg(title="the LLM wrote it differently on replay"))
    assert (first.status, second.status) == ("sent", "duplicate")
    assert second.attempts == 1 and second.sent_at == first.sent_at and "not sent again" in second.detail
    assert len(receiver.requests) == 1


async def test_file_channel_appends_one_line_per_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = _settings(tmp_path)  # no webhook configured: the file channel does not need it
    a = await notify_send(settings, _msg("k:a", "outbox", severity="warning"))
    b = await notify_send(settings, _msg("k:b", "outbox"))
    dup = await notify_send(settings, _msg("k:a", "outbox"))
    assert [a.status, b.status, dup.status] == ["sent", "sent", "duplicate"]
    lines = settings.outbox_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    records = [json.loads(line) for line in lines]
    assert [r["idempotency_key"] for r in records] == ["k:a", "k:b"]
    assert set(records[0]) == WIRE_FIELDS and records[0]["title"] == "磁盘 /data 使用率 96% on db-01"
    assert a.sent_at is not None and records[0]["sent_at"] == a.sent_at.isoformat()
    out, err = capsys.readouterr()
    assert out == "", "stdout is the MCP stdio protocol"
    assert err.count("[notify]") == 2 and "warning k:a: 磁盘" in err


async def test_webhook_channel_without_url_is_an_input_error(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with pytest.raises(ToolInputError, match="OPSWD_NOTIFY__WEBHOOK_URL"):
        await notify_send(settings, _msg())
    assert not settings.outbox_db.exists(), "nothing is claimed for a channel that cannot send"


async def test_key_reused_on_another_channel_is_an_input_error(receiver: Receiver, tmp_path: Path) -> None:
    settings = _settings(tmp_path, receiver.url)
    await notify_send(settings, _msg("k:1", "outbox"))
    with pytest.raises(ToolInputError, match="already used for channel 'outbox'"):
        await notify_send(settings, _msg("k:1", "webhook"))
    assert receiver.requests == []


SENDER_PROCESS = """
import asyncio, sys
from tools_server.notify.settings import NotifySettings
from tools_server.tools_notify import NotifySendInput, notify_send
settings = NotifySettings.model_validate_json(sys.argv[1])
result = asyncio.run(notify_send(settings, NotifySendInput.model_validate_json(sys.argv[2])))
print(result.status)
"""


async def test_process_killed_mid_send_leaves_pending_and_is_resent_once(receiver: Receiver, tmp_path: Path) -> None:
    settings = _settings(tmp_path, receiver.url, timeout_s=1.0, retries=0)
    message = _msg()
    receiver.plan = ["hang"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SENDER_PROCESS, settings.model_dump_json(), message.model_dump_json(), cwd=REPO_ROOT
    )
    await asyncio.wait_for(receiver.arrived.wait(), timeout=30)
    proc.send_signal(signal.SIGKILL)
    assert await proc.wait() == -signal.SIGKILL
    row = _rows(settings)["incident:abc:notify"]
    assert (row["status"], row["attempts"], row["sent_at"]) == ("pending", 1, None)
    assert row["lease_owner"] is not None, "a killed process cannot release its lease"

    # The receiver may or may not have acted on the first request: the message is resent (at-least-once)
    # with the same Idempotency-Key once the dead sender's lease has run out.
    resent = await asyncio.wait_for(notify_send(settings, _msg(title="replayed text")), timeout=settings.lease_s + 5)
    assert (resent.status, resent.attempts) == ("sent", 2)
    assert len(receiver.requests) == 2
    assert receiver.requests[1].headers["idempotency-key"] == receiver.requests[0].headers["idempotency-key"]
    assert receiver.requests[1].body["title"] == message.title
    assert (await notify_send(settings, message)).status == "duplicate"
    assert len(receiver.requests) == 2


async def test_cancelled_send_releases_its_claim_and_is_resent_at_once(receiver: Receiver, tmp_path: Path) -> None:
    settings = _settings(tmp_path, receiver.url, timeout_s=30.0)
    receiver.plan = ["hang"]
    task = asyncio.create_task(notify_send(settings, _msg()))
    await asyncio.wait_for(receiver.arrived.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    row = _rows(settings)["incident:abc:notify"]
    assert (row["status"], row["attempts"], row["lease_owner"]) == ("pending", 1, None)
    resent = await asyncio.wait_for(notify_send(settings, _msg()), timeout=5)  # far less than the lease
    assert (resent.status, resent.attempts, len(receiver.requests)) == ("sent", 2, 2)


async def test_same_key_from_five_coroutines_is_delivered_once(receiver: Receiver, tmp_path: Path) -> None:
    receiver.delay_s = 0.2
    settings = _settings(tmp_path, receiver.url)
    results = await asyncio.gather(*(notify_send(settings, _msg()) for _ in range(5)))
    assert sorted(r.status for r in results) == ["duplicate"] * 4 + ["sent"]
    assert len(receiver.requests) == 1
    assert {r.attempts for r in results} == {1}


async def test_concurrent_callers_share_a_failure_instead_of_repeating_it(receiver: Receiver, tmp_path: Path) -> None:
    receiver.plan = ["400"] * 5
    receiver.delay_s = 0.2
    results = await asyncio.gather(*(notify_send(_settings(tmp_path, receiver.url), _msg()) for _ in range(5)))
    assert [r.status for r in results] == ["failed"] * 5
    assert len(receiver.requests) == 1


async def test_same_key_from_five_coroutines_on_the_file_channel_is_one_line(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    results = await asyncio.gather(*(notify_send(settings, _msg("file:1", "outbox")) for _ in range(5)))
    assert sorted(r.status for r in results) == ["duplicate"] * 4 + ["sent"]
    assert len(settings.outbox_file.read_text().splitlines()) == 1


async def test_same_key_from_four_processes_is_delivered_once(receiver: Receiver, tmp_path: Path) -> None:
    receiver.delay_s = 0.3
    settings, message = _settings(tmp_path, receiver.url), _msg()
    args = (settings.model_dump_json(), message.model_dump_json())
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", SENDER_PROCESS, *args, cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE
        )
        for _ in range(4)
    ]
    outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), timeout=60)
    assert [p.returncode for p in procs] == [0] * 4
    assert sorted(out.decode().strip() for out, _ in outputs) == ["duplicate"] * 3 + ["sent"]
    assert len(receiver.requests) == 1
