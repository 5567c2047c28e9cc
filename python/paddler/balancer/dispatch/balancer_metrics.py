"""Prometheus metrics of one balancer (its own registry, so tests can run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from paddler.balancer.dispatch.agent_controller_pool import AgentControllerPool
from paddler.balancer.dispatch.buffered_request_manager import BufferBudget
from paddler.balancer.dispatch.loop_local_metrics import LoopLocalCounter, LoopLocalHistogram

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_TOKEN_GAP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)


class BalancerMetrics:
    def __init__(self, pool: AgentControllerPool, buffered_requests: BufferBudget) -> None:
        self.registry = CollectorRegistry()
        # Paddler's own gauges, by their Paddler names.
        Gauge("paddler_slots_processing", "Slots generating right now", registry=self.registry).set_function(
            lambda: pool.slots_processing
        )
        Gauge("paddler_slots_total", "Slots of every connected agent", registry=self.registry).set_function(
            lambda: pool.slots_total
        )
        Gauge(
            "paddler_requests_buffered", "Requests waiting for a free slot", registry=self.registry
        ).set_function(lambda: buffered_requests.buffered_requests_current)
        Gauge("paddler_agents", "Connected agents", registry=self.registry).set_function(
            lambda: len(pool.agents)
        )
        # Per request: by model pool too.
        self.requests = LoopLocalCounter(
            "paddler_requests",
            "Inference requests by model pool and outcome",
            ("pool", "outcome"),
            self.registry,
        )
        self.errors = LoopLocalCounter(
            "paddler_request_errors",
            "Failed inference requests by model pool and code",
            ("pool", "code"),
            self.registry,
        )
        # An agent whose connection closes under requests may have been killed by one of them.
        self.requests_on_lost_agents = LoopLocalCounter(
            "paddler_requests_on_lost_agents",
            "Requests in flight on an agent whose connection closed, by what became of them",
            "then",
            self.registry,
        )
        # Unpinned agents moved from one model pool to another, by why.
        self.placements = LoopLocalCounter(
            "paddler_pool_placements",
            "Agents moved to another model pool, by reason",
            "reason",
            self.registry,
        )
        # Requests sent to agents (a request sent again counts again), and those an agent
        # refused because its slots were taken by another balancer's requests.
        self.dispatches = LoopLocalCounter(
            "paddler_dispatches", "Requests sent to an agent", None, self.registry
        )
        self.slot_refusals = LoopLocalCounter(
            "paddler_agent_slot_refusals",
            "Requests an agent refused before any token: its slots were held by another balancer",
            None,
            self.registry,
        )
        self.tokens_generated = LoopLocalCounter(
            "paddler_tokens_generated", "Tokens relayed to clients", None, self.registry
        )
        # Latencies by model pool: each pool has its own model, agents and buffer.
        self.queue_wait = LoopLocalHistogram(
            "paddler_queue_wait_seconds",
            "Time from arrival to a claimed slot",
            _LATENCY_BUCKETS,
            self.registry,
            "pool",
        )
        self.time_to_first_token = LoopLocalHistogram(
            "paddler_time_to_first_token_seconds",
            "Time from arrival to the first token",
            _LATENCY_BUCKETS,
            self.registry,
            "pool",
        )
        self.inter_token_latency = LoopLocalHistogram(
            "paddler_inter_token_latency_seconds",
            "Gap between two tokens of one request",
            _TOKEN_GAP_BUCKETS,
            self.registry,
            "pool",
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
