"""The relay's request as a state machine, without processes: each path a request
may take, and that every path ends it once and gives its slot back."""

import asyncio
from typing import Any

import pytest

from paddler.balancer.dispatch.mailbox import Mailbox
from paddler.balancer.dispatch.relay_event import Relayed, RelayEnd, RelayFailed, RelayFailure, RelayFinished
from paddler.balancer.dispatch.relay_handle import RelayState
from paddler.protocol.agent_socket import BalancerMethod, RpcErrorCode
from tests.unit.balancer.dispatch.relay_cluster import (
    PROMPT,
    RecordingSink,
    answer,
    cluster_of_agents,
    done,
    error,
    last_request_id,
    requests_sent,
    token,
)

RAW = BalancerMethod.CONTINUE_FROM_RAW_PROMPT


class EndedSink(RecordingSink):
    def __init__(self) -> None:
        super().__init__()
        self.done = asyncio.Event()

    def ended(self, event: RelayEnd) -> None:
        super().ended(event)
        self.done.set()


def the_end(sink: RecordingSink) -> RelayEnd:
    [end] = [event for event in sink.events if not isinstance(event, Relayed)]
    return end


async def test_an_agent_failure_before_the_first_token_is_retried_once_on_another_agent() -> None:
    relay, [first, second], _ = cluster_of_agents(2)
    sink = RecordingSink()
    handle = relay.start(RAW, PROMPT, None, sink)
    failing = first if requests_sent(first) else second
    other = second if failing is first else first

    answer(failing, error(last_request_id(failing), RpcErrorCode.INTERNAL_ERROR, "boom"))
    await asyncio.sleep(0)

    assert handle.state is RelayState.STREAMING
    assert len(requests_sent(other)) == 1
    answer(other, done(last_request_id(other)))
    await asyncio.sleep(0)
    assert isinstance(the_end(sink), RelayFinished)
    assert first.slots_claimed == second.slots_claimed == 0


async def test_a_second_agent_failure_before_the_first_token_ends_the_request_with_500() -> None:
    relay, controllers, _ = cluster_of_agents(2)
    sink = RecordingSink()
    relay.start(RAW, PROMPT, None, sink)

    for _ in range(2):
        failing = next(controller for controller in controllers if controller.slots_claimed)
        answer(failing, error(last_request_id(failing), RpcErrorCode.INTERNAL_ERROR, "boom"))
        await asyncio.sleep(0)

    end = the_end(sink)
    assert isinstance(end, RelayFailed)
    assert (end.code, end.description) == (500, "boom")
    assert sum(len(requests_sent(controller)) for controller in controllers) == 2


async def test_an_agent_without_a_model_gets_the_request_dispatched_again() -> None:
    relay, [reloading, ready], _ = cluster_of_agents(2)
    sink = RecordingSink()
    relay.start(RAW, PROMPT, None, sink)
    holder = reloading if requests_sent(reloading) else ready
    other = ready if holder is reloading else reloading

    answer(holder, error(last_request_id(holder), RpcErrorCode.NO_MODEL_LOADED, "no model"))
    await asyncio.sleep(0)

    # Marked unavailable until its next status: the request went to the other agent.
    assert holder.slots_total == 0
    assert len(requests_sent(other)) == 1
    answer(other, done(last_request_id(other)))
    await asyncio.sleep(0)
    assert isinstance(the_end(sink), RelayFinished)


async def test_a_request_no_agent_can_take_ends_after_five_dispatches() -> None:
    relay, [controller], _ = cluster_of_agents(1)
    sink = RecordingSink()
    relay.start(RAW, PROMPT, None, sink)
    status = (
        b'{"jsonrpc":"2.0","method":"update_agent_status","params":{"version":%d,"status":{"slots_total":1}}}'
    )

    for version in range(2, 7):
        answer(controller, error(last_request_id(controller), RpcErrorCode.NO_MODEL_LOADED, "no model"))
        await asyncio.sleep(0)
        # The agent reports its slots again, so the request may go back to it.
        controller.handle_frame(status % version)
        await asyncio.sleep(0)

    end = the_end(sink)
    assert isinstance(end, RelayFailed)
    assert end.description == "no agent could take the request"
    assert len(requests_sent(controller)) == 5
    assert controller.slots_claimed == 0


async def test_an_agent_silent_past_the_item_timeout_is_stopped_and_the_request_ends_with_504() -> None:
    relay, [controller], _ = cluster_of_agents(1, item_timeout_s=0.05)
    sink = EndedSink()
    relay.start(RAW, PROMPT, None, sink)
    request_id = last_request_id(controller)

    await asyncio.wait_for(sink.done.wait(), timeout=5)

    end = the_end(sink)
    assert isinstance(end, RelayFailed)
    assert (end.reason, end.code) == (RelayFailure.ITEM_TIMEOUT, 504)
    assert controller._outgoing[-1] == {
        "jsonrpc": "2.0",
        "method": "stop_responding_to",
        "params": {"request_id": request_id},
    }
    assert controller.slots_claimed == 0


