"""Creates the balancer's queues and services, wires them, runs them until shutdown."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Protocol

from paddler.balancer.dispatch.agent_controller_pool import AgentControllerPool
from paddler.balancer.dispatch.balancer_metrics import BalancerMetrics
from paddler.balancer.dispatch.buffered_request_manager import BufferBudget
from paddler.balancer.dispatch.embedding_batch_relay import EmbeddingBatchRelay
from paddler.balancer.dispatch.leadership import Leadership
from paddler.balancer.dispatch.model_pools import ModelPools
from paddler.balancer.dispatch.pool_demand import PoolDemand
from paddler.balancer.dispatch.pool_placement import PoolPlacement
from paddler.balancer.dispatch.reconciliation_service import ReconciliationService
from paddler.balancer.dispatch.request_relay import RequestRelay
from paddler.balancer.etcd.etcd_demand_exchange import EtcdDemandExchange
from paddler.balancer.etcd.etcd_leadership import EtcdLeadership
from paddler.balancer.etcd.etcd_state_database import EtcdStateDatabase
from paddler.balancer.inference.inference_service import InferenceService
from paddler.balancer.management.management_service import ManagementService
from paddler.balancer.openai_compat.openai_service import OpenAIService
from paddler.balancer.panel.web_admin_panel_service import WebAdminPanelService, panel_origins
from paddler.balancer.statsd.statsd_reporter import StatsdReporter
from paddler.bootstrap.balancer_config import BalancerConfig
from paddler.bootstrap.state_database_opener import open_state_database
from paddler.telemetry.request_tracer import request_tracer

logger = logging.getLogger(__name__)

# After the grace period, the error lines of the streams ended then are written out within this.
_ENDED_STREAMS_FLUSH_S = 2.0


class Service(Protocol):
    async def run(self, shutdown: asyncio.Event) -> None: ...


def _with_origins(configured: list[str], extra: list[str]) -> list[str]:
    return list(dict.fromkeys([*configured, *extra]))


def _panel_config(config: BalancerConfig) -> dict[str, object]:
    """What the panel's config.json tells the browser: where the APIs are, and the buffer's limits."""
    return {
        "management_addr": config.management_addr,
        "inference_addr": config.inference_addr,
        "compat_openai_addr": config.compat_openai_addr,
        "max_buffered_requests": config.max_buffered_requests,
        "buffered_request_timeout_ms": config.buffered_request_timeout_ms,
    }


async def run_balancer(config: BalancerConfig, shutdown: asyncio.Event) -> None:
    """Runs until `shutdown` is set; raises StateDatabaseError or OSError when it cannot start."""
    database = open_state_database(config.state_database)
    identity = f"{config.management_addr} ({uuid.uuid4().hex[:8]})"
    leadership = (
        EtcdLeadership(identity, database.client, database.prefix)
        if isinstance(database, EtcdStateDatabase)
        else Leadership(identity)
    )
    pool = AgentControllerPool()
    buffered_requests = BufferBudget(config.max_buffered_requests)
    pools = ModelPools(pool, database, buffered_requests, config.buffered_request_timeout_ms / 1000)
    await pools.load()
    metrics = BalancerMetrics(pool, buffered_requests)
    reconciliation = ReconciliationService(pool, pools, leadership)
    demand = PoolDemand()
    tracer = request_tracer("paddler-balancer", config.otlp_endpoint)
    relay = RequestRelay(
        pools.default.buffer,
        metrics,
        config.inference_item_timeout_ms / 1000,
        tracer,
        pool_request_ended=pools.request_ended,
        default_pool=pools.default,
    )

    inference_stop = asyncio.Event()
    management_stop = asyncio.Event()
    embedding_relay = EmbeddingBatchRelay(relay, pool, reconciliation)
    # The panel calls both APIs from the browser: its origins are allowed
    # without the operator listing them.
    panel = (
        panel_origins(config.web_admin_panel_addr, config.tls is not None)
        if config.web_admin_panel_addr
        else []
    )
    inference = InferenceService(
        config.inference_addr,
        relay,
        embedding_relay,
        _with_origins(config.inference_cors_allowed_hosts, panel),
        config.inference_api_keys,
        config.request_limits,
        config.tls,
    )
    background: list[Service] = [
        pools,
        leadership,
        reconciliation,
        PoolPlacement(pool, pools, reconciliation, buffered_requests, metrics, demand),
        ManagementService(
            config.management_addr,
            pool,
            buffered_requests,
            reconciliation,
            metrics,
            _with_origins(config.management_cors_allowed_hosts, panel),
            config.management_token,
            config.agent_secret,
            config.request_limits.max_body_bytes,
            config.tls,
            cluster=lambda: {
                "balancer": identity,
                "state_database": database.health(),
                "leadership": leadership.health(),
            },
        ),
    ]
    if isinstance(database, EtcdStateDatabase):
        # The leader places agents for the requests every balancer holds.
        background.append(
            EtcdDemandExchange(identity, database.client, database.prefix, demand, lambda: pools.pools)
        )
    if config.statsd_addr:
        background.append(
            StatsdReporter(
                config.statsd_addr,
                config.statsd_prefix,
                config.statsd_reporting_interval_ms / 1000,
                pool,
                buffered_requests,
            )
        )
    if config.web_admin_panel_addr:
        background.append(
            WebAdminPanelService(config.web_admin_panel_addr, _panel_config(config), tls=config.tls)
        )

    front: list[Service] = [inference]
    if config.compat_openai_addr:
        front.append(
            OpenAIService(
                config.compat_openai_addr,
                relay,
                reconciliation,
                pool,
                embedding_relay,
                config.inference_api_keys,
                config.request_limits,
                config.tls,
            )
        )

    front_tasks = [asyncio.create_task(service.run(inference_stop)) for service in front]
    background_tasks = [asyncio.create_task(service.run(management_stop)) for service in background]
    stopping = asyncio.create_task(shutdown.wait())
    await asyncio.wait({*front_tasks, *background_tasks, stopping}, return_when=asyncio.FIRST_COMPLETED)
    # Whatever ended first (a signal, or a service that could not start),
    # everything stops, in order: no new requests (buffered and new ones get
    # 503), the streams in flight finish within the grace period while agents
    # are still connected (the rest end with a clear error), then the
    # services, the agents' sockets and the rest.
    shutdown.set()
    stopping.cancel()
    pools.shut_down()
    if not await relay.wait_idle(config.shutdown_grace_period_ms / 1000):
        logger.warning(
            "%d requests still streaming after the %g s grace period end with an error",
            relay.streaming,
            config.shutdown_grace_period_ms / 1000,
        )
        relay.end_all()
        await relay.wait_idle(_ENDED_STREAMS_FLUSH_S)
    inference_stop.set()
    inference_result = await asyncio.gather(*front_tasks, return_exceptions=True)
    management_stop.set()
    for agent in list(pool.agents.values()):
        agent.close()
    background_results = await asyncio.gather(*background_tasks, return_exceptions=True)
    if isinstance(database, EtcdStateDatabase):
        await database.client.close()
    tracer.shutdown()
    for result in [*inference_result, *background_results]:
        if isinstance(result, BaseException):
            raise result
