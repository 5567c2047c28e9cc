import asyncio

from paddler.balancer.dispatch.relay_event import Relayed, RelayFailed, RelayFinished
from paddler.protocol.agent_socket import BalancerMethod
from tests.unit.balancer.dispatch.relay_cluster import (
    PROMPT,
    RecordingSink,
    answer,
    cluster_of_agents,
    done,
    holding_a_request,
    last_request_id,
    requests_sent,
    sent_to_agent,
    token,
)


async def test_a_request_streams_to_its_sink_and_frees_its_slot_when_it_ends() -> None:
    relay, [controller], _ = cluster_of_agents(1)
    sink = RecordingSink()

    relay.start(BalancerMethod.CONTINUE_FROM_RAW_PROMPT, PROMPT, None, sink)
    request_id = last_request_id(controller)
    answer(controller, token(request_id, "Hello"), done(request_id))
    await asyncio.sleep(0)

    assert sink.events == [
        Relayed("agent-0", [{"GeneratedToken": {"ContentToken": "Hello"}}]),
        RelayFinished("agent-0", {"GeneratedToken": {"Done": {}}}),
    ]
    assert controller.slots_claimed == 0
    assert relay.streaming == 0


async def test_a_buffered_request_that_is_cancelled_leaves_the_buffer_and_hears_nothing() -> None:
    relay, [controller], buffered = cluster_of_agents(1)
    first, second = RecordingSink(), RecordingSink()
    relay.start(BalancerMethod.CONTINUE_FROM_RAW_PROMPT, PROMPT, None, first)
    waiting = relay.start(BalancerMethod.CONTINUE_FROM_RAW_PROMPT, PROMPT, None, second)
    assert buffered.buffered_requests_current == 1

    waiting.cancel()

    assert buffered.buffered_requests_current == 0
    assert waiting.ended
    assert second.events == []
    assert len(requests_sent(controller)) == 1


async def test_a_streaming_request_that_is_cancelled_stops_on_its_agent_and_frees_the_slot() -> None:
    relay, [controller], _ = cluster_of_agents(1)
    sink = RecordingSink()
    streaming = relay.start(BalancerMethod.CONTINUE_FROM_RAW_PROMPT, PROMPT, None, sink)
    request_id = last_request_id(controller)

    streaming.cancel()

    stop = sent_to_agent(controller)[-1]
    assert stop["method"] == "stop_responding_to"
    assert stop["params"] == {"request_id": request_id}
    assert controller.slots_claimed == 0
    assert sink.events == []


async def test_a_request_whose_agents_die_twice_before_its_first_token_ends_with_502_and_no_third() -> None:
    relay, controllers, _ = cluster_of_agents(3)
    sink = RecordingSink()

    relay.start(BalancerMethod.CONTINUE_FROM_RAW_PROMPT, PROMPT, None, sink)
    first = holding_a_request(controllers)
    first.close()
    await asyncio.sleep(0)
    second = holding_a_request(controllers)
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
