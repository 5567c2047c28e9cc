"""Each balancer's demand per model pool, shared through etcd for the leader's placement.

Every balancer writes its report (pool_demand.demand_report) to `PREFIX/demand/{identity}` under a
lease of its own, whenever its demand changes (at most every `_PUBLISH_EVERY_S`), and reads the
others' through a watch on `PREFIX/demand/`. A balancer that dies stops renewing its lease and
its report goes with it; until then the report ages and is ignored once stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import orjson

from paddler.balancer.dispatch.model_pool import ModelPool
from paddler.balancer.dispatch.pool_demand import PoolDemand, demand_report, parse_report
from paddler.balancer.etcd.etcd_client import EtcdClient, EtcdUnavailable, KeyValue

logger = logging.getLogger(__name__)

_LEASE_TTL_S = 5
_PUBLISH_EVERY_S = 0.25
_RENEW_EVERY_S = 1.0
_RETRY_S = 0.5


class EtcdDemandExchange:
    def __init__(
        self,
        identity: str,
        client: EtcdClient,
        prefix: str,
        demand: PoolDemand,
        pools: Callable[[], dict[str, ModelPool]],
    ) -> None:
        self._identity = identity
        self._client = client
        self._prefix = f"{prefix}/demand/".encode()
        self._key = self._prefix + identity.encode()
        self._demand = demand
        self._pools = pools

    async def run(self, shutdown: asyncio.Event) -> None:
        tasks = [asyncio.create_task(self._publish_forever()), asyncio.create_task(self._read_forever())]
        try:
            await shutdown.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _publish_forever(self) -> None:
        while True:
            lease = 0
            try:
                lease = await self._client.grant_lease(_LEASE_TTL_S)
                await self._publish(lease)
            except EtcdUnavailable as error:
                logger.debug("demand report: %s", error)
            except Exception:
                logger.exception("reporting this balancer's demand failed")
            finally:
                if lease:
                    with contextlib.suppress(EtcdUnavailable, asyncio.CancelledError):
                        await asyncio.shield(self._client.revoke_lease(lease))
            await asyncio.sleep(_RETRY_S)

    async def _publish(self, lease: int) -> None:
        loop = asyncio.get_running_loop()
        told: Any = None
        renewed_at = loop.time()
        while True:
            now = loop.time()
            pools = self._pools()
            # What the report says apart from the clock: published when that changes.
            state = {
                name: (pool.buffer.buffered_requests_current, pool.in_flight, pool.buffer.oldest_queued_at,
                       pool.last_request_at)
                for name, pool in pools.items()
            }  # fmt: skip
            if state != told:
                await self._client.put(self._key, orjson.dumps(demand_report(pools, now)), lease)
                told = state
            if now - renewed_at >= _RENEW_EVERY_S:
                if await self._client.keep_alive(lease) <= 0:
                    return  # expired: a new lease, and the report again
                renewed_at = now
            await asyncio.sleep(_PUBLISH_EVERY_S)

    async def _read_forever(self) -> None:
        while True:
            try:
                kvs, revision = await self._client.get_prefix(self._prefix)
                seen = {self._apply(kv) for kv in kvs}
                for balancer in list(self._demand.reported):
                    if balancer not in seen:
                        self._demand.forget(balancer)
                async for event in self._client.watch(self._prefix, revision + 1, prefix=True):
                    if event.kind == "DELETE":
                        self._demand.forget(self._balancer_of(event.kv))
                    else:
                        self._apply(event.kv)
            except EtcdUnavailable as error:
                logger.debug("demand reports: %s", error)
            except Exception:
                logger.exception("reading the other balancers' demand failed")
            await asyncio.sleep(_RETRY_S)

    def _balancer_of(self, kv: KeyValue) -> str:
        return kv.key[len(self._prefix) :].decode(errors="replace")

    def _apply(self, kv: KeyValue) -> str:
        balancer = self._balancer_of(kv)
        if balancer == self._identity:
            return balancer
        try:
            report = parse_report(orjson.loads(kv.value))
        except orjson.JSONDecodeError:
            report = None
        if report is None:
            logger.warning("balancer %s wrote a demand report that is not one", balancer)
            return balancer
        self._demand.report(balancer, report)
        return balancer
