"""The LLM client: ChatOpenAI for any OpenAI-compatible endpoint, `<think>` stripping, validated JSON answers.

Error policy: transport faults (refused, timeout after the client's retries, 5xx, 4xx, a body that is not a
chat completion) raise LlmUnavailable; an answer that is no JSON object or fails the schema raises
LlmOutputError, after `invoke_structured` has asked once more with the validation errors appended (one
repair turn fixes most slips of a small model and costs one call; a second rarely helps). Callers render
from the template on either error, and say so.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import openai
from langchain_core.exceptions import ModelError
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

# ValueErrors langchain-openai raises when a 200 answer is not a chat completion (HTML page, empty stream).
_NOT_A_COMPLETION = ("Unexpected response type from OpenAI-compatible endpoint", "No generations found in stream")
_THINK_BLOCK = re.compile(r"<think>.*?</think>\s*", re.DOTALL)
_FENCE = re.compile(r"```(?:json)?\s*\n(.*?)```", re.DOTALL | re.IGNORECASE)


class LlmError(RuntimeError):
    """The LLM gave no usable answer."""


class LlmUnavailable(LlmError):
    """The endpoint could not be reached or did not answer with a chat completion."""


class LlmOutputError(LlmError, ValueError):
    """No JSON object, or one failing the schema: `errors` says why, `raw` is the text, `usage` what it cost."""

    def __init__(self, message: str, *, errors: Sequence[str] = (), raw: str = "", usage: Usage | None = None) -> None:
        super().__init__(message)
        self.errors = list(errors)
        self.raw = raw
        self.usage = usage if usage is not None else Usage()


class LlmSettings(BaseSettings):
    """Which endpoint and model, from OPSWD_LLM_*; no base_url means no LLM (reports render from templates)."""

    model_config = SettingsConfigDict(env_prefix="OPSWD_LLM_", extra="ignore")

    base_url: str | None = Field(None, description="OpenAI-compatible base URL, e.g. http://vllm:8000/v1")
    model: str = Field("Qwen3-32B-AWQ", description="Model name the endpoint serves")
    api_key: SecretStr | None = Field(None, description="Bearer key; never OPENAI_API_KEY, which could leak")
    api_key_file: Path | None = Field(None, description="File holding the key")
    timeout_s: float = Field(60.0, gt=0, description="One HTTP request (per attempt)")
    max_retries: int = Field(2, ge=0, description="Client retries on connection errors, timeouts, 429 and 5xx")
    temperature: float = Field(0.2, ge=0, le=2)
    disable_thinking: bool = Field(
        True,
        description="Send chat_template_kwargs.enable_thinking=false (vLLM/SGLang with Qwen3); turn off for "
        "endpoints that reject unknown fields, such as api.openai.com",
    )

    def resolved_api_key(self) -> str | None:
        """Return the key from the setting or its file, or None."""
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        if self.api_key_file is not None:
            return self.api_key_file.expanduser().read_text().strip()
        return None


@dataclass(frozen=True)
class Usage:
    """Token counts and wall time of one or more calls (zeros where the endpoint reported none)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    latency_ms: float = 0.0
    calls: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total_tokens + other.total_tokens,
            self.latency_ms + other.latency_ms,
            self.calls + other.calls,
        )

    @classmethod
    def of(cls, message: AIMessage, latency_ms: float) -> Usage:
        """Usage of one answer from its usage_metadata."""
        meta = message.usage_metadata or {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
        return cls(meta["input_tokens"], meta["output_tokens"], meta["total_tokens"], latency_ms, 1)


def make_chat_model(settings: LlmSettings) -> ChatOpenAI | None:
    """Build the chat model, or None when no endpoint is configured."""
    if not settings.base_url:
        return None
    extra_body = {"chat_template_kwargs": {"enable_thinking": False}} if settings.disable_thinking else None
    # vLLM and Ollama accept any key; a placeholder keeps ChatOpenAI from sending OPENAI_API_KEY elsewhere.
    api_key = settings.resolved_api_key() or "EMPTY"
    return ChatOpenAI(
        model=settings.model,
        base_url=settings.base_url,
        api_key=SecretStr(api_key),
        timeout=settings.timeout_s,
        max_retries=settings.max_retries,
        temperature=settings.temperature,
        stream_usage=True,
        use_responses_api=False,
        extra_body=extra_body,
    )


def strip_think(text: str) -> str:
    """Remove `<think>…</think>` blocks, a reasoning prefix closed by a lone `</think>`, an unterminated `<think>`."""
    text = _THINK_BLOCK.sub("", text)
    head, closed, tail = text.partition("</think>")
    if closed and "<think>" not in head:
        text = tail  # the chat template opened <think> in the prompt: only the closing tag is in the answer
    start = text.find("<think>")
    if start != -1:
        text = text[:start]  # cut off mid-thought: nothing after it is an answer
    return text.strip()


def extract_json_object(text: str) -> dict[str, Any]:
    """Return the first balanced JSON object in `text` (a ```json fence first), or raise LlmOutputError."""
    for candidate in [*_FENCE.findall(text), text]:
        for span in _object_spans(candidate):
            try:
                value = json.loads(span)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
    # Prose with a stray "{" unbalances the scan: fall back to decoding at every brace.
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    preview = text if len(text) <= 200 else f"{text[:200]}…"
    msg = f"the answer holds no JSON object: {preview!r}"
    raise LlmOutputError(msg, errors=["no JSON object found"], raw=text)


def _object_spans(text: str) -> list[str]:
    """Top-level `{…}` spans, matching braces outside JSON strings; an unclosed tail is dropped."""
    spans: list[str] = []
    depth, start, in_string, escaped = 0, -1, False, False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"' and depth:
            in_string = True
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                spans.append(text[start : i + 1])
    return spans


async def invoke_structured(
    model: BaseChatModel, messages: Sequence[BaseMessage], schema: type[M], *, repair_attempts: int = 1
) -> tuple[M, Usage]:
    """Ask for one JSON object matching `schema`; return it validated with the summed usage of all calls."""
    conversation = _with_schema_instruction(list(messages), schema)
    usage = Usage()
    for attempt in range(max(repair_attempts, 0) + 1):
        answer, call_usage = await _call(model, conversation)
        usage += call_usage
        raw = answer.text
        try:
            return schema.model_validate(extract_json_object(strip_think(raw))), usage
        except ValidationError as exc:
            errors = [f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors()]
        except LlmOutputError as exc:
            errors = exc.errors
        log.info("LLM answer failed %s (attempt %d): %s", schema.__name__, attempt + 1, "; ".join(errors))
        conversation += [AIMessage(content=raw), HumanMessage(content=_repair_request(errors))]
    msg = f"the LLM's answer does not match {schema.__name__}: {'; '.join(errors)}"
    raise LlmOutputError(msg, errors=errors, raw=raw, usage=usage)


async def _call(model: BaseChatModel, messages: list[BaseMessage]) -> tuple[AIMessage, Usage]:
    started = time.perf_counter()
    try:
        answer = await model.ainvoke(messages)
    except (openai.APIError, ModelError) as exc:
        msg = f"the LLM endpoint failed: {type(exc).__name__}: {exc}"
        raise LlmUnavailable(msg) from exc
    except ValueError as exc:
        if not str(exc).startswith(_NOT_A_COMPLETION):
            raise
        msg = f"the LLM endpoint did not answer with a chat completion: {exc}"
        raise LlmUnavailable(msg) from exc
    latency_ms = (time.perf_counter() - started) * 1000
    if not isinstance(answer, AIMessage):
        msg = f"the chat model returned {type(answer).__name__}, expected an AIMessage"
        raise LlmUnavailable(msg)
    usage = Usage.of(answer, latency_ms)
    log.debug("LLM call: %d+%d tokens in %.0f ms", usage.prompt_tokens, usage.completion_tokens, latency_ms)
    return answer, usage


def _with_schema_instruction(messages: list[BaseMessage], schema: type[BaseModel]) -> list[BaseMessage]:
    """Put the JSON Schema in the first system message (some chat templates refuse a second one)."""
    instruction = (
        "Reply with exactly one JSON object, no prose, that validates against this JSON Schema:\n"
        + json.dumps(schema.model_json_schema(), ensure_ascii=False)
    )
    if messages and isinstance(messages[0], SystemMessage) and isinstance(messages[0].content, str):
        return [SystemMessage(content=f"{messages[0].content}\n\n{instruction}"), *messages[1:]]
    return [SystemMessage(content=instruction), *messages]


def _repair_request(errors: Sequence[str]) -> str:
    listed = "\n".join(f"- {e}" for e in errors)
    return f"Your answer was not valid:\n{listed}\nReply again with only the corrected JSON object."
