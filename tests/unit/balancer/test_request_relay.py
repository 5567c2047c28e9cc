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
