"""Hypothesis sends the inference socket what a broken or hostile client would: bytes that are not
JSON, JSON of the wrong shape, unknown variants, duplicate ids, frames above the size limit. Every
answer is a well-formed envelope, or the socket is closed cleanly (1009 for a frame that is too
big); the same socket still serves a valid request after it, and so does a bystander socket."""

from itertools import count

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.sync.connection import Connection

from tests.integration.conftest import Cluster
from tests.integration.json_strategies import json_values

FRAME_LIMIT = 64 * 1024
MESSAGE_TOO_BIG = 1009
RECV_TIMEOUT_S = 10.0
# orjson writes 64-bit integers only; a longer one where an int is expected comes as this frame.
BIG_INTEGER = (
    b'{"Request": {"id": "n", "request": {"ContinueFromRawPrompt": {"raw_prompt": "", "max_tokens": 1'
    + b"0" * 400
    + b"}}}}"
)
# Stands for a frame above the limit, made at sending: hypothesis need not print 64 KiB.
HUGE = b"<a frame above the limit>"

request_ids = st.sampled_from(["a", "b", "same"]) | st.text(max_size=8)
raw_prompt = st.fixed_dictionaries(
    {"raw_prompt": st.text(max_size=20), "max_tokens": st.integers(min_value=-2, max_value=6)}
)
conversation = st.fixed_dictionaries(
    {
        "conversation_history": st.lists(
            st.fixed_dictionaries({"role": st.sampled_from(["user", "system", ""]), "content": json_values}),
            max_size=3,
        ),
        "max_tokens": st.integers(min_value=-1, max_value=4),
    },
    optional={"enable_thinking": json_values, "grammar": json_values, "tools": json_values},
)
request_bodies = (
    st.builds(lambda params: {"ContinueFromRawPrompt": params}, raw_prompt)
    | st.builds(lambda params: {"ContinueFromConversationHistory": params}, conversation)
    | st.dictionaries(st.text(max_size=12), json_values, max_size=2)  # unknown or missing variants
    | json_values
)
messages = (
    st.builds(lambda rid, body: {"Request": {"id": rid, "request": body}}, request_ids, request_bodies)
    | st.builds(lambda rid: {"Notification": {"StopRespondingTo": rid}}, request_ids)
    | st.builds(lambda value: {"Notification": value}, json_values)
    | st.dictionaries(st.sampled_from(["Request", "Notification", "Response", "x"]), json_values, max_size=2)
    | json_values
)
frames = (
    messages.map(orjson.dumps)
    | st.binary(max_size=64)  # not JSON, or not even UTF-8
    | st.text(max_size=64)
    | st.just(HUGE)
    # An integer beyond 64 bits where an int is expected.
    | st.just(
        b'{"Request": {"id": "n", "request": {"ContinueFromRawPrompt": {"raw_prompt": "", "max_tokens": 1'
        + b"0" * 400
        + b"}}}}"
    )
)
# A frame sent twice in a row: duplicate in-flight ids.
bursts = st.lists(frames, min_size=1, max_size=4).flatmap(
    lambda burst: st.sampled_from([burst, burst + burst[-1:]])
)


def probe(number: int) -> tuple[str, bytes]:
    request_id = f"probe-{number}"
    request = {"ContinueFromRawPrompt": {"raw_prompt": "Hi", "max_tokens": 2}}
    return request_id, orjson.dumps({"Request": {"id": request_id, "request": request}})


def close_code_after(socket: Connection, burst: list[bytes | str], number: int) -> int | None:
    """Sends the burst, then a valid request: None when that request is served, the close code when
    the socket was closed on the way."""
    request_id, request = probe(number)
    try:
        for frame in burst:
            socket.send(b'{"Request": "' + b"x" * FRAME_LIMIT + b'"}' if frame == HUGE else frame)
        socket.send(request)
        read_until_done(socket, request_id)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else -1
    return None


def read_until_done(socket: Connection, request_id: str) -> None:
    """Reads until `request_id` ends with Done; every frame on the way must be a well-formed envelope."""
    while True:
        frame = orjson.loads(socket.recv(timeout=RECV_TIMEOUT_S))
        assert isinstance(frame, dict), frame
        assert len(frame) == 1, frame
        if "Error" in frame:
            error = frame["Error"]
            assert isinstance(error["request_id"], str), frame
            assert 400 <= error["error"]["code"] < 600, frame
            assert error["error"]["description"], frame
            assert error["request_id"] != request_id, frame
            continue
        response = frame["Response"]
        if response["request_id"] == request_id:
            token = response["response"]["GeneratedToken"]
            if "Done" in token:
                return
            assert "ContentToken" in token, frame


@pytest.mark.slow
async def test_random_frames_on_the_inference_socket_get_an_error_or_a_clean_close(cluster: Cluster) -> None:
    await cluster.start_balancer("--max-websocket-frame-bytes", str(FRAME_LIMIT), "--max-tokens-limit", "4")
    cluster.start_simulated_agents("simulated", 1, 16)
    await cluster.wait_for_agents(lambda agents: len(agents) == 1, "the simulated agent")
    url = f"ws://{cluster.inference_addr}/api/v1/inference_socket"
    numbers = count()

    with connect(url) as bystander:

        @settings(
            max_examples=60,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(burst=bursts)
        def frames_never_break_the_socket_or_its_neighbours(burst: list[bytes | str]) -> None:
            too_big = HUGE in burst
            with connect(url, max_size=None) as socket:
                close_code = close_code_after(socket, burst, next(numbers))
            assert close_code == (MESSAGE_TOO_BIG if too_big else None)
            request_id, request = probe(next(numbers))
            bystander.send(request)
            read_until_done(bystander, request_id)

        frames_never_break_the_socket_or_its_neighbours()

    ndjson = await cluster.raw_prompt_lines("Hi", max_tokens=2)
    assert "Done" in ndjson[-1]["Response"]["response"]["GeneratedToken"]
