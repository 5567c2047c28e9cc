"""Creates the agent's parts, wires them, runs them until shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from paddler.agent.agent_status_board import AgentStatusBoard
from paddler.agent.management_socket_client import ManagementSocketClient
from paddler.agent.model_resolver import default_cache_dir
from paddler.agent.reconciler import Reconciler
from paddler.agent.request_handler import RequestHandler
from paddler.telemetry.request_tracer import request_tracer

RECONCILER_STOP_S = 2.0


@dataclass(frozen=True, slots=True)
class AgentConfig:
    management_addr: str
    slots: int
    name: str | None = None
    threads: int = 0
    cache_dir: Path = field(default_factory=default_cache_dir)
    agent_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # The balancer's --agent-secret, when it has one.
    secret: str | None = None
    # An OTLP/HTTP collector for request spans; None: no tracing.
    otlp_endpoint: str | None = None


async def run_agent(config: AgentConfig, shutdown: asyncio.Event) -> None:
    board = AgentStatusBoard(desired_slots_total=config.slots)
    reconciler = Reconciler(board, config.cache_dir, config.slots, config.threads)
    tracer = request_tracer("paddler-agent", config.otlp_endpoint)
    handler = RequestHandler(reconciler, board, tracer)
    client = ManagementSocketClient(
        config.management_addr, config.agent_id, config.name, board, reconciler, handler, config.secret
    )
    # The socket client stops first (it tells the balancer), then the reconciler closes the engine.
    client_stopped = asyncio.Event()
    reconciling = asyncio.create_task(reconciler.run(client_stopped))
    try:
        await client.run(shutdown)
    finally:
        client_stopped.set()
        # An idle reconciler stops at once; one in the middle of a download
        # or a load is not waited for.
        done, _ = await asyncio.wait({reconciling}, timeout=RECONCILER_STOP_S)
        if not done:
            reconciling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reconciling
        tracer.shutdown()
