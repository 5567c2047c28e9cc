"""The request handler answers on one connection at a time, named explicitly, and a request
the balancer stops ends as cancelled (SmolLM2 serves it for real)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from paddler.agent import EngineConfig, InferenceEngine
from paddler.agent.agent_status_board import AgentStatusBoard
from paddler.agent.reconciler import Reconciler, ServingModel
from paddler.agent.request_handler import RequestHandler, nothing_to_flush
from paddler.protocol.agent_desired_model import LocalToAgent
from paddler.protocol.agent_socket import AgentMethod, BalancerMethod
from paddler.protocol.inference_parameters import InferenceParameters
from tests.model_cards import smollm2


def handler(tmp_path: Path) -> RequestHandler:
    return RequestHandler(Reconciler(AgentStatusBoard(desired_slots_total=1), tmp_path, slots=1))


def test_a_second_connection_cannot_take_the_answers_of_the_first(tmp_path: Path) -> None:
    requests = handler(tmp_path)
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    requests.attach(first.append, nothing_to_flush)

    with pytest.raises(RuntimeError, match="already answers on a connection"):
        requests.attach(second.append, nothing_to_flush)
    requests.handle_request({"id": 7, "method": "GetModelMetadata"})

    assert len(first) == 1
    assert second == []


def test_answers_go_to_the_next_connection_once_the_first_is_detached(tmp_path: Path) -> None:
    requests = handler(tmp_path)
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    requests.attach(first.append, nothing_to_flush)
    requests.detach()
    requests.attach(second.append, nothing_to_flush)

    requests.handle_request({"id": 7, "method": "GetModelMetadata"})

    assert first == []
    assert len(second) == 1


async def test_a_request_the_balancer_stops_ends_as_cancelled_with_no_answer(tmp_path: Path) -> None:
    reconciler = Reconciler(AgentStatusBoard(desired_slots_total=1), tmp_path, slots=1)
    engine = await InferenceEngine.load(str(smollm2()), EngineConfig(context_size=512, slots=1, threads=1))
    reconciler.serving = ServingModel(
        engine, InferenceParameters(), None, LocalToAgent(LocalToAgent=str(smollm2()))
    )
    sent: list[dict[str, Any]] = []
    tokens = asyncio.Event()

    def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message.get("method") == AgentMethod.GENERATED_TOKEN:
            tokens.set()

    requests = RequestHandler(reconciler)
    requests.attach(send, nothing_to_flush)
    try:
        before = asyncio.all_tasks()
        params = {"raw_prompt": "Count from one to a thousand:", "max_tokens": 500}
        requests.handle_request(
            {"id": "r1", "method": BalancerMethod.CONTINUE_FROM_RAW_PROMPT, "params": params}
        )
        (serving,) = asyncio.all_tasks() - before
        await asyncio.wait_for(tokens.wait(), 10)

        requests.stop_responding_to("r1")
        await asyncio.wait({serving}, timeout=5)

        assert serving.cancelled()
        assert [message for message in sent if message.get("id") == "r1"] == []
    finally:
        await engine.close()
