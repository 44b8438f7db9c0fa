"""A scripted OpenAI-compatible chat server on 127.0.0.1 for tests of the real ChatOpenAI.

    async with FakeOpenAI() as fake:
        fake.script(['{"summary": "ok"}', Reply(tool_calls=[ToolCall("metrics_abnormal_hosts", {})])])
        model = ChatOpenAI(base_url=fake.base_url, ...)
        ...
        fake.requests  # every request body, in order (fake.headers: their headers)

`POST /v1/chat/completions` pops the next scripted reply (HTTP 400 when the script is exhausted, so a test
that under-scripts fails loudly instead of retrying). Modes change every answer until `normal()`: `slow(s)`
sleeps first, `garbage(status)` answers a non-JSON body, `think(text)` prefixes `<think>text</think>`; for
"down", `await fake.stop()` closes the socket (connection refused). `stream: true` answers SSE chunks and,
with `stream_options.include_usage`, a final usage chunk. Token counts are estimated as characters / 4
(tiktoken is not used: its encodings download at run time). uvicorn runs in its own thread, so sync and
async clients both work.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

_ids = itertools.count(1)


@dataclass(frozen=True)
class ToolCall:
    """One tool call the fake model makes."""

    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """One scripted completion: text content, tool calls, or both."""

    content: str | None = None
    tool_calls: tuple[ToolCall, ...] | list[ToolCall] = ()
    finish_reason: str | None = None


@dataclass
class _Mode:
    slow_s: float = 0.0
    garbage_status: int | None = None
    think: str | None = None
    think_closed: bool = True


def estimate_tokens(text: str) -> int:
    """Rough token count: one token per four characters (at least one for non-empty text)."""
    return math.ceil(len(text) / 4)


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    calls = "".join(c.get("function", {}).get("arguments", "") for c in message.get("tool_calls") or [])
    return f"{content or ''}{calls}"


@dataclass
class FakeOpenAI:
    """The server; `base_url` ends in /v1 like OpenAI's."""

    model: str = "fake-model"
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    _queue: deque[Reply] = field(default_factory=deque)
    _mode: _Mode = field(default_factory=_Mode)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    port: int = 0

    @property
    def base_url(self) -> str:
        """The OpenAI base URL of this server."""
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, replies: Iterable[str | Reply]) -> None:
        """Queue replies; a string is a text answer."""
        with self._lock:
            self._queue.extend(Reply(content=r) if isinstance(r, str) else r for r in replies)

    def normal(self) -> None:
        """Answer from the script with no delay or damage."""
        self._mode = _Mode()

    def slow(self, seconds: float) -> None:
        """Sleep `seconds` before answering."""
        self._mode.slow_s = seconds

    def garbage(self, status: int = 200) -> None:
        """Answer a non-JSON body with `status` (200: a broken success, 500: a server error page)."""
        self._mode.garbage_status = status

    def think(self, text: str = "Let me think about this.", *, closed: bool = True) -> None:
        """Prefix each text answer with a <think> block (unterminated when `closed` is False)."""
        self._mode.think, self._mode.think_closed = text, closed

    async def start(self) -> None:
        """Serve on a free port of 127.0.0.1 (the same port again after `stop()`)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        app = Starlette(routes=[Route("/v1/chat/completions", self._completions, methods=["POST"])])
        config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                msg = "the fake OpenAI server did not start"
                raise RuntimeError(msg)
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Stop serving: new connections are refused."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        await asyncio.to_thread(self._thread.join, 10)
        self._server = self._thread = None

    async def __aenter__(self) -> FakeOpenAI:
        await self.start()
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.stop()

    async def _completions(self, request: Request) -> Response:
        body = await request.json()
        mode = self._mode
        with self._lock:
            self.requests.append(body)
            self.headers.append(dict(request.headers))
            reply = self._queue.popleft() if self._queue and mode.garbage_status is None else None
        if mode.slow_s:
            await asyncio.sleep(mode.slow_s)
        if mode.garbage_status is not None:
            return Response("<html><body>upstream went away", mode.garbage_status, media_type="text/html")
        if reply is None:
            error = {"message": "FakeOpenAI: script exhausted", "type": "invalid_request_error"}
            return JSONResponse({"error": error}, 400)
        content = reply.content
        if content is not None and mode.think is not None:
            content = f"<think>{mode.think}</think>\n\n{content}" if mode.think_closed else f"<think>{mode.think}"
        calls: list[dict[str, Any]] = [
            {"id": f"call_{next(_ids)}", "type": "function",
             "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
            for c in reply.tool_calls
        ]  # fmt: skip
        finish = reply.finish_reason or ("tool_calls" if calls else "stop")
        prompt = estimate_tokens("".join(_message_text(m) for m in body.get("messages", [])))
        completion = max(1, estimate_tokens((content or "") + "".join(c["function"]["arguments"] for c in calls)))
        usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        head = {"id": f"chatcmpl-{next(_ids)}", "created": int(time.time()), "model": body.get("model", self.model)}
        if body.get("stream"):
            with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            chunks = _stream_chunks(head, content, calls, finish, usage if with_usage else None)
            return StreamingResponse(chunks, media_type="text/event-stream")
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if calls:
            message["tool_calls"] = calls
        choice = {"index": 0, "message": message, "finish_reason": finish}
        return JSONResponse({**head, "object": "chat.completion", "choices": [choice], "usage": usage})


async def _stream_chunks(
    head: dict[str, Any],
    content: str | None,
    calls: list[dict[str, Any]],
    finish: str,
    usage: dict[str, int] | None,
) -> AsyncIterator[str]:
    def chunk(choices: list[dict[str, Any]], **extra: Any) -> str:
        return f"data: {json.dumps({**head, 'object': 'chat.completion.chunk', 'choices': choices, **extra})}\n\n"

    yield chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
    text = content or ""
    for start in range(0, len(text), 8):
        yield chunk([{"index": 0, "delta": {"content": text[start : start + 8]}, "finish_reason": None}])
    for i, call in enumerate(calls):
        first = {"index": i, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"]}}
        yield chunk([{"index": 0, "delta": {"tool_calls": [first]}, "finish_reason": None}])
        args = call["function"]["arguments"]
        for start in range(0, len(args), 8):
            part = {"index": i, "function": {"arguments": args[start : start + 8]}}
            yield chunk([{"index": 0, "delta": {"tool_calls": [part]}, "finish_reason": None}])
    yield chunk([{"index": 0, "delta": {}, "finish_reason": finish}])
    if usage is not None:
        yield chunk([], usage=usage)
    yield "data: [DONE]\n\n"
