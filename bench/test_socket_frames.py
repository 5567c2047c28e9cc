"""Decoding the sockets' frames: what the balancer does for every token and every request.

An agent's frames are decoded by its AgentController (`handle_frame`), which puts each token into
its request's mailbox; a client's frames on `/api/v1/inference_socket` by
`decode_inference_socket_message`. The agent's frames are shaped as docs/agent-socket.md shows
them, the client's as paddler/protocol/inference_socket_message.py does (and as
bench/simulated_agent.py and bench/balancer_alone.py send them).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from paddler.balancer.dispatch.agent_controller import AgentController
from paddler.balancer.dispatch.mailbox import Mailbox
from paddler.protocol.agent_socket import AgentMethod, BalancerMethod, notification
from paddler.protocol.inference_socket_message import SocketRequest, decode_inference_socket_message

# As many requests in flight on one agent as a batch frame carries tokens: one token each.
BATCH = 16


def token_notification(request_id: str) -> dict[str, Any]:
    token = {"request_id": request_id, "token": {"ContentToken": " river"}}
    return notification(AgentMethod.GENERATED_TOKEN, token)


def agent_with_requests(count: int) -> tuple[AgentController, list[Mailbox]]:
    controller = AgentController("agent-0", "agent-0", count)
    mailboxes = [
        controller.start_request(
            f"request-{index}",
            BalancerMethod.CONTINUE_FROM_RAW_PROMPT,
            {"raw_prompt": "Hi", "max_tokens": 64},
        )
        for index in range(count)
    ]
    return controller, mailboxes


def decode_and_drain(controller: AgentController, mailboxes: list[Mailbox], frame: bytes) -> None:
    controller.handle_frame(frame)
    # The relay takes each mailbox's items from it; detaching empties it, so that the
    # benchmark's millions of calls do not pile tokens up.
    for mailbox in mailboxes:
        mailbox.detach()


def assert_understood(controller: AgentController, frame: bytes, caplog: pytest.LogCaptureFixture) -> None:
    # A frame the controller does not understand is logged and dropped, at a fraction of the
    # cost: a benchmark of that would measure the wrong path.
    with caplog.at_level("WARNING", logger="paddler"):
        controller.handle_frame(frame)
    assert not caplog.records, caplog.text


def test_the_balancer_decodes_one_generated_token_frame(
    benchmark: BenchmarkFixture, caplog: pytest.LogCaptureFixture
) -> None:
    controller, mailboxes = agent_with_requests(1)
    frame = orjson.dumps(token_notification("request-0"))
    assert_understood(controller, frame, caplog)

    benchmark(decode_and_drain, controller, mailboxes, frame)


def test_the_balancer_decodes_a_batch_frame_of_16_generated_tokens(
    benchmark: BenchmarkFixture, caplog: pytest.LogCaptureFixture
) -> None:
    controller, mailboxes = agent_with_requests(BATCH)
    frame = orjson.dumps([token_notification(f"request-{index}") for index in range(BATCH)])
    assert_understood(controller, frame, caplog)

    benchmark(decode_and_drain, controller, mailboxes, frame)


def conversation_request_frame() -> bytes:
    """A chat of a few turns, as the official client sends ContinueFromConversationHistory."""
    turns = [
        {"role": "system", "content": "You are a careful storyteller who answers in short paragraphs."},
        {"role": "user", "content": "Tell me about the river that rose through the night."},
        {
            "role": "assistant",
            "content": "The river rose slowly, filling the low fields with a grey, quiet water.",
        },
        {"role": "user", "content": [{"type": "text", "text": "What did the farmers do in the morning?"}]},
    ]
    params = {
        "add_generation_prompt": True,
        "conversation_history": turns,
        "enable_thinking": False,
        "max_tokens": 256,
    }
    return orjson.dumps({"Request": {"id": "chat-1", "request": {"ContinueFromConversationHistory": params}}})


def test_the_balancer_decodes_a_client_request_with_a_conversation(benchmark: BenchmarkFixture) -> None:
    frame = conversation_request_frame()

    decoded = benchmark(decode_inference_socket_message, frame)

    assert isinstance(decoded, SocketRequest)


def test_the_balancer_decodes_a_client_request_with_a_raw_prompt(benchmark: BenchmarkFixture) -> None:
    params = {"raw_prompt": "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n", "max_tokens": 1}
    frame = orjson.dumps({"Request": {"id": "raw-1", "request": {"ContinueFromRawPrompt": params}}})

    decoded = benchmark(decode_inference_socket_message, frame)

    assert isinstance(decoded, SocketRequest)
