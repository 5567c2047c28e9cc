"""The model pools in etcd, shared by every balancer of a cluster: `PREFIX/pools` holds them as
one JSON document (the file database's shape), written with compare-and-swap and watched.

A change made through any balancer is written only if the document is still the one that
balancer last saw; otherwise it reads the newer one, and the caller checks its change again
(StateConflict). Every balancer watches the key and applies what the others wrote. While etcd
cannot be reached, the balancer serves with the last pools it saw and refuses changes
(StateDatabaseUnavailable, 503 naming etcd); the watch reconnects and catches up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from paddler.balancer.dispatch.state_database_errors import StateConflict, StateDatabaseUnavailable
from paddler.balancer.etcd.etcd_client import EtcdClient, EtcdUnavailable, KeyValue
from paddler.protocol.body_validation import InvalidBody, decode_json
from paddler.protocol.model_pool import STORED_POOLS, ModelPoolSettings, StoredPools

logger = logging.getLogger(__name__)

# Waits between attempts to reach etcd again, growing to the last.
_RECONNECT_S = (0.2, 0.5, 1.0, 2.0)

Pools = dict[str, ModelPoolSettings]


class EtcdStateDatabase:
    def __init__(self, endpoints: list[str], prefix: str) -> None:
        self.client = EtcdClient(endpoints)
        self.prefix = prefix
        self._key = f"{prefix}/pools".encode()
        # The document's revision as last seen (0: absent): a write must find it unchanged.
        self._revision = 0
        # Reachability, for /health and the panel.
        self.reachable = False
        self.error: str | None = "not reached yet"
        self._since = time.time()

    def describe(self) -> str:
        return f"etcd at {','.join(self.client.endpoints)} (prefix {self.prefix})"

    def health(self) -> dict[str, Any]:
        return {
            "kind": "etcd",
            "endpoints": list(self.client.endpoints),
            "prefix": self.prefix,
            "reachable": self.reachable,
            "error": self.error,
            # Since when it has been reachable, or not.
            "since": self._since,
        }

    def _reached(self) -> None:
        if not self.reachable:
            logger.info("%s is reachable", self.describe())
            self._since = time.time()
        self.reachable = True
        self.error = None

    def _lost(self, error: EtcdUnavailable) -> StateDatabaseUnavailable:
        if self.reachable:
            logger.warning("%s is unreachable (%s): serving with the last pools seen", self.describe(), error)
            self._since = time.time()
        self.reachable = False
        self.error = str(error)
        return StateDatabaseUnavailable(
            f"the state database ({self.describe()}) cannot be reached: {error}; "
            "changes wait until it answers again"
        )

    def _decode(self, kv: KeyValue | None) -> Pools | None:
        if kv is None:
            return None
        stored = decode_json(STORED_POOLS, kv.value)
        if isinstance(stored, InvalidBody):
            # Written by something else than a balancer: not applied, and said.
            logger.error(
                "%s holds no valid pools at %s: %s", self.describe(), self._key.decode(), stored.message
            )
            return None
        return dict(stored.pools)

    async def load(self) -> Pools | None:
        try:
            kv, _ = await self.client.get(self._key)
        except EtcdUnavailable as error:
            raise self._lost(error) from error
        self._reached()
        self._revision = kv.mod_revision if kv is not None else 0
        return self._decode(kv)

    async def store(self, pools: Pools) -> None:
        content = StoredPools(pools=pools).model_dump_json(indent=2).encode()
        try:
            result = await self.client.put_if(self._key, content, self._revision)
        except EtcdUnavailable as error:
            raise self._lost(error) from error
        self._reached()
        if result.succeeded:
            self._revision = result.revision
            return
        # Another balancer wrote first: the caller sees its pools and decides again.
        self._revision = result.current.mod_revision if result.current is not None else 0
        raise StateConflict(self._decode(result.current) or {})

    async def run(self, shutdown: asyncio.Event, on_change: Callable[[Pools], None]) -> None:
        """Watches the document and gives `on_change` every version other balancers write
        (and this one's own, which changes nothing), until `shutdown`."""
        # A quiet watch waits on its stream for as long as nothing changes: cancelled at shutdown.
        watching = asyncio.create_task(self._watch(on_change))
        await shutdown.wait()
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching

    async def _watch(self, on_change: Callable[[Pools], None]) -> None:
        attempt = 0
        while True:
            try:
                kv, revision = await self.client.get(self._key)
                self._reached()
                attempt = 0
                self._apply(kv, on_change)
                async for event in self.client.watch(self._key, revision + 1):
                    if event.kind == "DELETE":
                        # Removed by hand: the pools stay as they are until someone writes them.
                        self._revision = 0
                        continue
                    self._apply(event.kv, on_change)
            except EtcdUnavailable as error:
                self._lost(error)
            except Exception:
                logger.exception("watching %s failed", self.describe())
            await asyncio.sleep(_RECONNECT_S[min(attempt, len(_RECONNECT_S) - 1)])
            attempt += 1

    def _apply(self, kv: KeyValue | None, on_change: Callable[[Pools], None]) -> None:
        if kv is None:
            self._revision = 0
            return
        if kv.mod_revision < self._revision:
            return  # older than what a write of ours already saw
        self._revision = kv.mod_revision
        pools = self._decode(kv)
        if pools is not None:
            on_change(pools)
