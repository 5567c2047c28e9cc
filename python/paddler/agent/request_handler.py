"""Serves the balancer's requests on this agent's engine, one task per request
(never one per token); tokens go out as `generated_token` notifications."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from paddler.agent.agent_status_board import AgentStatusBoard
from paddler.agent.conversation_prompt import ChatTemplateError
from paddler.agent.generation_event import (
    ErrorKind,
    GenerationFailed,
    GenerationFinished,
    TokenGenerated,
    Usage,
)
from paddler.agent.reconciler import Reconciler, ServingModel
from paddler.agent.sampling_config import SamplingConfig
from paddler.protocol import agent_socket
from paddler.protocol.agent_socket import (
    SAMPLING_OVERRIDES,
    AgentMethod,
    BalancerMethod,
    RpcErrorCode,
    SamplingOverrides,
)
from paddler.protocol.body_validation import InvalidBody, decode_python
from paddler.protocol.inference_request import (
    CONTINUE_FROM_CONVERSATION_HISTORY,
    CONTINUE_FROM_RAW_PROMPT,
    ContinueFromConversationHistoryParams,
    ContinueFromRawPromptParams,
)
from paddler.protocol.inference_response import usage

logger = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], None]

_FAILURE_CODES = {
    ErrorKind.INVALID_REQUEST: RpcErrorCode.INVALID_PARAMS,
    ErrorKind.PROMPT_TOO_LONG: RpcErrorCode.INVALID_PARAMS,
    # The engine closed under the request (a new model is being loaded):
    # the balancer dispatches it again when no token was sent yet.
    ErrorKind.SHUTTING_DOWN: RpcErrorCode.NO_MODEL_LOADED,
}


class _Reply(Exception):
    """Ends a request early with a JSON-RPC error."""

    def __init__(self, code: RpcErrorCode, message: str) -> None:
        self.code = code
        self.message = message


def _done(native: Usage) -> dict[str, Any]:
    return {
        "Done": {
            "usage": usage(
                prompt_tokens=native.prompt_tokens,
                cached_prompt_tokens=native.cached_prompt_tokens,
                content_tokens=native.completion_tokens,
            )
        }
    }


class RequestHandler:
    def __init__(self, reconciler: Reconciler, board: AgentStatusBoard) -> None:
        self._reconciler = reconciler
        self._board = board
        self._tasks: dict[str, asyncio.Task[None]] = {}
        # Replaced by the management socket client on every connection.
        self.send: Send = lambda _message: None

    def handle_request(self, message: dict[str, Any]) -> None:
        request_id = message.get("id")
        method = message.get("method")
        params = message.get("params")
        if not isinstance(request_id, str):
            self.send(agent_socket.error(None, RpcErrorCode.INVALID_REQUEST, "a request id must be a string"))
            return
        if request_id in self._tasks:
            message_text = "this id is already running"
            self.send(agent_socket.error(request_id, RpcErrorCode.DUPLICATE_REQUEST_ID, message_text))
            return
        task = asyncio.create_task(self._serve(request_id, method, params))
        self._tasks[request_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(request_id, None))

    def stop_responding_to(self, request_id: str) -> None:
        task = self._tasks.get(request_id)
        if task is not None:
            task.cancel()

    async def drain(self, timeout_s: float) -> None:
        """Waits for the requests in flight to finish, for at most `timeout_s`."""
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()), timeout=timeout_s)

    def cancel_all(self) -> None:
        """The balancer is gone: nobody can receive these answers any more."""
        for task in list(self._tasks.values()):
            task.cancel()

    async def _serve(self, request_id: str, method: Any, params: Any) -> None:
        try:
            result = await self._dispatch(request_id, method, params)
            self.send(agent_socket.result(request_id, result))
        except _Reply as reply:
            self.send(agent_socket.error(request_id, reply.code, reply.message))
        except asyncio.CancelledError:
            pass  # stopped by the balancer; the engine request is cancelled with the task
        except Exception as error:  # a bug must cost one request, never the agent
            logger.exception("request %s failed", request_id)
            self.send(agent_socket.error(request_id, RpcErrorCode.INTERNAL_ERROR, f"agent error: {error}"))

    async def _dispatch(self, request_id: str, method: Any, params: Any) -> Any:
        overrides = SamplingOverrides()
        traceparent = None
        if isinstance(params, dict) and ("sampling" in params or "traceparent" in params):
            # Internal members next to the public params (docs/agent-socket.md).
            params = dict(params)
            if "sampling" in params:
                overrides = _decode(SAMPLING_OVERRIDES, params.pop("sampling"))
            traceparent = params.pop("traceparent", None)
            logger.debug("request %s: %s (traceparent %s)", request_id, method, traceparent)
        if method == BalancerMethod.CONTINUE_FROM_RAW_PROMPT:
            raw = _decode(CONTINUE_FROM_RAW_PROMPT, params)
            return await self._generate(request_id, raw, overrides)
        if method == BalancerMethod.CONTINUE_FROM_CONVERSATION_HISTORY:
            conversation = _decode(CONTINUE_FROM_CONVERSATION_HISTORY, params)
            return await self._generate(request_id, conversation, overrides)
        if method == BalancerMethod.GET_MODEL_METADATA:
            serving = self._reconciler.serving
            return None if serving is None else {"metadata": serving.engine.metadata()}
        if method == BalancerMethod.GET_CHAT_TEMPLATE_OVERRIDE:
            serving = self._reconciler.serving
            if serving is None or serving.chat_template_override is None:
                return None
            return {"content": serving.chat_template_override}
        if method == BalancerMethod.GENERATE_EMBEDDING_BATCH:
            raise _Reply(RpcErrorCode.NOT_SUPPORTED, "embeddings are not supported by this agent yet")
        raise _Reply(RpcErrorCode.METHOD_NOT_FOUND, f"unknown method {method!r}")

    async def _generate(
        self,
        request_id: str,
        params: ContinueFromRawPromptParams | ContinueFromConversationHistoryParams,
        overrides: SamplingOverrides,
    ) -> Any:
        if params.grammar is not None:
            raise _Reply(RpcErrorCode.NOT_SUPPORTED, "grammars are not supported by this agent yet")
        with self._reconciler.lease() as serving:
            if serving is None:
                raise _Reply(RpcErrorCode.NO_MODEL_LOADED, "this agent has no model loaded")
            if isinstance(params, ContinueFromConversationHistoryParams):
                early = _conversation_problem(params, serving)
                if early is not None:
                    return early
                prompt = _render(params, serving)
                if isinstance(prompt, dict):
                    return prompt
            else:
                prompt = params.raw_prompt
            sampling = _sampling(serving, params.max_tokens, overrides)
            return await self._stream(request_id, serving, prompt, sampling)

    async def _stream(
        self, request_id: str, serving: ServingModel, prompt: str, sampling: SamplingConfig
    ) -> Any:
        async for event in serving.engine.generate(prompt, sampling):
            if isinstance(event, TokenGenerated):
                if event.text:
                    # Every token is content until the engine classifies them (issue 3).
                    self.send(
                        agent_socket.notification(
                            AgentMethod.GENERATED_TOKEN,
                            {"request_id": request_id, "token": {"ContentToken": event.text}},
                        )
                    )
            elif isinstance(event, GenerationFinished):
                return _done(event.usage)
            elif isinstance(event, GenerationFailed):
                if event.kind is ErrorKind.CONTEXT_EXHAUSTED:
                    # The slot's context is full: the answer ends here, as at max_tokens.
                    return _done(event.usage)
                code = _FAILURE_CODES.get(event.kind, RpcErrorCode.INTERNAL_ERROR)
                raise _Reply(code, f"{event.kind.value}: {event.message}")
        raise _Reply(RpcErrorCode.INTERNAL_ERROR, "the generation ended without a result")


def _decode(adapter: Any, params: Any) -> Any:
    decoded = decode_python(adapter, params)
    if isinstance(decoded, InvalidBody):
        raise _Reply(RpcErrorCode.INVALID_PARAMS, decoded.message)
    return decoded


def _conversation_problem(params: ContinueFromConversationHistoryParams, serving: ServingModel) -> Any:
    if params.tools:
        raise _Reply(RpcErrorCode.NOT_SUPPORTED, "tools are not supported by this agent yet")
    if params.has_images():
        return {"MultimodalNotSupported": "this agent has no multimodal projection loaded"}
    if serving.prompt is None:
        return {"ChatTemplateError": "the model has no usable chat template"}
    return None


def _render(params: ContinueFromConversationHistoryParams, serving: ServingModel) -> str | dict[str, str]:
    assert serving.prompt is not None
    messages = [{"role": message.role, "content": message.text()} for message in params.conversation_history]
    try:
        return serving.prompt.render(
            messages,
            add_generation_prompt=params.add_generation_prompt,
            enable_thinking=params.enable_thinking,
        )
    except ChatTemplateError as error:
        return {"ChatTemplateError": str(error)}


def _sampling(serving: ServingModel, max_tokens: int, overrides: SamplingOverrides) -> SamplingConfig:
    parameters = serving.parameters

    def pick(override: float | None, default: float) -> float:
        return default if override is None else override

    try:
        return SamplingConfig(
            temperature=pick(overrides.temperature, parameters.temperature),
            top_k=parameters.top_k,
            top_p=pick(overrides.top_p, parameters.top_p),
            min_p=parameters.min_p,
            repeat_penalty=parameters.penalty_repeat,
            presence_penalty=pick(overrides.presence_penalty, parameters.penalty_presence),
            frequency_penalty=pick(overrides.frequency_penalty, parameters.penalty_frequency),
            penalty_last_n=parameters.penalty_last_n,
            # -1: as many as the slot's context holds.
            max_tokens=serving.engine.slot_context_size if max_tokens < 0 else max_tokens,
            stop=tuple(overrides.stop),
            ignore_eos=overrides.ignore_eos,
            **({} if overrides.seed is None else {"seed": overrides.seed}),
        )
    except ValueError as error:
        raise _Reply(RpcErrorCode.INVALID_PARAMS, str(error)) from error
