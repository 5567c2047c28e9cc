"""Creates the agent's parts, wires them, runs them until shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from paddler.agent import backend_devices
from paddler.agent.agent_status_board import AgentStatusBoard
from paddler.agent.engine_config import ThreadWait
from paddler.agent.management_socket_client import ManagementSocketClient
from paddler.agent.model_resolver import DEFAULT_MAX_DOWNLOAD_BYTES, DownloadLimits, default_cache_dir
from paddler.agent.reconciler import Reconciler
from paddler.agent.request_handler import RequestHandler
from paddler.telemetry.request_tracer import request_tracer

RECONCILER_STOP_S = 2.0

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AgentConfig:
    # One balancer's management address, or several (balancers sharing one cluster over
    # etcd): the agent keeps a connection to each and serves them all with its slots.
    management_addrs: tuple[str, ...]
    slots: int
    name: str | None = None
    # The model pool it always serves; None: the balancer places it.
    pool: str | None = None
    threads: int = 0
    thread_wait: ThreadWait = ThreadWait.SPIN
    # Batch-invariant matrix kernels (EngineConfig.deterministic).
    deterministic: bool = False
    cache_dir: Path = field(default_factory=default_cache_dir)
    # The largest model file a URL download may bring; 0: no limit.
    max_model_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES
    agent_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # The balancer's --agent-secret, when it has one.
    secret: str | None = None
    # The CA certificate (PEM) that signed a wss:// balancer's certificate; None: the system's CAs.
    tls_ca: str | None = None
    # An OTLP/HTTP collector for request spans; None: no tracing.
    otlp_endpoint: str | None = None


async def run_agent(config: AgentConfig, shutdown: asyncio.Event) -> None:
    for device in backend_devices():
        logger.info(
            "compute device %s (%s): %s, %.1f of %.1f GiB free",
            device.name,
            device.kind.name,
            device.description,
            device.memory_free / 2**30,
            device.memory_total / 2**30,
        )
    board = AgentStatusBoard(desired_slots_total=config.slots)
    reconciler = Reconciler(
        board,
        config.cache_dir,
        config.slots,
        config.threads,
        config.thread_wait,
        config.deterministic,
        download_limits=DownloadLimits(max_bytes=config.max_model_download_bytes),
    )
    tracer = request_tracer("paddler-agent", config.otlp_endpoint)
    handler = RequestHandler(reconciler, tracer)
    clients = [
        ManagementSocketClient(
            address,
            config.agent_id,
            config.name,
            board,
            reconciler,
            handler,
            config.secret,
            config.tls_ca,
            config.pool,
        )
        for address in config.management_addrs
    ]
    # The socket clients stop first (they tell the balancers), then the reconciler closes the engine.
    client_stopped = asyncio.Event()
    reconciling = asyncio.create_task(reconciler.run(client_stopped))
    try:
        await asyncio.gather(*(client.run(shutdown) for client in clients))
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
