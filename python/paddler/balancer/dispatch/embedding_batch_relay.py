"""`generate_embedding_batch`: the batch is split across the agents that serve,
the parts run at once, and their embeddings are merged into one stream.

Every embedding goes through here: the agents' `token_count` member (ours
alone) is removed, so that clients get exactly Paddler's `Embedding`, and
counted for the OpenAI API's usage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from paddler.balancer.dispatch.agent_controller_pool import AgentControllerPool
from paddler.balancer.dispatch.model_pool import ModelPool
from paddler.balancer.dispatch.reconciliation_service import ReconciliationService
from paddler.balancer.dispatch.relay_event import Relayed, RelayEvent, RelayFailed, RelayFinished
from paddler.balancer.dispatch.request_limits import LimitExceeded, RequestLimits
from paddler.balancer.dispatch.request_relay import RequestRelay
from paddler.balancer.dispatch.trace_context import RequestTrace, continue_trace, current_trace
from paddler.protocol.agent_socket import TOKEN_COUNT, BalancerMethod

_PART_DONE = object()


def split_batch(documents: list[Any], parts: int) -> list[list[Any]]:
    """Contiguous, nearly equal parts (never an empty one)."""
    parts = max(1, min(parts, len(documents)))
    size, extra = divmod(len(documents), parts)
    result: list[list[Any]] = []
    start = 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        result.append(documents[start:end])
        start = end
    return result


def check_batch_size(documents: int, limits: RequestLimits) -> LimitExceeded | None:
    """Refuses a batch of more documents than the balancer takes, before anything is relayed."""
    limit = limits.max_embedding_batch_documents
    if limit and documents > limit:
        return LimitExceeded(
            f"the batch has {documents} documents, above this balancer's limit of {limit} "
            "(--max-embedding-batch-documents)"
        )
    return None


@dataclass(frozen=True, slots=True)
class EmbeddingsRefused:
    status: int
    message: str


@dataclass(slots=True)
class EmbeddingTokens:
    """How many tokens the embedded documents took, as their agents counted them."""

    count: int = 0

    def take(self, event: Relayed) -> None:
        """Counts the event's embeddings and removes the count from each."""
        for response in event.responses:
            embedding = response.get("Embedding", {}).get("Embedding")
            if isinstance(embedding, dict):
                count = embedding.pop(TOKEN_COUNT, 0)
                if isinstance(count, int):
                    self.count += count


class EmbeddingBatchRelay:
    def __init__(
        self, relay: RequestRelay, pool: AgentControllerPool, reconciliation: ReconciliationService
    ) -> None:
        self._relay = relay
        self._pool = pool
        self._reconciliation = reconciliation

    def refusal(self, pool: ModelPool | None = None) -> EmbeddingsRefused | None:
        """Why a batch cannot be served now, answered at once (as Paddler does) instead of
        after a wait in the buffer; None when it can be relayed. `pool`: the model pool
        asked for (default: the default pool)."""
        if not self._pool.agents:
            return EmbeddingsRefused(503, "no agents are connected")
        pool = pool or self._reconciliation.pools.default
        state = pool.applicable_state
        if state is None:
            return EmbeddingsRefused(503, "no desired state is set yet: no agent has a model")
        if not state["inference_parameters"]["enable_embeddings"]:
            return EmbeddingsRefused(
                501, "embeddings are off: set inference_parameters.enable_embeddings in the desired state"
            )
        return None

    async def relay(
        self,
        params: dict[str, Any],
        trace: RequestTrace | None = None,
        tokens: EmbeddingTokens | None = None,
        pool: ModelPool | None = None,
    ) -> AsyncGenerator[RelayEvent, None]:
        """Embeddings as every part yields them, then one RelayFinished ("Done") or the first failure.

        `trace`: as RequestRelay.relay's. A batch split across agents is a span
        with one child span per part. `tokens` counts the documents' tokens.
        """
        tokens = tokens or EmbeddingTokens()
        trace = trace or current_trace.get() or continue_trace(None)
        pool = pool or self._reconciliation.pools.default
        serving = sum(1 for agent in self._pool.in_pool(pool.name) if agent.slots_total > 0)
        parts = split_batch(params["input_batch"], serving)
        batch_span = None
        if len(parts) > 1:
            batch_span = self._relay.tracer.start_span(
                "paddler.balancer.embedding_batch",
                trace.traceparent,
                own_ids=True,
                parent_span_id=trace.parent_span_id,
                attributes={"paddler.parts": len(parts)},
            )
        merged: asyncio.Queue[RelayEvent | object] = asyncio.Queue()

        async def run(part: list[Any]) -> None:
            part_params = {**params, "input_batch": part}
            part_trace = trace if len(parts) == 1 else trace.child()
            events = self._relay.relay(BalancerMethod.GENERATE_EMBEDDING_BATCH, part_params, part_trace, pool)
            async with aclosing(events):
                async for event in events:
                    if not isinstance(event, RelayFinished):
                        await merged.put(event)
                    elif event.response != {"Embedding": "Done"}:
                        # A part that failed on its agent (a document too long,
                        # embeddings off): the whole batch ends with that answer.
                        await merged.put(event)
            await merged.put(_PART_DONE)

        tasks = [asyncio.create_task(run(part)) for part in parts]
        failure: str | None = None
        try:
            remaining = len(tasks)
            generated_by: str | None = None
            while remaining:
                event = await merged.get()
                if event is _PART_DONE:
                    remaining -= 1
                elif isinstance(event, RelayFailed | RelayFinished):
                    if isinstance(event, RelayFailed):
                        failure = event.description
                    yield event
                    return
                elif isinstance(event, Relayed):
                    generated_by = event.generated_by
                    tokens.take(event)
                    yield event
            yield RelayFinished(generated_by, {"Embedding": "Done"})
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if batch_span is not None:
                batch_span.end(error=failure)
