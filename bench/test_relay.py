"""Dispatch through the relay: a real balancer process, simulated agents, rounds of requests.

The balancer (`python -m paddler balancer` on free loopback ports) and the simulated agents
(bench/simulated_agent.py, a process speaking the agent socket) are started once for the module,
by bench/balancer_alone.py's helpers. A round sends 64 one-token `ContinueFromRawPrompt` requests
in one write on one inference socket and ends when every answer came: each request is decoded,
given a slot, sent to an agent, and its token and result relayed back. The balancer, the agents
and this client share the machine's cores, as in bench/balancer_alone.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import pytest
import uvloop
from pytest_benchmark.fixture import BenchmarkFixture

from balancer_alone import balancer, request_frame, simulated_agents
from lean_websocket_client import LeanWebSocket

# 64 slots for the 64 requests of a round: each round dispatches every request at once.
AGENTS, SLOTS = 4, 16
REQUESTS = 64
ROUNDS = 100
ROUND_TIMEOUT_S = 30.0


class RoundClient:
    """One inference socket; `round()` sends REQUESTS requests in one write and waits for their answers."""

    def __init__(self) -> None:
        # The same ids every round: an id is free again once its request's answer came (the
        # balancer forgets it before it sends the last frame).
        self._frames = [request_frame(f"request-{index}", max_tokens=1) for index in range(REQUESTS)]
        self._remaining = 0
        self._unexpected: list[bytes] = []
        self._answered: asyncio.Future[None] | None = None
        self._connection: LeanWebSocket | None = None

    async def connect(self, inference: str) -> None:
        self._connection = await LeanWebSocket.connect(inference, "/api/v1/inference_socket", self._on_text)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()

    def _on_text(self, payload: bytes) -> None:
        # Recognised by substring, not parsed, as in bench/balancer_alone.py: the client must
        # cost far less than the balancer it shares the cores with.
        if b'"ContentToken"' in payload:
            return
        if b'"Done"' not in payload:
            self._unexpected.append(payload)
        self._remaining -= 1
        if self._remaining == 0 and self._answered is not None and not self._answered.done():
            self._answered.set_result(None)

    async def round(self) -> None:
        connection = self._connection
        assert connection is not None, "connect() first"
        self._remaining = len(self._frames)
        self._answered = asyncio.get_running_loop().create_future()
        connection.send_texts(self._frames)
        async with asyncio.timeout(ROUND_TIMEOUT_S):
            await asyncio.wait({self._answered, connection.closed}, return_when=asyncio.FIRST_COMPLETED)
        if not self._answered.done():
            raise ConnectionError("the balancer closed the inference socket")
        if self._unexpected:
            raise AssertionError(f"answers other than Done: {self._unexpected[:3]!r}")


class Relay:
    def __init__(self, runner: asyncio.Runner, client: RoundClient) -> None:
        self._runner = runner
        self._client = client

    def round(self) -> None:
        self._runner.run(self._client.round())


@pytest.fixture(scope="module")
def relay() -> Iterator[Relay]:
    # uvloop, as the balancer and the simulated agents run: the client's share of the cores
    # is smaller than on asyncio's own loop.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        processes = contextlib.AsyncExitStack()
        try:
            server = runner.run(
                processes.enter_async_context(
                    balancer(max_buffered_requests=4 * REQUESTS, buffered_request_timeout_ms=30_000)
                )
            )
            runner.run(processes.enter_async_context(simulated_agents(server.management, AGENTS, SLOTS)))
            client = RoundClient()
            runner.run(client.connect(server.inference))
            processes.callback(client.close)
            yield Relay(runner, client)
        finally:
            runner.run(processes.aclose())


def test_the_balancer_relays_a_round_of_64_one_token_requests_to_4_agents(
    benchmark: BenchmarkFixture, relay: Relay
) -> None:
    # pytest-benchmark leaves pedantic() unannotated.
    benchmark.pedantic(relay.round, rounds=ROUNDS, warmup_rounds=5)  # type: ignore[no-untyped-call]
