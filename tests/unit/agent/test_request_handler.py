"""The request handler answers each balancer connection on its own, refuses a request when every
slot is leased, and a request the balancer stops ends as cancelled (SmolLM2 serves it for real)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from paddler.agent import EngineConfig, InferenceEngine
from paddler.agent.agent_status_board import AgentStatusBoard
from paddler.agent.reconciler import Reconciler, ServingModel
from paddler.agent.request_handler import RequestHandler, nothing_to_flush
from paddler.protocol.agent_desired_model import LocalToAgent
from paddler.protocol.agent_socket import AgentMethod, BalancerMethod, RpcErrorCode
from paddler.protocol.inference_parameters import InferenceParameters
from tests.model_cards import smollm2


def handler(tmp_path: Path) -> RequestHandler:
    return RequestHandler(Reconciler(AgentStatusBoard(desired_slots_total=1), tmp_path, slots=1))


def test_each_connection_gets_the_answers_of_its_own_requests(tmp_path: Path) -> None:
    requests = handler(tmp_path)
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    first_channel = requests.attach(first.append, nothing_to_flush)
    second_channel = requests.attach(second.append, nothing_to_flush)

    requests.handle_request({"id": 7, "method": "GetModelMetadata"}, first_channel)
    requests.handle_request({"id": 8, "method": "GetModelMetadata"}, second_channel)

    assert [message["id"] for message in first] == [None]
    assert [message["id"] for message in second] == [None]
    assert len(first) == len(second) == 1


def test_a_detached_connection_gets_no_more_answers(tmp_path: Path) -> None:
    requests = handler(tmp_path)
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    first_channel = requests.attach(first.append, nothing_to_flush)
    requests.detach(first_channel)
    second_channel = requests.attach(second.append, nothing_to_flush)

    requests.handle_request({"id": 7, "method": "GetModelMetadata"}, first_channel)
    requests.handle_request({"id": 7, "method": "GetModelMetadata"}, second_channel)

    assert first == []
    assert len(second) == 1


async def serving_reconciler(tmp_path: Path, slots: int) -> Reconciler:
    reconciler = Reconciler(AgentStatusBoard(desired_slots_total=slots), tmp_path, slots=slots)
    engine = await InferenceEngine.load(
        str(smollm2()), EngineConfig(context_size=512 * slots, slots=slots, threads=1)
    )
    reconciler.serving = ServingModel(
        engine, InferenceParameters(), None, LocalToAgent(LocalToAgent=str(smollm2()))
    )
    return reconciler


async def test_a_request_beyond_the_agents_slots_is_refused_before_any_token(tmp_path: Path) -> None:
    reconciler = await serving_reconciler(tmp_path, slots=1)
    assert reconciler.serving is not None
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    requests = RequestHandler(reconciler)
    first_channel = requests.attach(first.append, nothing_to_flush)
    second_channel = requests.attach(second.append, nothing_to_flush)
    try:
        params = {"raw_prompt": "Count from one to a thousand:", "max_tokens": 400}
        method = BalancerMethod.CONTINUE_FROM_RAW_PROMPT
        requests.handle_request({"id": "a", "method": method, "params": params}, first_channel)
        await asyncio.sleep(0)  # the first request takes the only slot
        requests.handle_request({"id": "b", "method": method, "params": params}, second_channel)
        for _ in range(100):
            if second:
                break
            await asyncio.sleep(0.01)

        assert second == [
            {
                "jsonrpc": "2.0",
                "id": "b",
                "error": {"code": RpcErrorCode.SLOTS_FULL, "message": "every slot of this agent is busy"},
            }
        ]
        assert reconciler.held_elsewhere(second_channel) == 1
        assert reconciler.held_elsewhere(first_channel) == 0
        requests.stop_responding_to("a", first_channel)
    finally:
        requests.cancel_all()
        await requests.drain(5)
        await reconciler.serving.engine.close()


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
    channel = requests.attach(send, nothing_to_flush)
    try:
        before = asyncio.all_tasks()
        params = {"raw_prompt": "Count from one to a thousand:", "max_tokens": 500}
        requests.handle_request(
            {"id": "r1", "method": BalancerMethod.CONTINUE_FROM_RAW_PROMPT, "params": params}, channel
        )
        (serving,) = asyncio.all_tasks() - before
        await asyncio.wait_for(tokens.wait(), 10)

        requests.stop_responding_to("r1", channel)
        await asyncio.wait({serving}, timeout=5)

        assert serving.cancelled()
        assert [message for message in sent if message.get("id") == "r1"] == []
    finally:
        await engine.close()
