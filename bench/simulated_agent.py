"""Simulated agents for benchmarking the balancer alone: no model, no engine.

Each one speaks the agent socket as docs/agent-socket.md documents it: it dials
`ws://MANAGEMENT/api/v1/agent_socket/{id}`, sends `register_agent`, reports an `update_agent_status`
snapshot with its slots and a model loaded (at once, then every second, as the real agent does),
and answers `continue_from_raw_prompt` / `continue_from_conversation_history` by streaming
`max_tokens` `generated_token` notifications at a fixed rate per request, then the `Done` result
(and `generate_embedding_batch` with one fixed vector per document, for tests).
The first token goes out as soon as the request arrives (prompt processing costs nothing here),
so a 1-token request is answered within the frame that brought it. Messages that pile up leave
as one JSON-RPC batch frame, like the real agent's outbox.

Run as a process of its own, so that its CPU time is not the balancer's nor the clients':

    python bench/simulated_agent.py --management-addr 127.0.0.1:8060 --agents 4 --slots 64
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import sys
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import orjson
import uvloop
import websockets
from websockets.asyncio.client import ClientConnection, connect

STATUS_INTERVAL_S = 1.0
# Streaming requests are advanced this often; each tick sends every token that fell due.
TICK_S = 0.005
MODEL_PATH = "/simulated/model.gguf"
TOKEN: dict[str, str] = {"ContentToken": " tok"}
_GENERATING_METHODS = frozenset({"continue_from_raw_prompt", "continue_from_conversation_history"})


@dataclass(slots=True)
class _Generation:
    request_id: str
    max_tokens: int
    started: float
    sent: int = 0


class SimulatedAgent:
    def __init__(
        self,
        management_addr: str,
        agent_id: str,
        slots: int,
        tokens_per_s: float,
        secret: str | None = None,
        fail_generations: bool = False,
    ) -> None:
        self._url = f"ws://{management_addr}/api/v1/agent_socket/{agent_id}"
        self._headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        self._agent_id = agent_id
        self._slots = slots
        self._tokens_per_s = tokens_per_s
        # A broken agent, for tests of the balancer's retries: every generation fails at once.
        self._fail_generations = fail_generations
        self._outgoing: deque[dict[str, Any]] = deque()
        self._outgoing_ready = asyncio.Event()
        self._generations: dict[str, _Generation] = {}
        self._streaming = asyncio.Event()
        self._status_version = itertools.count(1)
        self.registered = asyncio.Event()

    async def run(self) -> None:
        async with connect(
            self._url,
            additional_headers=self._headers,
            max_size=1 << 26,
            ping_interval=5.0,
            ping_timeout=10.0,
            compression=None,
        ) as connection:
            # Alone in its frame, as the real agent sends it (a batch starting with
            # register_agent is accepted too).
            register = {"name": self._agent_id, "desired_slots_total": self._slots}
            await connection.send(orjson.dumps(_notification("register_agent", register)).decode())
            self._report_status()
            self.registered.set()
            tasks = [
                asyncio.create_task(self._write_loop(connection)),
                asyncio.create_task(self._status_loop()),
                asyncio.create_task(self._tick_loop()),
            ]
            try:
                with contextlib.suppress(websockets.ConnectionClosed):
                    async for frame in connection:
                        self._handle_frame(frame)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    # -- outgoing ------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        self._outgoing.append(message)
        self._outgoing_ready.set()

    async def _write_loop(self, connection: ClientConnection) -> None:
        # As the real agent's JsonRpcOutbox: one message alone, several as a batch.
        while True:
            await self._outgoing_ready.wait()
            self._outgoing_ready.clear()
            if not self._outgoing:
                continue
            if len(self._outgoing) == 1:
                frame = orjson.dumps(self._outgoing.popleft())
            else:
                frame = orjson.dumps(list(self._outgoing))
                self._outgoing.clear()
            await connection.send(frame.decode())

    def _report_status(self) -> None:
        status: dict[str, Any] = {
            "slots_processing": len(self._generations),
            "slots_total": self._slots,
            "desired_slots_total": self._slots,
            "download_current": 0,
            "download_total": 0,
            "download_filename": None,
            "download_indeterminate": False,
            "issues": [],
            "model_path": MODEL_PATH,
            "state_application_status": "Applied",
            "uses_chat_template_override": False,
        }
        self._send(
            _notification("update_agent_status", {"version": next(self._status_version), "status": status})
        )

    async def _status_loop(self) -> None:
        while True:
            await asyncio.sleep(STATUS_INTERVAL_S)
            self._report_status()

    # -- incoming ------------------------------------------------------------

    def _handle_frame(self, frame: str | bytes) -> None:
        decoded = orjson.loads(frame)
        for message in decoded if isinstance(decoded, list) else [decoded]:
            method = message.get("method")
            params = message.get("params") or {}
            request_id = message.get("id")
            if method in _GENERATING_METHODS and isinstance(request_id, str):
                self._start(request_id, int(params.get("max_tokens") or 1))
            elif method == "stop_responding_to":
                self._generations.pop(str(params.get("request_id")), None)
            elif method == "generate_embedding_batch" and request_id is not None:
                self._embed(request_id, params)
            elif method == "get_model_metadata" and request_id is not None:
                self._send(_result(request_id, {"metadata": {"general.name": "simulated"}}))
            elif method == "get_chat_template_override" and request_id is not None:
                self._send(_result(request_id, None))
            elif request_id is not None and method is not None:
                error = {"code": -32601, "message": f"unknown method {method}"}
                self._send({"jsonrpc": "2.0", "id": request_id, "error": error})
            # `version` and `set_state` need nothing: the simulated model is always loaded.

    def _embed(self, request_id: str | int, params: dict[str, Any]) -> None:
        # A fixed unit vector per document, as the real agent sends them: one notification each.
        for document in params.get("input_batch") or []:
            embedding = {
                "embedding": [1.0, 0.0],
                "normalization_method": params.get("normalization_method"),
                "pooling_type": "Last",
                "source_document_id": document.get("id"),
            }
            self._send(_notification("embedding", {"request_id": request_id, "embedding": embedding}))
        self._send(_result(request_id, "Done"))

    def _start(self, request_id: str, max_tokens: int) -> None:
        if self._fail_generations:
            error = {"code": -32603, "message": f"simulated failure on {self._agent_id}"}
            self._send({"jsonrpc": "2.0", "id": request_id, "error": error})
            return
        if len(self._generations) >= self._slots:
            # The balancer claims a slot per request, so this means a bug on its side.
            error = {"code": -32603, "message": "more requests than slots"}
            self._send({"jsonrpc": "2.0", "id": request_id, "error": error})
            return
        generation = _Generation(request_id, max_tokens, time.monotonic())
        if not self._advance(generation, generation.started):
            self._generations[request_id] = generation
            self._streaming.set()

    def _advance(self, generation: _Generation, now: float) -> bool:
        """Sends the tokens that fell due, and the result after the last one; True when done."""
        due = min(generation.max_tokens, 1 + int((now - generation.started) * self._tokens_per_s))
        for _ in range(due - generation.sent):
            self._send(
                _notification("generated_token", {"request_id": generation.request_id, "token": TOKEN})
            )
        generation.sent = due
        if due < generation.max_tokens:
            return False
        usage = {"prompt_tokens": 1, "content_tokens": due}
        self._send(_result(generation.request_id, {"Done": {"usage": usage}}))
        return True

    async def _tick_loop(self) -> None:
        while True:
            # Idle agents sleep here: a thousand of them must not wake every tick.
            await self._streaming.wait()
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            finished = [rid for rid, gen in self._generations.items() if self._advance(gen, now)]
            for request_id in finished:
                del self._generations[request_id]
            if not self._generations:
                self._streaming.clear()


def _notification(method: str, params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params}


def _result(request_id: str | int, value: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": value}


async def run_agents(
    management_addr: str,
    prefix: str,
    agents: int,
    slots: int,
    tokens_per_s: float,
    secret: str | None = None,
    fail_generations: bool = False,
) -> None:
    simulated = [
        SimulatedAgent(management_addr, f"{prefix}{index}", slots, tokens_per_s, secret, fail_generations)
        for index in range(agents)
    ]
    tasks = []
    for agent in simulated:
        task = asyncio.create_task(agent.run())
        tasks.append(task)
        # One at a time: a thousand handshakes at once would only queue in the listen backlog.
        registered = asyncio.create_task(agent.registered.wait())
        await asyncio.wait({task, registered}, return_when=asyncio.FIRST_COMPLETED)
        registered.cancel()
        if task.done():
            break  # no connection: gather below raises its error
    await asyncio.gather(*tasks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--management-addr", required=True)
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--slots", type=int, default=64)
    parser.add_argument("--tokens-per-s", type=float, default=1000.0, help="per request")
    parser.add_argument("--id-prefix", default="sim-")
    parser.add_argument("--agent-secret", default=os.environ.get("PADDLER_AGENT_SECRET") or None)
    parser.add_argument(
        "--fail-generations", action="store_true", help="answer every generation with an internal error"
    )
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(
            run_agents(
                args.management_addr,
                args.id_prefix,
                args.agents,
                args.slots,
                args.tokens_per_s,
                args.agent_secret,
                args.fail_generations,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