async def test_ending_all_requests_at_shutdown_ends_each_streaming_one_with_503_and_stops_its_agent() -> None:
    relay, [controller], _ = cluster_of_agents(1, slots=2)
    sinks = [RecordingSink(), RecordingSink()]
    for sink in sinks:
        relay.start(RAW, PROMPT, None, sink)
    answer(controller, token(requests_sent(controller)[0]["id"], "Hi"))
    await asyncio.sleep(0)

    relay.end_all()
    await asyncio.sleep(0)

    for sink in sinks:
        end = the_end(sink)
        assert isinstance(end, RelayFailed)
        assert (end.reason, end.code) == (RelayFailure.SHUTTING_DOWN, 503)
    stopped = [
        m["params"]["request_id"] for m in controller._outgoing if m.get("method") == "stop_responding_to"
    ]
    assert sorted(stopped) == sorted(m["id"] for m in requests_sent(controller))
    assert controller.slots_claimed == 0
    assert relay.streaming == 0


class RaisingSink(RecordingSink):
    def relayed(self, event: Relayed) -> None:
        raise RuntimeError("the client's socket broke")


async def test_a_sink_that_raises_stops_the_request_on_its_agent_and_frees_the_slot() -> None:
    relay, [controller], _ = cluster_of_agents(1)
    handle = relay.start(RAW, PROMPT, None, RaisingSink())
    request_id = last_request_id(controller)

    answer(controller, token(request_id, "Hi"))
    await asyncio.sleep(0)

    assert handle.ended
    assert controller._outgoing[-1]["method"] == "stop_responding_to"
    assert controller.slots_claimed == 0
    assert relay.streaming == 0


async def test_a_hand_off_that_raises_fails_only_its_own_request_and_the_one_before_it_ends() -> None:
    relay, [controller], buffered = cluster_of_agents(1)
    first, second, third = RecordingSink(), RecordingSink(), RecordingSink()
    relay.start(RAW, PROMPT, None, first)
    relay.start(RAW, PROMPT, None, second)
    relay.start(RAW, PROMPT, None, third)
    assert buffered.buffered_requests_current == 2
    start_request = controller.start_request
    calls = 0

    def start_then_raise_once(request_id: str, method: BalancerMethod, params: Any) -> Mailbox:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug in the hand-off")
        return start_request(request_id, method, params)

    controller.start_request = start_then_raise_once  # type: ignore[method-assign]
    # The first request ends: its slot goes to the second, whose start raises.
    answer(controller, done(last_request_id(controller)))
    for _ in range(3):
        await asyncio.sleep(0)

    assert isinstance(the_end(first), RelayFinished)
    failed = the_end(second)
    assert isinstance(failed, RelayFailed)
    assert (failed.reason, failed.code) == (RelayFailure.INTERNAL, 500)
    # The slot went on to the third request, which streams now.
    assert buffered.buffered_requests_current == 0
    assert controller.slots_claimed == 1
    answer(controller, done(last_request_id(controller)))
    await asyncio.sleep(0)
    assert isinstance(the_end(third), RelayFinished)
    assert controller.slots_claimed == 0


async def test_the_next_buffered_request_starts_after_the_releasing_one_has_ended_not_inside_it() -> None:
    relay, [controller], _ = cluster_of_agents(1)
    order: list[str] = []

    class OrderSink(RecordingSink):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

        def ended(self, event: RelayEnd) -> None:
            order.append(f"{self.name} ended")

    relay.start(RAW, PROMPT, None, OrderSink("first"))
    relay.start(RAW, PROMPT, None, OrderSink("second"))
    start_request = controller.start_request

    def recording_start(request_id: str, method: BalancerMethod, params: Any) -> Mailbox:
        order.append("second started")
        return start_request(request_id, method, params)

    controller.start_request = recording_start  # type: ignore[method-assign]
    answer(controller, done(last_request_id(controller)))
    for _ in range(3):
        await asyncio.sleep(0)

    assert order == ["first ended", "second started"]


async def test_a_request_refuses_a_move_its_state_does_not_allow() -> None:
    relay, _, _ = cluster_of_agents(0, max_buffered_requests=0)
    handle = relay.start(RAW, PROMPT, None, RecordingSink())
    assert handle.state is RelayState.ENDED  # no agent, no buffer room: refused at once

    with pytest.raises(RuntimeError, match="cannot go from ENDED to STREAMING"):
        handle._enter(RelayState.STREAMING)
