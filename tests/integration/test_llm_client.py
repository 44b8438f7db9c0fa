"""The real ChatOpenAI (make_chat_model) against the scripted OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

import pytest
import pytest_asyncio
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field

from graph.llm import (
    LlmOutputError,
    LlmSettings,
    LlmUnavailable,
    Usage,
    extract_json_object,
    invoke_structured,
    make_chat_model,
    strip_think,
)
from tests.support.fake_openai import FakeOpenAI, Reply, ToolCall, estimate_tokens

MESSAGES = [SystemMessage(content="You are an ops assistant."), HumanMessage(content="Why is web-01 slow?")]
GOOD = {"summary": "memory pressure on web-01", "severity": "warning", "hypotheses": ["leak in java", "no swap"]}


class Diagnosis(BaseModel):
    summary: str = Field(min_length=5)
    severity: Literal["info", "warning", "critical"]
    hypotheses: list[str]


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


def model_for(fake: FakeOpenAI, **overrides: object) -> ChatOpenAI:
    options: dict[str, object] = {"base_url": fake.base_url, "timeout_s": 1, "max_retries": 0, **overrides}
    settings = LlmSettings(**options)  # type: ignore[arg-type]
    model = make_chat_model(settings)
    assert model is not None
    return model


async def test_structured_answer_is_validated_and_usage_recorded(fake: FakeOpenAI) -> None:
    fake.script([f"Here is my analysis:\n```json\n{json.dumps(GOOD)}\n```\nHope it helps."])
    result, usage = await invoke_structured(model_for(fake), MESSAGES, Diagnosis)
    assert result == Diagnosis.model_validate(GOOD)
    body = fake.requests[0]
    prompt_chars = sum(len(m["content"]) for m in body["messages"])
    assert usage.prompt_tokens == estimate_tokens("x" * prompt_chars)
    assert usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.latency_ms > 0 and usage.calls == 1


async def test_request_body_names_model_messages_and_disables_thinking(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak-to-other-endpoints")
    fake.script([json.dumps(GOOD)])
    await invoke_structured(model_for(fake, model="Qwen3-8B"), MESSAGES, Diagnosis)
    body = fake.requests[0]
    assert body["model"] == "Qwen3-8B"
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert body["temperature"] == 0.2
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "user"], "the schema goes into the one system message"
    assert body["messages"][0]["content"].startswith("You are an ops assistant.")
    assert '"severity"' in body["messages"][0]["content"]
    assert body["messages"][1]["content"] == "Why is web-01 slow?"
    assert fake.headers[0]["authorization"] == "Bearer EMPTY"


async def test_thinking_left_on_sends_no_template_kwargs(fake: FakeOpenAI) -> None:
    fake.script(["hello"])
    await model_for(fake, disable_thinking=False, api_key="k-123").ainvoke("hi")
    assert "chat_template_kwargs" not in fake.requests[0]
    assert fake.headers[0]["authorization"] == "Bearer k-123"


async def test_api_key_file(fake: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "key").write_text("k-from-file\n")
    fake.script(["hello"])
    await model_for(fake, api_key_file=tmp_path / "key").ainvoke("hi")
    assert fake.headers[0]["authorization"] == "Bearer k-from-file"


async def test_think_block_is_stripped(fake: FakeOpenAI) -> None:
    fake.think('The user wants {"severity": "critical"}? No, check memory first.')
    fake.script([json.dumps(GOOD)])
    result, _ = await invoke_structured(model_for(fake), MESSAGES, Diagnosis)
    assert result.severity == "warning"


async def test_unterminated_think_is_no_answer(fake: FakeOpenAI) -> None:
    fake.think('{"summary": "half a thought", "severity": "info", "hypotheses": []}', closed=False)
    fake.script([json.dumps(GOOD), json.dumps(GOOD)])
    with pytest.raises(LlmOutputError, match="no JSON object"):
        await invoke_structured(model_for(fake), MESSAGES, Diagnosis)


async def test_streaming_records_usage_from_the_final_chunk(fake: FakeOpenAI) -> None:
    fake.script([json.dumps(GOOD)])
    model = model_for(fake).model_copy(update={"streaming": True})
    result, usage = await invoke_structured(model, MESSAGES, Diagnosis)
    assert result.summary == GOOD["summary"]
    assert fake.requests[0]["stream"] is True
    assert fake.requests[0]["stream_options"] == {"include_usage": True}
    assert usage.prompt_tokens > 0 and usage.completion_tokens == estimate_tokens(json.dumps(GOOD))


async def test_invalid_answer_is_repaired_once_with_the_errors(fake: FakeOpenAI) -> None:
    fake.script([json.dumps({**GOOD, "severity": "urgent"}), json.dumps(GOOD)])
    result, usage = await invoke_structured(model_for(fake), MESSAGES, Diagnosis)
    assert result.severity == "warning"
    assert usage.calls == 2 and usage.total_tokens > 0
    second = fake.requests[1]["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert "severity" in second[-1]["content"] and "urgent" in second[2]["content"]


async def test_still_invalid_after_repair_raises_output_error(fake: FakeOpenAI) -> None:
    fake.script([json.dumps({"summary": "x"}), "I cannot answer in JSON, sorry."])
    with pytest.raises(LlmOutputError) as err:
        await invoke_structured(model_for(fake), MESSAGES, Diagnosis)
    assert err.value.errors == ["no JSON object found"]
    assert err.value.raw == "I cannot answer in JSON, sorry."
    assert err.value.usage.calls == 2
    assert len(fake.requests) == 2


async def test_schema_errors_name_the_fields(fake: FakeOpenAI) -> None:
    fake.script([json.dumps({"summary": "x"})])
    with pytest.raises(LlmOutputError) as err:
        await invoke_structured(model_for(fake), MESSAGES, Diagnosis, repair_attempts=0)
    assert any(e.startswith("summary:") for e in err.value.errors)
    assert any(e.startswith("severity:") for e in err.value.errors)


async def test_slow_server_times_out_after_retries(fake: FakeOpenAI) -> None:
    fake.slow(3)
    fake.script([json.dumps(GOOD)] * 2)
    started = time.monotonic()
    with pytest.raises(LlmUnavailable, match="Timeout"):
        await invoke_structured(model_for(fake, max_retries=1), MESSAGES, Diagnosis)
    elapsed = time.monotonic() - started
    assert 1.9 < elapsed < 4.0, f"timeout 1 s x 2 attempts + backoff, took {elapsed:.1f} s"
    assert len(fake.requests) == 2


@pytest.mark.parametrize("streaming", [False, True])
async def test_non_json_body_is_unavailable(fake: FakeOpenAI, streaming: bool) -> None:
    fake.garbage(200)
    model = model_for(fake).model_copy(update={"streaming": streaming})
    with pytest.raises(LlmUnavailable, match="did not answer with a chat completion"):
        await invoke_structured(model, MESSAGES, Diagnosis)


async def test_server_error_is_unavailable_after_retries(fake: FakeOpenAI) -> None:
    fake.garbage(500)
    with pytest.raises(LlmUnavailable, match="500"):
        await invoke_structured(model_for(fake, max_retries=1), MESSAGES, Diagnosis)
    assert len(fake.requests) == 2


async def test_server_down_is_unavailable(fake: FakeOpenAI) -> None:
    await fake.stop()
    started = time.monotonic()
    with pytest.raises(LlmUnavailable, match="Connection"):
        await invoke_structured(model_for(fake), MESSAGES, Diagnosis)
    assert time.monotonic() - started < 1.0


async def test_tool_calls_reach_the_model(fake: FakeOpenAI) -> None:
    call = ToolCall("metrics_abnormal_hosts", {"window_minutes": 30})
    fake.script([Reply(tool_calls=[call]), Reply(tool_calls=[call])])

    def metrics_abnormal_hosts(window_minutes: int) -> str:
        """List hosts over threshold."""
        return ""

    model = model_for(fake).bind_tools([metrics_abnormal_hosts])
    for answer in [await model.ainvoke("which hosts?"), await model.ainvoke("which hosts?", stream=True)]:
        assert isinstance(answer, AIMessage)
        assert [(c["name"], c["args"]) for c in answer.tool_calls] == [(call.name, call.arguments)]
    assert fake.requests[0]["tools"][0]["function"]["name"] == "metrics_abnormal_hosts"


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSWD_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPSWD_LLM_MODEL", "deepseek-chat")
    monkeypatch.setenv("OPSWD_LLM_TIMEOUT_S", "5")
    settings = LlmSettings()
    assert (settings.base_url, settings.model, settings.timeout_s, settings.max_retries) == (
        "http://127.0.0.1:9/v1", "deepseek-chat", 5.0, 2,
    )  # fmt: skip
    model = make_chat_model(settings)
    assert model is not None and model.stream_usage and model.request_timeout == 5.0


def test_no_base_url_means_no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPSWD_LLM_BASE_URL", raising=False)
    assert make_chat_model(LlmSettings()) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>hmm</think>\n\nanswer", "answer"),
        ("<think>\n\n</think>\n\n{}", "{}"),
        ("<think>a</think>x<think>b</think>y", "xy"),
        ("reasoning the template opened</think>answer", "answer"),
        ("<think>cut off mid-thought {", ""),
        ("no thinking", "no thinking"),
    ],
)
def test_strip_think(text: str, expected: str) -> None:
    assert strip_think(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('Sure! ```json\n{"a": {"b": "}"}}\n``` done', {"a": {"b": "}"}}),
        ('use {braces} like this: {"a": [1, 2]} and {"b": 2}', {"a": [1, 2]}),
        ('a stray { then {"a": 1}', {"a": 1}),
        ('[1, 2] then {"a": "x\\"}"}', {"a": 'x"}'}),
    ],
)
def test_extract_json_object(text: str, expected: dict[str, object]) -> None:
    assert extract_json_object(text) == expected


@pytest.mark.parametrize("text", ["", "no json", "[1, 2]", '{"a": 1'])
def test_extract_json_object_errors(text: str) -> None:
    with pytest.raises(LlmOutputError, match="no JSON object"):
        extract_json_object(text)


def test_usage_adds_up() -> None:
    assert Usage(1, 2, 3, 10.0, 1) + Usage(4, 5, 9, 5.0, 1) == Usage(5, 7, 12, 15.0, 2)
