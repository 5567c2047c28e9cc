import asyncio
from typing import Any

import orjson

from paddler.balancer.agent_controller import AgentController
from paddler.balancer.agent_controller_pool import AgentControllerPool
from paddler.balancer.balancer_metrics import BalancerMetrics
from paddler.balancer.buffered_request_manager import BufferedRequestManager
from paddler.balancer.request_relay import Relayed, RelayFailed, RelayFinished, RequestRelay
from paddler.protocol.agent_socket import BalancerMethod

PROMPT = b'{"raw_prompt":"Hi","max_tokens":2}'


class RecordingSink:
    def __init__(self) -> None:
        self.events: list[Relayed | RelayFinished | RelayFailed] = []

    def relayed(self, event: Relayed) -> None:
        self.events.append(event)

    def ended(self, event: RelayFinished | RelayFailed) -> None:
        self.events.append(event)


def cluster_of_one_agent(slots: int) -> tuple[RequestRelay, AgentController, BufferedRequestManager]:
    pool = AgentControllerPool()
    buffered = BufferedRequestManager(pool, max_buffered_requests=4, timeout_s=5)
    controller = AgentController("a", "agent-a", slots)
    pool.register(controller)
    status = {"version": 1, "status": {"slots_total": slots, "desired_slots_total": slots}}
    message = {"jsonrpc": "2.0", "method": "update_agent_status", "params": status}
    controller.handle_frame(orjson.dumps(message))
    return RequestRelay(buffered, BalancerMetrics(pool, buffered), 30.0), controller, buffered


def sent_to_agent(controller: AgentController) -> list[dict[str, Any]]:
    return list(controller._outgoing)


async def test_a_request_streams_to_its_sink_and_frees_its_slot_when_it_ends() -> None:
    relay, controller, _ = cluster_of_one_agent(slots=1)
    sink = RecordingSink()

    relay.start(BalancerMethod.CONTINUE_FROM_RAW_PROMPT, PROMPT, None, sink)
    request_id = sent_to_agent(controller)[-1]["id"]
    token = {"request_id": request_id, "token": {"ContentToken": "Hello"}}
    controller.handle_frame(
        orjson.dumps(
            [
                {"jsonrpc": "2.0", "method": "generated_token", "params": token},
                {"jsonrpc": "2.0", "id": request_id, "result": {"Done": {}}},
            ]
        )
    )
    await asyncio.sleep(0)

    assert sink.events == [
        Relayed("agent-a", [{"GeneratedToken": {"ContentToken": "Hello"}}]),
        RelayFinished("agent-a", {"GeneratedToken": {"Done": {}}}),
    ]
    assert controller.slots_claimed == 0
    assert relay.streaming == 0


async def test_a_buffered_request_that_is_cancelled_leaves_the_buffer_and_hears_nothing() -> None:
    relay, controller, buffered = cluster_of_one_agent(slots=1)
    first, second = RecordingSink(), RecordingSink()
    relay.start(BalancerMethod.CONTINUE_FROM_RAW_PROMPT, PROMPT, None, first)
    waiting = relay.start(BalancerMethod.CONTINUE_FROM_RAW_PROMPT, PROMPT, None, second)
    assert buffered.buffered_requests_current == 1

    waiting.cancel()

    assert buffered.buffered_requests_current == 0
    assert waiting.ended
    assert second.events == []
    assert len([m for m in sent_to_agent(controller) if m.get("method") == "continue_from_raw_prompt"]) == 1


async def test_a_streaming_request_that_is_cancelled_stops_on_its_agent_and_frees_the_slot() -> None:
    relay, controller, _ = cluster_of_one_agent(slots=1)
    sink = RecordingSink()
    streaming = relay.start(BalancerMethod.CONTINUE_FROM_RAW_PROMPT, PROMPT, None, sink)
    request_id = sent_to_agent(controller)[-1]["id"]

    streaming.cancel()

    stop = sent_to_agent(controller)[-1]
    assert stop["method"] == "stop_responding_to"
    assert stop["params"] == {"request_id": request_id}
    assert controller.slots_claimed == 0
    assert sink.events == []


def cluster_of_agents(count: int) -> tuple[RequestRelay, list[AgentController]]:
    pool = AgentControllerPool()
    buffered = BufferedRequestManager(pool, max_buffered_requests=4, timeout_s=5)
    controllers = []
    for number in range(count):
        controller = AgentController(f"id-{number}", f"agent-{number}", 1)
        pool.register(controller)
        status = {"version": 1, "status": {"slots_total": 1, "desired_slots_total": 1}}
        controller.handle_frame(
            orjson.dumps({"jsonrpc": "2.0", "method": "update_agent_status", "params": status})
        )
        controllers.append(controller)
    return RequestRelay(buffered, BalancerMetrics(pool, buffered), 30.0), controllers


def holding_the_request(controllers: list[AgentController]) -> AgentController:
    return next(controller for controller in controllers if controller.slots_claimed)


async def test_a_request_whose_agents_die_twice_before_its_first_token_ends_with_502_and_no_third() -> None:
    relay, controllers = cluster_of_agents(3)
    sink = RecordingSink()

    relay.start(BalancerMethod.CONTINUE_FROM_RAW_PROMPT, PROMPT, None, sink)
    first = holding_the_request(controllers)
    first.close()
    await asyncio.sleep(0)
    second = holding_the_request(controllers)
    second.close()
    await asyncio.sleep(0)

    assert second is not first
    [ended] = sink.events
    assert isinstance(ended, RelayFailed)
    assert ended.code == 502
    assert "not dispatched again" in ended.description
    third = next(controller for controller in controllers if controller not in (first, second))
    assert sent_to_agent(third) == []
    assert third.slots_claimed == 0
    metrics = relay._metrics.requests_on_lost_agents
    assert metrics.value("dispatched_again") == 1
    assert metrics.value("ended") == 1
