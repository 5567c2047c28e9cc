"""Hypothesis plays a broken agent on the agent socket: a first frame that is not register_agent,
then anything: bytes that are not JSON, JSON-RPC of the wrong shape, unknown methods, answers to
requests never made, duplicate ids, registrations twice, large frames. The broken agent's socket
stays open or is closed cleanly; the balancer keeps serving requests through a healthy agent."""

import time
from itertools import count
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State
from websockets.sync.client import connect
from websockets.sync.connection import Connection

from tests.integration.conftest import Cluster
from tests.integration.json_strategies import json_values

# Codes a deliberate close may carry: normal (deregister_agent), policy violation (bad registration).
CLEAN_CLOSES = {1000, 1008}


def rpc(method: str, params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params}


methods = st.sampled_from(
    [
        "register_agent",
        "update_agent_status",
        "deregister_agent",
        "generated_token",
        "embedding",
        "set_state",
        "continue_from_raw_prompt",
    ]
) | st.text(max_size=16)
ids = st.sampled_from(["1", "call-1", "same"]) | st.integers(-5, 5) | st.none()
# A status that validates but offers no slots: a broken agent must never be sent real work here.
no_slots_status = st.fixed_dictionaries(
    {"version": st.integers(-2, 2**40), "status": st.fixed_dictionaries({"slots_total": st.just(0)})}
)
rpc_messages = (
    st.fixed_dictionaries(
        {"jsonrpc": st.just("2.0"), "method": methods},
        optional={"params": json_values | no_slots_status, "id": ids},
    )
    | st.fixed_dictionaries(
        {"jsonrpc": st.just("2.0"), "id": ids},
        optional={"result": json_values, "error": json_values},
    )
    | json_values
)
frames = (
    rpc_messages.map(orjson.dumps)
    | st.lists(rpc_messages, max_size=4).map(orjson.dumps)  # batches
    | st.binary(max_size=64)
    | st.text(max_size=64)
    | st.just(orjson.dumps(list(range(200_000))))  # about 1.3 MB of valid but useless JSON
)
first_frames = st.one_of(
    st.just(orjson.dumps(rpc("register_agent", {"name": "fuzz"}))),
    st.builds(
        lambda params: orjson.dumps({"jsonrpc": "2.0", "method": "register_agent", "params": params}),
        json_values,
    ),
    frames,
)


def close_code_after(socket: Connection, burst: list[bytes | str]) -> int | None:
    """Sends the burst: None when the socket still answers a ping, the close code when it was closed."""
    deadline = time.monotonic() + 10.0
    try:
        for frame in burst:
            socket.send(frame)
        pong = socket.ping()
        while not pong.wait(0.02):
            if socket.protocol.state is not State.OPEN:
                # Closing: reading reaches the close frame after what the balancer sent before it.
                socket.recv(timeout=5.0)
            assert time.monotonic() < deadline, "the balancer neither answered a ping nor closed the socket"
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else -1
    return None


def generate(inference_url: str) -> Any:
    response = httpx.post(
        f"{inference_url}/api/v1/continue_from_raw_prompt",
        json={"raw_prompt": "Hi", "max_tokens": 2},
        timeout=10.0,
    )
    return orjson.loads(response.text.splitlines()[-1])


@pytest.mark.slow
async def test_random_frames_on_the_agent_socket_get_an_error_or_a_clean_close(cluster: Cluster) -> None:
    await cluster.start_balancer("--inference-item-timeout", "5000")
    cluster.start_simulated_agents("healthy", 1, 4)
    await cluster.wait_for_agents(lambda agents: len(agents) == 1, "the healthy agent")
    url = f"ws://{cluster.management_addr}/api/v1/agent_socket"
    numbers = count()

    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(first=first_frames, burst=st.lists(frames, max_size=5))
    def broken_agents_never_break_the_balancer(first: bytes | str, burst: list[bytes | str]) -> None:
        with connect(f"{url}/fuzz-{next(numbers)}", max_size=None) as socket:
            close_code = close_code_after(socket, [first, *burst])
        assert close_code is None or close_code in CLEAN_CLOSES, close_code
        last = generate(cluster.inference_url)
        assert "Done" in last["Response"]["response"]["GeneratedToken"], last

    broken_agents_never_break_the_balancer()

    assert [agent["id"] for agent in await cluster.agents_snapshot()] == ["healthy-0"]
